"""History of one run or many, as columns: numeric chunks and other values in one connection.

The query API's reads (``history()``, ``Runs.histories()``, windows of ``scan_history``)
come here. Same rules as ``SQLStore.numeric_history`` and ``value_history``: chunks merged
in write order, the last write per step kept, steps hidden by a rewind
(``runs.history_cutoffs``) left out, a later stream winning a step. What differs is the cost
per call, which is what a 100-run ``history()`` loop pays 100 times:

* one connection (one transaction) for the chunks and the other values, and statements
  built once with bound parameters, so SQLAlchemy compiles nothing per call;
* many runs in one query (``run_pk IN (...)``), a batch of runs at a time;
* contiguous chunks (the common case) decoded with one ``join``; their steps are read-only
  views of one shared ``arange`` (:class:`Ranges`), so 100 runs starting at step 0 allocate
  one step array;
* ``native=True`` leaves values in their stored dtype (a zero-copy view of float32 or int32
  data): a caller that keeps 500 of 100,000 points widens the 500, not the 100,000.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import and_, bindparam, select

from trackline.storage import chunks
from trackline.storage.sql import schema as t

Series = tuple[np.ndarray, np.ndarray]
#: Runs per query: enough to make one round trip of a 100-run chart, few enough to bound memory.
BATCH_RUNS = 64
#: Longest step range a :class:`Ranges` keeps (16 MB of int64); longer ones are not shared.
_MAX_SHARED = 1 << 21


class Ranges:
    """Step arrays ``[first, first + n)`` as read-only views of one ``arange`` per start."""

    def __init__(self) -> None:
        self._by_first: dict[int, np.ndarray] = {}

    def get(self, first: int, n: int) -> np.ndarray:
        if n > _MAX_SHARED:
            return np.arange(first, first + n, dtype=np.int64)
        a = self._by_first.get(first)
        if a is None or len(a) < n:
            if len(self._by_first) >= 16:
                self._by_first.clear()
            a = np.arange(first, first + max(n, 4096), dtype=np.int64)
            a.flags.writeable = False
            self._by_first[first] = a
        return a[:n]


@dataclass
class RunHistory:
    """One run's history of the keys asked for: numeric ``(steps, values)`` and other values."""

    numeric: dict[str, Series] = field(default_factory=dict)
    other: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)


def visible_until(cutoffs: Sequence[tuple[int, int]], stream_pk: int) -> int | None:
    """The last visible step of a stream after rewinds (None: no limit)."""
    limits = [step for max_stream, step in cutoffs if stream_pk <= max_stream]
    return min(limits) if limits else None


@cache
def _chunk_query(system: bool, many_runs: bool, many_keys: bool, lo: bool, hi: bool) -> Any:
    c = (t.system_chunks if system else t.history_chunks).c
    run = c.run_pk.in_(bindparam("pks", expanding=True)) if many_runs else c.run_pk == bindparam("pk")
    key = c.key_id.in_(bindparam("kids", expanding=True)) if many_keys else c.key_id == bindparam("kid")
    q = select(c.run_pk, c.key_id, c.stream_pk, c.step_min, c.n, c.dtype, c.steps, c.vals).where(and_(run, key))
    if lo:
        q = q.where(c.step_max >= bindparam("lo"))
    if hi:
        q = q.where(c.step_min <= bindparam("hi"))
    return q.order_by(c.run_pk, c.key_id, c.stream_pk, c.chunk_no)


@cache
def _value_query(many_runs: bool, many_keys: bool, lo: bool, hi: bool) -> Any:
    c = t.history_values.c
    run = c.run_pk.in_(bindparam("pks", expanding=True)) if many_runs else c.run_pk == bindparam("pk")
    key = c.key_id.in_(bindparam("kids", expanding=True)) if many_keys else c.key_id == bindparam("kid")
    q = select(c.run_pk, c.key_id, c.stream_pk, c.step, c.value).where(and_(run, key))
    if lo:
        q = q.where(c.step >= bindparam("lo"))
    if hi:
        q = q.where(c.step <= bindparam("hi"))
    return q.order_by(c.run_pk, c.key_id, c.step, c.stream_pk)


def read(
    store: Any,
    runs: Sequence[tuple[int, Sequence[Any] | None]],
    keys: Sequence[str],
    min_step: int | None = None,
    max_step: int | None = None,
    system: bool = False,
    native: bool = False,
    ranges: Ranges | None = None,
    numeric_only: bool = False,
) -> dict[int, RunHistory]:
    """The history of ``keys`` in each of ``runs`` (``(run_pk, history_cutoffs)`` pairs).

    Every run asked for is in the result (empty when it has none of the keys). Steps are in
    ``[min_step, max_step]``. ``system=True`` reads the system-metrics stream (numbers
    only, no rewinds). Values are int64/float64 unless ``native``. ``numeric_only`` skips
    the non-numeric values (charts).
    """
    out = {int(pk): RunHistory() for pk, _ in runs}
    if not out or not keys:
        return out
    cut = {int(pk): [(int(a), int(b)) for a, b in c] for pk, c in runs if c and not system}
    ranges = ranges if ranges is not None else Ranges()
    pks = list(out)
    with store.engine.connect() as conn:
        ids = store._lookup_key_ids(conn, list(keys))
        if not ids:
            return out
        by_id = {v: k for k, v in ids.items()}
        kids = list(by_id)
        lo, hi = min_step is not None, max_step is not None
        for i in range(0, len(pks), BATCH_RUNS):
            part = pks[i : i + BATCH_RUNS]
            params: dict[str, Any] = {}
            if lo:
                params["lo"] = min_step
            if hi:
                params["hi"] = max_step
            if len(part) == 1:
                params["pk"] = part[0]
            else:
                params["pks"] = part
            if len(kids) == 1:
                params["kid"] = kids[0]
            else:
                params["kids"] = kids
            many = (len(part) > 1, len(kids) > 1)
            groups: dict[tuple[int, int], list[Any]] = {}
            for row in conn.execute(_chunk_query(system, *many, lo, hi), params).fetchall():
                groups.setdefault((row[0], row[1]), []).append(row)
            for (pk, kid), rows in groups.items():
                s, v = _decode(rows, cut.get(pk), native, ranges)
                if lo or hi:
                    s, v = _crop(s, v, min_step, max_step)
                out[pk].numeric[by_id[kid]] = (s, v)
            if system or numeric_only:
                continue
            for pk, kid, stream_pk, step, value in conn.execute(_value_query(*many, lo, hi), params):
                until = visible_until(cut[pk], stream_pk) if pk in cut else None
                if until is not None and step > until:
                    continue
                pairs = out[pk].other.setdefault(by_id[kid], [])
                if pairs and pairs[-1][0] == step:
                    pairs[-1] = (int(step), value)  # a later stream wrote this step again
                else:
                    pairs.append((int(step), value))
    return out


def _decode(rows: list[Any], cutoffs: list[tuple[int, int]] | None, native: bool, ranges: Ranges) -> Series:
    """One run's chunks of one key (in stream, chunk order) -> its series, last write per step."""
    if not cutoffs:
        first = rows[0]
        dtype, nxt = first[5], first[3]
        for row in rows:
            if row[6] is not None or row[5] != dtype or row[3] != nxt:
                break
            nxt = row[3] + row[4]
        else:  # back-to-back chunks of one dtype: the common case
            total = nxt - first[3]
            buf = first[7] if len(rows) == 1 else b"".join(r[7] for r in rows)
            v = np.frombuffer(buf, dtype=dtype, count=total)
            return ranges.get(first[3], total), (v if native else _wide(v))
    parts = []
    for row in rows:
        s, v = chunks.decode(row[3], row[4], row[5], row[6], row[7])
        until = visible_until(cutoffs, row[2]) if cutoffs else None
        if until is not None:
            keep = s <= until
            s, v = s[keep], v[keep]
        parts.append((s, v))
    return chunks.merge_series(parts)


def _wide(v: np.ndarray) -> np.ndarray:
    return v.astype(np.int64) if v.dtype.kind == "i" else v.astype(np.float64)


def _crop(s: np.ndarray, v: np.ndarray, lo: int | None, hi: int | None) -> Series:
    a = 0 if lo is None else int(np.searchsorted(s, lo, "left"))
    b = len(s) if hi is None else int(np.searchsorted(s, hi, "right"))
    return s[a:b], v[a:b]
