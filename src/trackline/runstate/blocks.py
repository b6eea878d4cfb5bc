"""Runs of identical-shape ``log(d)`` records, decoded into columns at once.

A training loop logs the same keys at every step, as floats, without ``step`` or
``commit``. msgpack writes such records as the same bytes but for the floats' eight
bytes (msgspec always writes a Python float as float64), so the payloads have one
length and differ only at fixed offsets. A run of them is read as a 2-D byte array:
one comparison checks that every row has the first row's shape, and each float column
is a big-endian view of eight byte columns. That turns ~3 us of Python per record
(decode, row dict, tuple, column) into a few numpy passes per run, which is what
lets the sender keep up with a loop that logs flat out.

Only this exact shape is taken; anything else (a string or bool value, a nested dict,
a key starting with ``_`` or holding ``.`` or ``\\``, an explicit step or commit, an
integer that changes) ends the run and goes through the record-by-record path. The
result is the same either way (tested property by property against ``apply``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from trackline.records import kinds

MIN_ROWS = 64  # shorter runs are not worth a template (and stay on the plain path)
_SKIP_ROWS = 256  # after a run that was not a block, the plain path takes this many rows
_FLOAT64 = 0xCB
_NIL = 0xC0
# msgpack integer formats: type byte -> (value bytes, signed)
_INTS = {0xCC: (1, False), 0xCD: (2, False), 0xCE: (4, False), 0xCF: (8, False),
         0xD0: (1, True), 0xD1: (2, True), 0xD2: (4, True), 0xD3: (8, True)}


@dataclass
class Block:
    """``rows`` consecutive ``log(d)`` records with the same keys: their columns and timestamps."""

    keys: tuple[str, ...]  # the logged keys, in the records' order
    columns: list[np.ndarray]  # float64 per float key, int64 for an integer that stays the same
    ts: np.ndarray  # float64: each record's time
    source: np.ndarray  # the records' payloads, one row each

    @property
    def rows(self) -> int:
        return len(self.ts)

    def payloads(self) -> list[bytes]:
        """The records themselves, for the record-by-record path."""
        return [row.tobytes() for row in self.source]


def count(items: Sequence[bytes | np.ndarray]) -> int:
    """How many records ``items`` (payloads and runs of them, as ``plan`` takes) hold."""
    return sum(1 if isinstance(item, bytes) else len(item) for item in items)


def expand(items: Sequence[bytes | np.ndarray]) -> list[bytes]:
    """``items`` as one payload per record."""
    out: list[bytes] = []
    for item in items:
        if isinstance(item, bytes):
            out.append(item)
        else:
            out.extend(row.tobytes() for row in item)
    return out


@dataclass
class _Template:
    keys: tuple[str, ...]
    fields: list[tuple[int, int | None]]  # per key: (offset of its 8 float bytes, None), or (-1, its int)
    ts_at: int  # offset of the timestamp's 8 bytes

    def varying(self, size: int) -> np.ndarray:
        """Mask of the bytes that may differ between rows (the floats' value bytes)."""
        mask = np.zeros(size, np.bool_)
        for at, _ in self.fields:
            if at >= 0:
                mask[at : at + 8] = True
        mask[self.ts_at : self.ts_at + 8] = True
        return mask


def plan(items: Sequence[bytes | np.ndarray]) -> Iterator[tuple[int, Block | list[bytes]]]:
    """Split consecutive records into blocks and plain payloads: ``(offset, Block | payloads)``.

    ``items`` are payloads (``bytes``) and runs of equal-size payloads as 2-D uint8 arrays
    (one row per record, as ``RecordReader.poll_rows`` gives them); ``offset`` counts
    records from the first item.
    """
    offset = 0
    singles: list[bytes] = []
    for item in items:
        if isinstance(item, bytes):
            singles.append(item)
            continue
        if singles:
            yield from _plan_payloads(singles, offset)
            offset += len(singles)
            singles = []
        for start, stop, block in _blocks_in(item):
            yield offset + start, block if block is not None else [row.tobytes() for row in item[start:stop]]
        offset += len(item)
    if singles:
        yield from _plan_payloads(singles, offset)


def _plan_payloads(payloads: list[bytes], offset: int) -> Iterator[tuple[int, Block | list[bytes]]]:
    """``plan`` of separate payloads: blocks are looked for in each run of equal sizes."""
    n = len(payloads)
    if n < MIN_ROWS:
        yield offset, payloads
        return
    sizes = np.fromiter(map(len, payloads), np.int64, n)
    run_ends = np.append(np.flatnonzero(np.diff(sizes)) + 1, n)
    plain_from = start = 0
    for end in run_ends.tolist():
        if end - start >= MIN_ROWS:
            rows = np.frombuffer(b"".join(payloads[start:end]), np.uint8).reshape(end - start, -1)
            for a, b, block in _blocks_in(rows):
                if block is not None:
                    if plain_from < start + a:
                        yield offset + plain_from, payloads[plain_from : start + a]
                    yield offset + start + a, block
                    plain_from = start + b
        start = end
    if plain_from < n:
        yield offset + plain_from, payloads[plain_from:]


def _blocks_in(rows: np.ndarray) -> Iterator[tuple[int, int, Block | None]]:
    """Ranges of ``rows`` (equal-size payloads) that are blocks, and those that are not (None)."""
    n = len(rows)
    pos = 0
    while pos < n:
        block = _block(rows[pos:]) if n - pos >= MIN_ROWS else None
        if block is None:
            stop = n if n - pos < MIN_ROWS else min(pos + _SKIP_ROWS, n)
            yield pos, stop, None
            pos = stop
        else:
            yield pos, pos + block.rows, block
            pos += block.rows


def _block(rows: np.ndarray) -> Block | None:
    """The block made of the leading rows shaped like the first one, or None."""
    template = _template(rows[0].tobytes())
    if template is None:
        return None
    fixed = ~template.varying(rows.shape[1])
    first = rows[0, fixed]
    # A short look first: a run that breaks early costs MIN_ROWS rows, not the whole run.
    if (rows[:MIN_ROWS, fixed] != first).any():
        return None
    differs = (rows[:, fixed] != first).any(axis=1)
    count = int(np.argmax(differs)) if differs.any() else len(rows)
    rows = rows[:count]
    floats = [at for at, _ in template.fields if at >= 0] + [template.ts_at]
    index = (np.asarray(floats)[:, None] + np.arange(8)).ravel()
    # One gather of every float's bytes, read as big-endian float64, one column per float.
    values = np.ascontiguousarray(rows[:, index]).view(">f8").astype(np.float64).T.copy()
    columns: list[np.ndarray] = []
    at_float = 0
    for at, value in template.fields:
        if at >= 0:
            columns.append(values[at_float])
            at_float += 1
        else:
            columns.append(np.full(count, value, np.int64))
    return Block(template.keys, columns, values[-1], rows)


def _template(payload: bytes) -> _Template | None:
    """The shape of one ``[HISTORY, {key: float | int}, None, None, ts]`` payload, or None."""
    p = payload
    n = len(p)
    if n < 13 or p[0] != 0x95 or p[1] != kinds.HISTORY:
        return None
    head = p[2]
    if 0x80 <= head <= 0x8F:
        count, i = head & 0x0F, 3
    elif head == 0xDE:
        count, i = int.from_bytes(p[3:5], "big"), 5
    else:
        return None
    if count == 0:
        return None
    keys: list[str] = []
    fields: list[tuple[int, int | None]] = []
    try:
        for _ in range(count):
            t = p[i]
            if 0xA0 <= t <= 0xBF:
                length, i = t & 0x1F, i + 1
            elif t == 0xD9:
                length, i = p[i + 1], i + 2
            elif t == 0xDA:
                length, i = int.from_bytes(p[i + 1 : i + 3], "big"), i + 3
            else:
                return None
            key = p[i : i + length].decode("utf-8")
            i += length
            if not key or key[0] == "_" or "." in key or "\\" in key:
                return None
            keys.append(key)
            t = p[i]
            if t == _FLOAT64:
                fields.append((i + 1, None))
                i += 9
            elif t <= 0x7F or t >= 0xE0:  # fixint: the type byte is the value
                fields.append((-1, t if t <= 0x7F else t - 0x100))
                i += 1
            elif t in _INTS:
                width, signed = _INTS[t]
                value = int.from_bytes(p[i + 1 : i + 1 + width], "big", signed=signed)
                if value >= 1 << 63:
                    return None
                fields.append((-1, value))
                i += 1 + width
            else:
                return None
    except (IndexError, UnicodeDecodeError):
        return None
    if len(set(keys)) != len(keys) or i + 11 != n or p[i] != _NIL or p[i + 1] != _NIL or p[i + 2] != _FLOAT64:
        return None
    return _Template(tuple(keys), fields, i + 3)
