"""Chart series: x-axis joins, spike-keeping downsampling and smoothing. Pure numpy, no I/O.

A chart of a 100k-point series on a 1,000-pixel canvas needs about 1,000 values, but random
or every-k-th sampling hides spikes. Here the x-range is cut into buckets and each bucket
keeps the x and value of its **last** point plus the **min** and **max** of its values, so a
line through ``last`` with a band between ``min`` and ``max`` shows every spike.

Bucket edges stay put as points arrive: the bucket width is a power of two (``2**k`` x units,
at least 1 for integer axes such as ``_step``) and edges sit on multiples of it, so they
depend on the width alone, never on where the data starts or ends. A growing series keeps
its width (and edges) until its range doubles; then the width doubles and every new edge is
an old edge. A live chart can therefore re-fetch only its last bucket and what follows.

The first and last points are always kept exactly: the last point is the ``last`` of the
final bucket, and the first point is emitted on its own when its bucket holds more points.

Smoothing (:func:`ema`) is a debiased exponential moving average weighted by the distance
between points, so irregularly logged series smooth evenly; see its docstring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# exp(-_BLOCK_LOG) stays far from float64 overflow (exp(709)); see _ema_blocks.
_BLOCK_LOG = 600.0


@dataclass(frozen=True)
class Buckets:
    """One downsampled series as columns; ``points`` counts the raw points it summarises."""

    x: np.ndarray
    last: np.ndarray
    min: np.ndarray
    max: np.ndarray
    points: int
    width: float

    def __len__(self) -> int:
        return len(self.x)


def bucket_width(lo: float, hi: float, target: int, integer: bool) -> float:
    """The smallest power of two ``w`` with ``(hi - lo) / w <= target`` (``>= 1`` if ``integer``)."""
    if target < 1:
        raise ValueError(f"target must be at least 1 bucket, got {target}")
    span = float(hi) - float(lo)
    if not math.isfinite(span) or span <= 0:
        return 1.0
    ratio = span / target
    if ratio == 0.0:  # a subnormal span: any width holds it in one bucket
        return 1.0 if integer else math.ulp(0.0)
    w = 2.0 ** math.ceil(math.log2(ratio))
    # log2 rounding can land one power short; the contract is span / w <= target.
    while span / w > target:
        w *= 2.0
    return max(w, 1.0) if integer else w


def bucket_ids(x: np.ndarray, width: float) -> np.ndarray:
    """The bucket each x falls in: ``floor(x / width)``; edges are multiples of ``width``."""
    return np.floor(np.asarray(x, dtype=np.float64) / width).astype(np.int64)


def bucket_starts(x: np.ndarray, width: float) -> np.ndarray:
    """Index of the first point of each non-empty bucket of ``x`` (sorted).

    With fewer buckets than points (the usual case) the edges are found by binary search,
    O(buckets * log n) instead of a pass over every point.
    """
    n = len(x)
    if n == 0:
        return np.empty(0, np.int64)
    first = math.floor(float(x[0]) / width)
    last = math.floor(float(x[-1]) / width)
    if last - first + 1 >= n:
        b = bucket_ids(x, width)
        return np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    ks = np.arange(first + 1, last + 1, dtype=np.int64)
    if x.dtype.kind in "iu" and width >= 1 and width == int(width):
        edges: np.ndarray = ks * int(width)
    else:
        edges = ks.astype(np.float64) * width  # exact: width is a power of two
    cuts = np.searchsorted(x, edges, "left")
    starts = np.unique(np.r_[0, cuts])
    return starts[starts < n]


def downsample(x: np.ndarray, y: np.ndarray, width: float, keep_first: bool = True) -> Buckets:
    """Reduce points sorted by ``x`` to one entry per bucket of ``width``: (x, last, min, max).

    ``min`` and ``max`` ignore NaN (a bucket of only NaN gives NaN); ``last`` is the value of
    the bucket's last point, NaN included. With ``keep_first`` the first point gets its own
    entry when its bucket holds more than one point, so both ends of the series are exact.
    Integer x (steps) and float32 values keep their dtypes.
    """
    xs = np.asarray(x)
    ys = np.asarray(y)
    if ys.dtype.kind not in "f":
        ys = ys.astype(np.float64)
    n = len(xs)
    if n == 0:
        empty = np.empty(0, np.float64)
        return Buckets(empty, empty, empty, empty, 0, width)
    starts = bucket_starts(xs, width)
    if len(starts) == n:  # one point per bucket: full resolution
        return Buckets(xs, ys, ys, ys, n, width)
    ends = np.r_[starts[1:], n]
    with np.errstate(invalid="ignore"):
        mn = np.fmin.reduceat(ys, starts)
        mx = np.fmax.reduceat(ys, starts)
    bx = xs[ends - 1]
    last = ys[ends - 1]
    if keep_first and ends[0] - starts[0] > 1:
        bx = np.r_[xs[:1], bx]
        last = np.r_[ys[:1], last]
        mn = np.r_[ys[:1], mn]
        mx = np.r_[ys[:1], mx]
    return Buckets(bx, last, mn, mx, n, width)


def crop(x: np.ndarray, y: np.ndarray, lo: float | None, hi: float | None) -> tuple[np.ndarray, np.ndarray]:
    """The points with ``lo <= x <= hi`` of a series sorted by x (either bound may be None)."""
    a = 0 if lo is None else int(np.searchsorted(x, lo, "left"))
    b = len(x) if hi is None else int(np.searchsorted(x, hi, "right"))
    return x[a:b], y[a:b]


def asof_join(
    steps: np.ndarray, values: np.ndarray, x_steps: np.ndarray, x_values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Put a series on another key's axis: each point takes the x logged at its step or before.

    Returns ``(x, y, steps)`` sorted by x (stable, so ties keep step order). Points logged
    before the first x value, or whose x is not finite, are dropped.
    """
    if len(x_steps) == 0 or len(steps) == 0:
        e = np.empty(0, np.float64)
        return e, e, np.empty(0, np.int64)
    idx = np.searchsorted(x_steps, steps, "right") - 1
    ok = idx >= 0
    xs = np.asarray(x_values, dtype=np.float64)[idx[ok]]
    ys = np.asarray(values, dtype=np.float64)[ok]
    ss = np.asarray(steps)[ok]
    finite = np.isfinite(xs)
    if not finite.all():
        xs, ys, ss = xs[finite], ys[finite], ss[finite]
    if len(xs) > 1 and not bool(np.all(xs[1:] >= xs[:-1])):
        order = np.argsort(xs, kind="stable")
        xs, ys, ss = xs[order], ys[order], ss[order]
    return xs, ys, ss


def ema(steps: np.ndarray, y: np.ndarray, weight: float) -> np.ndarray:
    """Debiased exponential moving average over steps, weighted by the gap between points.

    Each point decays the running average by ``weight ** (gap / unit)``, where ``gap`` is the
    step distance to the previous point and ``unit`` the series' mean step spacing over all
    of its points. For a series logged at every step (or every k-th) this is the classic EMA
    with factor ``weight`` per point, as in TensorBoard; for irregular logging, long gaps
    forget more. The average is divided by the accumulated weight (as in W&B and Adam), so
    the first values are not pulled toward zero. Computed over the whole series, it does not
    change with the zoom window. ``weight`` is in [0, 1): 0 returns ``y`` unchanged.
    Non-finite values are passed through and skipped by the average.
    """
    yf = np.asarray(y, dtype=np.float64)
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out = yf.copy()
    finite = np.isfinite(yf)
    idx = np.flatnonzero(finite)
    if weight == 0.0 or len(idx) < 2:
        return out
    s = np.asarray(steps, dtype=np.float64)[idx]
    v = yf[idx]
    unit = (s[-1] - s[0]) / (len(s) - 1)
    gaps = np.diff(s, prepend=s[0] - unit) / unit if unit > 0 else np.ones(len(s))
    out[idx] = _ema_blocks(v, gaps * math.log(weight))
    return out


def ema_reference(steps: np.ndarray, y: np.ndarray, weight: float) -> np.ndarray:
    """The same EMA as :func:`ema`, one point at a time (the definition; used by tests)."""
    yf = np.asarray(y, dtype=np.float64)
    out = yf.copy()
    idx = [i for i in range(len(yf)) if math.isfinite(yf[i])]
    if weight == 0.0 or len(idx) < 2:
        return out
    s = [float(steps[i]) for i in idx]
    unit = (s[-1] - s[0]) / (len(s) - 1)
    num = den = 0.0
    prev = s[0] - unit
    for i, step in zip(idx, s, strict=True):
        a = weight ** ((step - prev) / unit) if unit > 0 else weight
        num = a * num + (1 - a) * yf[i]
        den = a * den + (1 - a)
        out[i] = num / den if den > 0 else yf[i]
        prev = step
    return out


def _ema_blocks(v: np.ndarray, log_a: np.ndarray) -> np.ndarray:
    """Vectorised ``num_i = a_i num_{i-1} + (1 - a_i) v_i`` (and ``den`` with v = 1), ``num / den``.

    With ``L_i = sum_{start < k <= i} log a_k`` inside a block,
    ``num_i = e^{L_i} (a_start num_carry + sum_j e^{-L_j} (1 - a_j) v_j)``. A block ends
    before ``-L`` passes ``_BLOCK_LOG``, so ``e^{-L}`` (times values scaled to [-1, 1]) never
    overflows; the carry links blocks exactly.
    """
    n = len(v)
    scale = float(np.max(np.abs(v))) or 1.0
    vs = v / scale
    out = np.empty(n, np.float64)
    one_minus = -np.expm1(log_a)  # 1 - a_i, accurate for a_i near 1
    neg_total = -np.cumsum(log_a)  # non-decreasing
    num = den = 0.0
    start = 0
    while start < n:
        end = int(np.searchsorted(neg_total, neg_total[start] + _BLOCK_LOG, "right"))
        rel = neg_total[start] - neg_total[start:end]  # L_i, in [-_BLOCK_LOG, 0]
        carry = math.exp(float(log_a[start]))
        w = one_minus[start:end] * np.exp(-rel)
        acc = np.exp(rel)
        nums = acc * (carry * num + np.cumsum(w * vs[start:end]))
        dens = acc * (carry * den + np.cumsum(w))
        out[start:end] = nums / dens
        num, den = float(nums[-1]), float(dens[-1])
        start = end
    return out * scale
