"""``Histogram`` (W&B: ``wandb.Histogram``): stored inline in the history row, no file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from trackline.data_types.base import WBValue, to_numpy

_PARALLEL_FROM = 1 << 18  # below this, one thread is faster than handing out chunks
_pool: Any = None


def _executor() -> Any:
    global _pool
    if _pool is None:
        import os
        from concurrent.futures import ThreadPoolExecutor

        _pool = ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1), thread_name_prefix="trackline-hist")
    return _pool


def _count(a: Any, lo: float, norm: float, edges: Any, bins: int) -> Any:
    """numpy.histogram's uniform-bin counting for one chunk (same edge rules, same result)."""
    import numpy as np

    idx = ((a - lo) * norm).astype(np.intp)
    idx[idx == bins] = bins - 1
    idx[a < edges[idx]] -= 1
    idx[(a >= edges[idx + 1]) & (idx != bins - 1)] += 1
    return np.bincount(idx, minlength=bins)


def histogram(flat: Any, bins: int) -> tuple[Any, Any]:
    """``numpy.histogram(x[finite], bins)``, with big arrays counted in chunks on several threads.

    numpy releases the GIL in these loops, so a 1M-value histogram takes a fraction of
    ``numpy.histogram``'s time on a multi-core machine; the counts and edges are identical.
    """
    import numpy as np

    if flat.size == 0:
        return np.histogram(flat, bins=bins)
    lo, hi = float(flat.min()), float(flat.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        flat = flat[np.isfinite(flat)]
        if flat.size == 0:
            raise ValueError("sequence: every value is NaN or infinite; there is nothing to count")
        lo, hi = float(flat.min()), float(flat.max())
    if flat.size < _PARALLEL_FROM or lo == hi:
        return np.histogram(flat, bins=bins, range=(lo, hi))
    edges = np.linspace(lo, hi, bins + 1)
    norm = bins / (hi - lo)
    pool = _executor()
    step = -(-flat.size // pool._max_workers)
    parts = [flat[i : i + step] for i in range(0, flat.size, step)]
    counts = sum(pool.map(lambda a: _count(a, lo, norm, edges, bins), parts))
    return counts, edges


class Histogram(WBValue):
    """A histogram: ``Histogram(sequence, num_bins=64)`` or ``Histogram(np_histogram=np.histogram(x))``.

    At most 512 bins. JSON: ``{"_type": "histogram", "values": [...], "bins": [...]}``.
    """

    MAX_LENGTH: ClassVar[int] = 512
    _log_type = "histogram"

    def __init__(
        self,
        sequence: Sequence[Any] | Any | None = None,
        np_histogram: tuple[Any, Any] | Sequence[Any] | None = None,
        num_bins: int = 64,
    ) -> None:
        import numpy as np

        if np_histogram is not None:
            if not isinstance(np_histogram, (tuple, list)) or len(np_histogram) != 2:
                raise ValueError(
                    "Expected np_histogram to be a tuple of (values, bin_edges) or sequence to be specified"
                )
            values = to_numpy(np_histogram[0], "np_histogram[0]").ravel()
            bins = to_numpy(np_histogram[1], "np_histogram[1]").ravel()
            self.histogram = values.tolist()
            self.bins = bins.tolist()
        else:
            if sequence is None:
                raise ValueError(
                    "Expected np_histogram to be a tuple of (values, bin_edges) or sequence to be specified"
                )
            if isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) or num_bins < 1:
                raise ValueError(f"num_bins must be a positive integer, got {num_bins!r}")
            if num_bins > self.MAX_LENGTH:
                raise ValueError(f"The maximum length of a histogram is {self.MAX_LENGTH}")
            arr = to_numpy(sequence, "sequence")
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"sequence: a histogram needs numbers, got dtype {arr.dtype}")
            flat = arr.astype(np.float64, copy=False).ravel()
            counts, edges = histogram(flat, int(num_bins))
            self.histogram = counts.tolist()
            self.bins = edges.tolist()
        if len(self.histogram) > self.MAX_LENGTH:
            raise ValueError(f"The maximum length of a histogram is {self.MAX_LENGTH}")
        if len(self.histogram) + 1 != len(self.bins):
            raise ValueError("len(bins) must be len(histogram) + 1")

    def to_json(self, run: Any = None) -> dict[str, Any]:
        return {"_type": "histogram", "values": self.histogram, "bins": self.bins}

    def __repr__(self) -> str:
        return f"<Histogram {len(self.histogram)} bins>"
