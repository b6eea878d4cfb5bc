"""``Histogram`` (W&B: ``wandb.Histogram``): stored inline in the history row, no file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from trackline.data_types import parallel
from trackline.data_types.base import WBValue, to_numpy

try:  # built from _histogram_native.c at install (hatch_build.py); numpy.histogram without it
    from trackline.data_types import _histogram_native as native
except ImportError:  # pragma: no cover - no C compiler at install, or not CPython
    native = None  # type: ignore[assignment]

_NATIVE_MAX_BINS = 512  # W&B's limit on a histogram's length, and the C code's
_PART_MIN = 1 << 17  # values per part at least when split across helper threads: less is not worth a hand-off
_MAX_MARGIN = 0.25  # in bins: wider than this, most values would be placed by search; leave them to numpy


def histogram(values: Any, bins: int) -> tuple[Any, Any]:
    """``numpy.histogram(values[finite], bins)``: the same counts and edges, ~8x faster for big arrays.

    Non-finite values are left out (W&B's ``numpy.histogram`` raises on them). Float arrays
    are counted by the C extension ``_histogram_native`` in parts, on the caller and the
    media helper threads at once (it releases the GIL): the min and max first, then the
    counts in numpy's ``linspace`` edges, each value compared with those edges as numpy
    does (see ``_native_counts``). Anything it does not take (other dtypes are cast to
    float64 first; more than 512 bins; one distinct value; a range too narrow for its
    magnitude) goes to ``numpy.histogram``, as does everything when the extension was
    not built.

    Values whose max - min overflows their dtype (numpy fails there, with an IndexError
    or "too many bins", or counts nonsense) are counted at half scale, which is exact
    for normal floats: the counts of ``values / 2`` in its edges, with those edges doubled.
    Diverging weights then still show where they went instead of an error or nothing.
    """
    import numpy as np

    if values.dtype.kind != "f":
        values = values.astype(np.float64)
    if values.size == 0:
        return np.histogram(values, bins=bins)
    if native is not None and values.dtype in (np.float64, np.float32) and bins <= _NATIVE_MAX_BINS:
        found = _native_histogram(np.ascontiguousarray(values), bins)
        if found is not None:
            return found
    finite = values if np.isfinite(values).all() else values[np.isfinite(values)]
    if finite.size == 0:
        raise _nothing_finite()
    lo, hi = finite.min(), finite.max()
    with np.errstate(over="ignore"):
        span = hi - lo  # in the values' dtype, as numpy.histogram computes it
    if not np.isfinite(span):
        counts, edges = histogram(finite * finite.dtype.type(0.5), bins)
        return counts, edges * edges.dtype.type(2)
    return np.histogram(finite, bins=bins)


def histogram_of_any(values: Any, bins: int) -> tuple[Any, Any]:
    """:func:`histogram`, except that a range too narrow to cut into ``bins`` distinct edges
    (a few ulps wide: numpy raises "too many bins") gets float64 edges and as many bins as
    fit, instead of an error. For values trackline bins on its own (arrays logged directly,
    ``watch()``), where W&B's ``log`` fails or drops them. ValueError: nothing is finite."""
    import numpy as np

    try:
        return histogram(values, bins)
    except ValueError:
        if not np.isfinite(values).any():
            raise
    wide = values.astype(np.float64)
    while True:
        try:
            return histogram(wide, bins)
        except ValueError:
            if bins == 1:  # unreachable: one bin from min to max always has distinct edges
                raise
            bins //= 2


def _nothing_finite() -> ValueError:
    return ValueError("sequence: every value is NaN or infinite; there is nothing to count")


def _parts(values: Any) -> list[Any]:
    """``values`` cut in consecutive parts for the caller and the helper threads (one part if small or alone)."""
    count = max(1, min(1 + parallel.helpers(), values.size // _PART_MIN))
    cuts = [values.size * i // count for i in range(count + 1)]
    return [values[cuts[i] : cuts[i + 1]] for i in range(count)]


def _native_histogram(values: Any, bins: int) -> tuple[Any, Any] | None:
    """numpy.histogram's counts and edges of the finite ``values`` (contiguous float64 or float32), or None."""
    import numpy as np

    assert native is not None
    parts = _parts(values)
    bounds = parallel.run_parts(lambda i: native.min_max(parts[i]), len(parts))
    lo, hi = min(b[0] for b in bounds), max(b[1] for b in bounds)
    if lo > hi:
        raise _nothing_finite()
    if lo == hi:
        return None  # numpy's half-unit range around one value
    first, last = values.dtype.type(lo), values.dtype.type(hi)  # exact: they are values
    # Overflow near the dtype's max, in the span or in linspace's steps, is checked, not warned.
    with np.errstate(over="ignore", invalid="ignore"):
        if not np.isfinite(last - first):  # in the values' dtype, as numpy computes its edges
            return None  # a range that overflows: histogram() counts it at half scale
        edges = np.linspace(first, last, bins + 1, endpoint=True, dtype=np.result_type(first, last, values))
    margin = _native_margin(lo, hi, bins, edges.dtype)
    if margin > _MAX_MARGIN or not (edges[1:] > edges[:-1]).all():
        return None  # float32 edges that collapse (numpy raises); a range too narrow for its magnitude
    wide_edges = edges.astype(np.float64)  # exact
    counts = sum(parallel.run_parts(lambda i: _native_counts(parts[i], wide_edges, margin), len(parts)))
    return counts, edges


def _native_margin(lo: float, hi: float, bins: int, edge_dtype: Any) -> float:
    """How near (in bins) to an edge the C code's estimate of a value's bin may be wrong.

    The estimate ``(v - lo) * bins / (hi - lo)`` is computed in float64 from exact inputs:
    a few roundings, each relative, so off by at most ~4 ulp of the position and of ``v - lo``.
    numpy's edges are ``i * step + lo`` in their own dtype (float32 for float32 values): off
    from the ideal ``lo + i * width`` by a few ulp of ``|lo|``, of ``i * width`` and of the
    edge. In bins, both are a few machine epsilons times ``reach + bins``, where ``reach`` is
    how far the values are from 0 in bins. Four times that bound, to spare: a value whose
    estimated position is farther than this from a whole number is surely in that bin.
    """
    import numpy as np

    width = (hi - lo) / bins
    reach = max(abs(lo), abs(hi)) / width
    eps = float(np.finfo(edge_dtype).eps) + float(np.finfo(np.float64).eps)
    return 16.0 * eps * (reach + bins + 1.0)


def _native_counts(values: Any, edges: Any, margin: float) -> Any:
    import numpy as np

    assert native is not None
    counts = np.zeros(edges.size - 1, np.int64)
    native.count(values, edges, counts, margin)
    return counts


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
            counts, edges = histogram(arr.ravel(), int(num_bins))
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
