"""History as columns, and the pure logic on top: merging, sampling, rows and alignment.

A run's history arrives from the reader as one :class:`Column` per metric (sorted, unique
steps and their values), never as rows; rows are built only for the steps a caller asks
for. No I/O here.

Sampling (``Run.history(samples=N)``) is not W&B's random sample. The run's step range is
cut into at most ``N // 4`` buckets whose width is a power of two and whose edges sit on
multiples of it (:func:`trackline.storage.series.bucket_width`, the same buckets the UI's
charts use), so edges do not move as points arrive. From every bucket the history keeps
its first and last rows and, for every numeric key, the rows holding that key's minimum
and its maximum in the bucket. So the first and last points survive, and so does every
spike: the global minimum and maximum of each key are always in the result. With one key
that is at most ``N`` rows (``N >= 8``); with several keys it can be more (each key's
extremes are kept), and fewer when the buckets' extremes share rows. A history with at
most ``N`` rows is returned whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np

from trackline.runstate.flatten import set_path, split_name
from trackline.storage.series import bucket_starts, bucket_width


@dataclass
class Column:
    """One metric's history: ``steps`` (sorted, unique int64) and their ``values``.

    ``values`` is a numpy array (int64 or float64) for numeric series, a list otherwise
    (text, bools, media references, or a key whose type changed along the way).
    """

    steps: np.ndarray
    values: np.ndarray | list[Any]

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def numeric(self) -> bool:
        return isinstance(self.values, np.ndarray) and self.values.dtype.kind in "fi"

    def take(self, which: np.ndarray) -> Column:
        """The points at ``which``: a boolean mask, or sorted indices."""
        if isinstance(self.values, np.ndarray):
            return Column(self.steps[which], self.values[which])
        idx = (np.flatnonzero(which) if which.dtype == bool else which).tolist()
        return Column(self.steps[which], [self.values[i] for i in idx])

    def value_list(self) -> list[Any]:
        return self.values.tolist() if isinstance(self.values, np.ndarray) else list(self.values)


EMPTY_STEPS = np.empty(0, dtype=np.int64)


def merge_columns(
    numeric: dict[str, tuple[np.ndarray, np.ndarray]], other: dict[str, list[tuple[int, Any]]]
) -> dict[str, Column]:
    """Numeric chunks and other values of the same keys -> one Column per key.

    A step written both ways (a number, then text) keeps the non-numeric value, as the
    store's ``history_values`` rows are the later, rarer writes.
    """
    cols: dict[str, Column] = {k: Column(s, v) for k, (s, v) in numeric.items()}
    for key, pairs in other.items():
        s2 = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
        v2 = [p[1] for p in pairs]
        if key not in cols:
            cols[key] = Column(s2, v2)
            continue
        merged: dict[int, Any] = dict(zip(cols[key].steps.tolist(), cols[key].value_list(), strict=True))
        merged.update(zip(s2.tolist(), v2, strict=True))
        order = sorted(merged)
        cols[key] = Column(np.asarray(order, dtype=np.int64), [merged[x] for x in order])
    return cols


def union_steps(cols: Iterable[Column]) -> np.ndarray:
    # Metrics logged together share their steps: compare (linear) before sorting a union.
    distinct: list[np.ndarray] = []
    for c in cols:
        if len(c) and not any(
            len(d) == len(c) and d[0] == c.steps[0] and d[-1] == c.steps[-1] and np.array_equal(d, c.steps)
            for d in distinct
        ):
            distinct.append(c.steps)
    if not distinct:
        return EMPTY_STEPS
    if len(distinct) == 1:
        return distinct[0]
    return np.unique(np.concatenate(distinct))


def common_steps(cols: Sequence[Column]) -> np.ndarray:
    """Steps present in every column (W&B: rows that hold all the requested keys)."""
    if not cols:
        return EMPTY_STEPS
    first = cols[0].steps
    if all(len(c.steps) == len(first) and np.array_equal(c.steps, first) for c in cols[1:]):
        return first
    return reduce(lambda a, b: np.intersect1d(a, b, assume_unique=True), [c.steps for c in cols])


def restrict(cols: dict[str, Column], steps: np.ndarray) -> dict[str, Column]:
    """Each column cut down to ``steps`` (sorted, unique)."""
    out = {}
    for k, c in cols.items():
        if len(c) == len(steps) and (len(steps) == 0 or np.array_equal(c.steps, steps)):
            out[k] = c
            continue
        # Both sorted and unique: a binary search per kept step, no sort, no pass over c.
        pos = np.searchsorted(c.steps, steps)
        hit = pos < len(c.steps)
        hit[hit] = c.steps[pos[hit]] == steps[hit]
        out[k] = c.take(pos[hit])
    return out


# -- sampling ---------------------------------------------------------------------------------


def _first_match(matches: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per bucket [start, end), the first index in sorted ``matches`` inside it, if any."""
    if len(matches) == 0:
        return matches
    at = np.searchsorted(matches, starts)
    ok = at < len(matches)
    found = matches[np.minimum(at, len(matches) - 1)]
    ok &= found < ends
    return found[ok]


def _first_index_of(
    v: np.ndarray, starts: np.ndarray, ends: np.ndarray, target: np.ndarray, arg: Any
) -> np.ndarray:
    """Per bucket ``[start, end)``, the first index whose value equals the bucket's ``target``
    (its minimum with ``arg=np.argmin``, maximum with ``np.argmax``); buckets whose target is
    NaN (only NaN in them) are left out.

    Buckets of one length (every bucket but the first and last when steps are regular, the
    common case) are one 2-D view, so ``arg`` runs over it without a copy. ``arg`` returns
    the first extreme, or the first NaN; a bucket where it found a NaN is searched again.
    """
    nb = len(starts)
    lens = ends - starts
    idx = np.empty(nb, dtype=np.int64)
    inner = lens[1:-1]
    if nb > 2 and bool(np.all(inner == inner[0])):
        block = v[starts[1] : ends[-2]].reshape(nb - 2, int(inner[0]))
        idx[1:-1] = starts[1:-1] + arg(block, axis=1)
        edge: tuple[int, ...] = (0, nb - 1)
    elif nb > 8:
        # Irregular buckets: every index matching its bucket's target, then the first per bucket.
        with np.errstate(invalid="ignore"):
            hits = np.flatnonzero(v == np.repeat(target, lens))
        return _first_match(hits, starts, ends)
    else:
        edge = tuple(range(nb))
    for b in edge:
        idx[b] = starts[b] + int(arg(v[starts[b] : ends[b]]))
    if v.dtype.kind != "f":
        return idx
    found = v[idx]
    bad = np.flatnonzero(found != target)  # a NaN was found first, or the bucket is all NaN
    if len(bad):
        drop = []
        for b in bad.tolist():
            if np.isnan(target[b]):
                drop.append(b)
            else:
                idx[b] = starts[b] + int(np.flatnonzero(v[starts[b] : ends[b]] == target[b])[0])
        idx = np.delete(idx, drop)
    return idx


def extremes(
    steps: np.ndarray, values: np.ndarray, width: float, starts: np.ndarray | None = None
) -> np.ndarray:
    """The steps holding each bucket's first minimum and first maximum (NaN ignored).

    ``starts`` are the buckets' first indices when the caller has them
    (:func:`trackline.storage.series.bucket_starts`). Works on the values' own dtype
    (float32 and int32 stay as they are: their minimum and maximum are exact).
    """
    if len(steps) == 0:
        return EMPTY_STEPS
    v = np.asarray(values)
    if v.dtype.kind not in "fi":
        v = v.astype(np.float64)
    if starts is None:
        starts = bucket_starts(steps, width)
    ends = np.r_[starts[1:], len(steps)]
    if v.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            mn = np.fmin.reduceat(v, starts)
            mx = np.fmax.reduceat(v, starts)
    else:
        mn = np.minimum.reduceat(v, starts)
        mx = np.maximum.reduceat(v, starts)
    lo = _first_index_of(v, starts, ends, mn, np.argmin)
    hi = _first_index_of(v, starts, ends, mx, np.argmax)
    return np.union1d(steps[lo], steps[hi])


def _same_steps(a: np.ndarray, b: np.ndarray) -> bool:
    if a is b:
        return True
    return len(a) == len(b) and (len(a) == 0 or (a[0] == b[0] and a[-1] == b[-1] and np.array_equal(a, b)))


def sample_steps(steps: np.ndarray, cols: Iterable[Column], samples: int) -> np.ndarray:
    """The steps kept by :func:`history`'s sampling (see the module docstring)."""
    if len(steps) <= samples:
        return steps
    # bucket_width allows one bucket more than its target (edges on multiples of the width).
    width = bucket_width(int(steps[0]), int(steps[-1]), max(1, samples // 4 - 1), integer=True)
    starts = bucket_starts(steps, width)
    ends = np.r_[starts[1:] - 1, len(steps) - 1]
    keep = [steps[starts], steps[ends]]
    for c in cols:
        if c.numeric and len(c):
            same = _same_steps(c.steps, steps)
            keep.append(extremes(c.steps, np.asarray(c.values), width, starts if same else None))
    return np.unique(np.concatenate(keep))


def widen(cols: dict[str, Column]) -> dict[str, Column]:
    """Numeric values as int64 or float64 (what a reader with ``native=True`` may leave
    as float32 or int32)."""
    out = {}
    for k, c in cols.items():
        v = c.values
        if isinstance(v, np.ndarray) and v.dtype.kind in "fi" and v.dtype.itemsize < 8:
            c = Column(c.steps, v.astype(np.int64 if v.dtype.kind == "i" else np.float64))
        out[k] = c
    return out


# -- rows -------------------------------------------------------------------------------------


def build_rows(
    steps: np.ndarray, cols: dict[str, Column], step_key: str | None = "_step", nest: bool = True
) -> list[dict[str, Any]]:
    """Rows at ``steps`` (each column must be a subset of them), nested as W&B's rows are.

    A dotted metric name (``grads.layer1``) becomes a nested dict, as it was logged;
    ``step_key`` names the step in each row (None: leave it out).
    """
    n = len(steps)
    if n == 0:
        return []
    names = list(cols)
    dense = all(len(cols[k]) == n for k in names)
    step_list = steps.tolist()
    if dense:
        lists = [cols[k].value_list() for k in names]
        if step_key is not None:  # first, as in the sparse rows below
            names = [step_key, *names]
            lists.insert(0, step_list)
        rows = [dict(zip(names, vals, strict=True)) for vals in zip(*lists, strict=True)]
    else:
        rows = [{} for _ in range(n)] if step_key is None else [{step_key: s} for s in step_list]
        for k in names:
            c = cols[k]
            pos = np.searchsorted(steps, c.steps).tolist()
            for i, v in zip(pos, c.value_list(), strict=True):
                rows[i][k] = v
    if nest and any("." in k or "\\" in k for k in cols):
        paths = {k: split_name(k) for k in cols}
        nested = []
        for row in rows:
            tree: dict[str, Any] = {}
            for k, v in row.items():
                p = paths.get(k)
                if p is None or len(p) == 1:
                    tree[k if p is None else p[0]] = v
                else:
                    set_path(tree, p, v)
            nested.append(tree)
        rows = nested
    return rows


def aligned(
    steps: np.ndarray, col: Column
) -> tuple[np.ndarray | list[Any], np.ndarray | None]:
    """``col``'s values on ``steps`` (a superset of its steps) and the mask of missing ones."""
    n = len(steps)
    if len(col) == n:
        return col.values, None
    pos = np.searchsorted(steps, col.steps)
    missing = np.ones(n, dtype=bool)
    missing[pos] = False
    if isinstance(col.values, np.ndarray):
        full = np.zeros(n, dtype=col.values.dtype)
        full[pos] = col.values
        return full, missing
    out: list[Any] = [None] * n
    for i, v in zip(pos.tolist(), col.values, strict=True):
        out[i] = v
    return out, missing
