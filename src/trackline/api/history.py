"""Reading history back: rows from columns, streamed in windows, and spike-keeping sampling.

Sampling (``Run.history(samples=N)``) is not W&B's random sample. The step range is
cut into about N equal buckets; from each bucket the first and last rows are kept,
plus, for every requested numeric key, the rows holding its minimum and maximum in
that bucket. So the first and last points, and every spike, survive. Bucket edges
depend only on the step range, so they stay put as points arrive.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from trackline.runstate.flatten import unflatten
from trackline.storage.sql.store import SQLStore


def _window_rows(
    store: SQLStore,
    run_pk: int,
    keys: list[str],
    lo: int | None,
    hi: int | None,
    require_all: bool,
) -> list[dict[str, Any]]:
    numeric = store.numeric_history(run_pk, keys, lo, hi)
    other = store.value_history(run_pk, keys, lo, hi)
    cols: dict[str, tuple[np.ndarray, list[Any]]] = {}
    for k, (s, arr) in numeric.items():
        cols[k] = (s, arr.tolist())
    for k, pairs in other.items():
        s2 = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
        v2 = [p[1] for p in pairs]
        if k in cols:
            s1, v1 = cols[k]
            merged: dict[int, Any] = dict(zip(s1.tolist(), v1, strict=True))
            merged.update(zip(s2.tolist(), v2, strict=True))
            order = sorted(merged)
            cols[k] = (np.asarray(order, dtype=np.int64), [merged[x] for x in order])
        else:
            cols[k] = (s2, v2)
    if not cols:
        return []
    all_steps = np.unique(np.concatenate([s for s, _ in cols.values()]))
    rows: dict[int, dict[str, Any]] = {int(step): {} for step in all_steps.tolist()}
    for k, (s, v) in cols.items():
        for step, value in zip(s.tolist(), v, strict=True):
            rows[step][k] = value
    out = []
    wanted = [k for k in keys if not k.startswith("_")] if require_all else []
    for step in sorted(rows):
        flat = rows[step]
        if wanted and any(k not in flat for k in wanted):
            continue
        row = unflatten(flat)
        row["_step"] = step
        out.append(row)
    return out


def scan_rows(
    store: SQLStore,
    run_pk: int,
    keys: list[str],
    min_step: int | None = None,
    max_step: int | None = None,
    window: int = 4096,
    require_all: bool = False,
) -> Iterator[dict[str, Any]]:
    """Every row in step order, in windows of ``window`` steps (constant memory)."""
    lo = min_step
    while True:
        first = store.first_step_at_or_after(run_pk, keys, lo)
        if first is None or (max_step is not None and first > max_step):
            return
        hi = first + window - 1
        if max_step is not None:
            hi = min(hi, max_step)
        yield from _window_rows(store, run_pk, keys, first, hi, require_all)
        lo = hi + 1


def sample_steps(steps: np.ndarray, columns: dict[str, tuple[np.ndarray, np.ndarray]], samples: int) -> np.ndarray:
    """The steps kept by min/max bucket sampling (see module docstring)."""
    if len(steps) <= samples:
        return steps
    lo, hi = int(steps[0]), int(steps[-1])
    n_buckets = max(1, samples // 4)
    width = max(1.0, (hi - lo + 1) / n_buckets)
    keep: set[int] = set()
    bucket = ((steps - lo) / width).astype(np.int64)
    first_idx = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    last_idx = np.r_[first_idx[1:] - 1, len(steps) - 1]
    keep.update(steps[first_idx].tolist())
    keep.update(steps[last_idx].tolist())
    for s, v in columns.values():
        if len(s) == 0 or v.dtype.kind not in "fi":
            continue
        b = ((s - lo) / width).astype(np.int64)
        vf = v.astype(np.float64)
        starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
        ends = np.r_[starts[1:], len(s)]
        for a, e in zip(starts.tolist(), ends.tolist(), strict=True):
            seg = vf[a:e]
            if np.all(np.isnan(seg)):
                continue
            keep.add(int(s[a + int(np.nanargmin(seg))]))
            keep.add(int(s[a + int(np.nanargmax(seg))]))
    return np.asarray(sorted(keep), dtype=np.int64)
