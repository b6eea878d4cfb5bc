"""Numeric history of many runs at once, for charts: one query, values kept in their stored dtype.

``SQLStore.numeric_history`` reads one run per call and widens every value to float64; a chart
of 100 runs wants one round trip and no copies it does not need. This reads the same columnar
chunks (``storage/chunks.py``) with the same rules: chunks merged in write order, the last write
per step kept, and steps hidden by a rewind (``runs.history_cutoffs``) left out. A test checks
it against ``numeric_history``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any

import numpy as np
from sqlalchemy import and_, select

from trackline.storage import chunks
from trackline.storage.sql import schema as t
from trackline.storage.sql.history_columns import Ranges, visible_until
from trackline.storage.sql.store import SQLStore

Series = tuple[np.ndarray, np.ndarray]  # steps int64, values in their stored dtype


def _decode(step_min: int, n: int, dtype: str, steps: bytes | None, vals: bytes) -> Series:
    if steps is None:
        s = np.arange(step_min, step_min + n, dtype=np.int64)
    else:
        s = np.cumsum(np.frombuffer(zlib.decompress(steps), dtype=np.int64))
    return s, np.frombuffer(vals, dtype=dtype)


def _merge(parts: list[Series]) -> Series:
    if len(parts) == 1:
        s, v = parts[0]
    else:
        s = np.concatenate([p[0] for p in parts])
        dtypes = {p[1].dtype for p in parts}
        v = np.concatenate([p[1] for p in parts]) if len(dtypes) == 1 else np.concatenate(
            [p[1].astype(np.float64) for p in parts]
        )
    if len(s) < 2 or bool(np.all(s[1:] > s[:-1])):
        return s, v
    return chunks.merge_series([(s, v)])  # late or repeated steps: last write wins


def read_many(
    store: SQLStore,
    run_pks: Iterable[int],
    keys: list[str],
    min_step: int | None = None,
    max_step: int | None = None,
    system: bool = False,
) -> dict[tuple[int, str], Series]:
    """``(run_pk, key) -> (steps, values)`` for every run and key that has numeric history."""
    pks = list(dict.fromkeys(run_pks))
    table = t.system_chunks if system else t.history_chunks
    c = table.c
    out: dict[tuple[int, str], Series] = {}
    if not pks or not keys:
        return out
    with store.engine.connect() as conn:
        ids = store._lookup_key_ids(conn, keys)
        if not ids:
            return out
        by_id = {v: k for k, v in ids.items()}
        cutoffs: dict[int, list[tuple[int, int]]] = {}
        if not system:
            for i in range(0, len(pks), 500):
                cq = select(t.runs.c.pk, t.runs.c.history_cutoffs).where(
                    and_(t.runs.c.pk.in_(pks[i : i + 500]), t.runs.c.history_cutoffs.is_not(None))
                )
                for pk, raw in conn.execute(cq):
                    if raw:
                        cutoffs[int(pk)] = [(int(a), int(b)) for a, b in raw]
        rows: dict[tuple[int, str], list[Any]] = {}
        for i in range(0, len(pks), 200):
            q: Any = select(c.run_pk, c.key_id, c.stream_pk, c.step_min, c.n, c.dtype, c.steps, c.vals).where(
                and_(c.run_pk.in_(pks[i : i + 200]), c.key_id.in_(list(by_id)))
            )
            if min_step is not None:
                q = q.where(c.step_max >= min_step)
            if max_step is not None:
                q = q.where(c.step_min <= max_step)
            q = q.order_by(c.run_pk, c.key_id, c.stream_pk, c.chunk_no)
            for row in conn.execute(q).fetchall():
                rows.setdefault((int(row[0]), by_id[row[1]]), []).append(row[2:])
    parts: dict[tuple[int, str], list[Series]] = {}
    ranges = Ranges()
    for k, chunk_rows in rows.items():
        fast = None if k[0] in cutoffs else _contiguous(chunk_rows, ranges)
        if fast is not None:
            out[k] = fast
            continue
        cut = cutoffs.get(k[0])
        for stream_pk, step_min, n, dtype, steps, vals in chunk_rows:
            s, v = _decode(step_min, n, dtype, steps, vals)
            until = visible_until(cut, stream_pk) if cut else None
            if until is not None:
                keep = s <= until
                s, v = s[keep], v[keep]
            parts.setdefault(k, []).append((s, v))
    for k, ps in parts.items():
        out[k] = _merge(ps)
    if min_step is not None or max_step is not None:
        for k, (s, v) in out.items():
            lo = 0 if min_step is None else int(np.searchsorted(s, min_step, "left"))
            hi = len(s) if max_step is None else int(np.searchsorted(s, max_step, "right"))
            out[k] = (s[lo:hi], v[lo:hi])
    return out


def _contiguous(chunk_rows: list[Any], ranges: Ranges) -> Series | None:
    """The common case in one step: chunks of one dtype whose steps follow on without gaps or
    overlaps (each chunk starts where the previous one ended). None for anything else."""
    first = chunk_rows[0]
    dtype = first[3]
    nxt = first[1]
    for _stream, step_min, n, dt, steps, _vals in chunk_rows:
        if steps is not None or dt != dtype or step_min != nxt:
            return None
        nxt = step_min + n
    total = nxt - first[1]
    vals = chunk_rows[0][5] if len(chunk_rows) == 1 else b"".join(r[5] for r in chunk_rows)
    return ranges.get(first[1], total), np.frombuffer(vals, dtype=dtype, count=total)


def as_float(v: np.ndarray) -> Any:
    """Values as a float array for min/max/NaN handling (float32 stays float32)."""
    return v if v.dtype.kind == "f" else v.astype(np.float64)
