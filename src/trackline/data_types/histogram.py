"""``Histogram`` (W&B: ``wandb.Histogram``): stored inline in the history row, no file."""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from trackline.data_types import parallel
from trackline.data_types.base import WBValue, to_numpy

_FAST_FROM = 1 << 15  # below this numpy.histogram is about as fast
_FAST_MAX_BINS = 128  # bin keys fit one byte (see _uniform_counts)
_UNIT_BITS = 15  # positions are counted in 1/2**15 of a bin
_KEY_BASE = 64  # key byte of bin 0: (float32 exponent 150 << 8 | 2**21 >> 15) mod 256
_MAGIC = float(2**23 + 2**21)  # float32 sums in [2**23, 2**24) are integers: their low bits are the position
_MAX_MARGIN = 1 << 8  # wider than this many units around each edge: leave it to numpy
_BLOCK = 1 << 16  # values per vector pass: the float32 scratch stays in L2
_CHUNK = 1 << 18  # values per bincount
_PART_MIN = 1 << 17  # values per part at least when split across helper threads: less is not worth a hand-off
_scratch = threading.local()  # reusable buffers (2 MB per thread that counts): no page faults per call


def histogram(values: Any, bins: int) -> tuple[Any, Any]:
    """``numpy.histogram(values[finite], bins)``: the same counts and edges, about 3x faster for big arrays.

    Non-finite values are left out (W&B's ``numpy.histogram`` raises on them). Edges are
    numpy's (``linspace`` over min..max in numpy's dtype); a value's bin is decided by
    comparing it with those edges exactly as numpy does, so the counts are numpy's.
    """
    import numpy as np

    if values.dtype.kind != "f":
        values = values.astype(np.float64)
    if values.size == 0:
        return np.histogram(values, bins=bins)
    parts = _parts(values)
    lo, hi = _min_max(parts)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        values = values[np.isfinite(values)]
        if values.size == 0:
            raise ValueError("sequence: every value is NaN or infinite; there is nothing to count")
        parts = _parts(values)
        lo, hi = _min_max(parts)
    if values.size >= _FAST_FROM and bins <= _FAST_MAX_BINS and lo != hi and math.isfinite(float(hi) - float(lo)):
        edges = np.linspace(lo, hi, bins + 1, endpoint=True, dtype=np.result_type(lo, hi, values))
        counts = _uniform_counts(parts, float(lo), float(hi), edges)
        if counts is not None:
            return counts, edges
    return np.histogram(values, bins=bins, range=(lo, hi))


def _parts(values: Any) -> list[Any]:
    """``values`` cut in consecutive parts for the caller and the helper threads (one part if small or alone)."""
    count = max(1, min(1 + parallel.helpers(), values.size // _PART_MIN))
    cuts = [values.size * i // count for i in range(count + 1)]
    return [values[cuts[i] : cuts[i + 1]] for i in range(count)]


def _min_max(parts: list[Any]) -> tuple[Any, Any]:
    """The min and max of all ``parts`` (NaN if any holds one), the parts on the caller and helpers."""
    import numpy as np

    found = parallel.run_parts(lambda i: (parts[i].min(), parts[i].max()), len(parts))
    lo, hi = found[0]
    for part_lo, part_hi in found[1:]:
        lo, hi = np.minimum(lo, part_lo), np.maximum(hi, part_hi)
    return lo, hi


def _buffer(name: str, dtype: Any, size: int) -> Any:
    import numpy as np

    buf = getattr(_scratch, name, None)
    if buf is None or buf.size < size:
        buf = np.empty(max(size, _BLOCK if name in ("pos", "low") else _CHUNK // (2 if name == "pairs" else 1)), dtype)
        setattr(_scratch, name, buf)
    return buf[:size]


def _uniform_counts(parts: list[Any], lo: float, hi: float, edges: Any) -> Any:
    """numpy.histogram's counts of the values in ``parts`` (all within [lo, hi]) in the uniform bins ``edges``, or None.

    numpy computes each value's bin as ``int((x - lo) / width)``, then fixes it with two
    gathers from ``edges`` and two comparisons, then ``bincount``: about 15 passes over
    the data. Here one float32 multiply-add per value gives its position in the bins in
    units of 2**-15 bin (a float32 in [2**23, 2**24) is an integer, so adding ``_MAGIC``
    rounds it and its low 15 mantissa bits are the position inside the bin and the next
    bits the bin), from which two integer passes take the bin byte and the values within
    ``margin`` units of an edge; ``margin`` bounds every rounding error of that float32
    estimate and of numpy's edges (tested against numpy.histogram with hypothesis). Only
    those few values are placed exactly, by ``searchsorted`` on the edges in numpy's dtype
    (numpy's own rule: ``edges[i] <= x < edges[i + 1]``, the last bin closed). The bin bytes
    are counted two at a time (a byte pair is one uint16 index): half the elements for
    ``bincount``, the slowest part. Passes run over blocks that stay in cache. Each part
    is counted on its own thread (the first in the caller) and the counts are added.
    """
    import numpy as np

    bins = edges.size - 1
    if sys.byteorder != "little" or parts[0].dtype.itemsize > 8 or edges.dtype.itemsize > 8:
        return None
    width = (hi - lo) / bins
    unit = float(1 << _UNIT_BITS)
    if not (2.0**-100 <= unit / width <= 2.0**100 and max(abs(lo), abs(hi)) <= 2.0**100):
        return None  # keep float32 casts and products normal (no overflow, no subnormal steps)
    reach = max(abs(lo), abs(hi)) / width  # in bins: how far from 0 the values are, relative to a bin
    # Errors in units: s32 (bins * 2**-9), the float32 cast and product (2 * reach * 2**-9),
    # the float32 offset (1 + reach * 2**-9), the rounding (0.5), numpy's edges (8 eps reach).
    error = 1.5 + (bins + 3 * reach) * unit * 2.0**-24 + 8 * float(np.finfo(edges.dtype).eps) * reach * unit
    if not error * 2 + 1 <= _MAX_MARGIN:
        return None
    margin = int(error * 2) + 1
    scale = np.float32(unit / width)
    offset = np.float32(_MAGIC + margin - lo * float(scale))
    count = _count_bytes if len(parts) == 1 else _count_sorted  # bincount holds the GIL: threads would take turns
    counts = sum(parallel.run_parts(lambda i: _part_counts(parts[i], scale, offset, margin, edges, count), len(parts)))
    inside = counts[_KEY_BASE : _KEY_BASE + bins]
    if counts.sum() != inside.sum() or (counts < 0).any():  # an estimate outside its bins: never expected
        return None
    return inside.copy()


def _part_counts(values: Any, scale: Any, offset: Any, margin: int, edges: Any, count: Callable[..., None]) -> Any:
    """Counts of ``values`` per key byte (see ``_uniform_counts``), the values near an edge placed exactly."""
    import numpy as np

    bins = edges.size - 1
    counts = np.zeros(256, np.intp)
    near_edge = []
    for start in range(0, values.size, _CHUNK):
        chunk = values[start : start + _CHUNK]
        keys = _buffer("keys", np.uint8, chunk.size)
        flag = _buffer("flag", np.bool_, chunk.size)
        for at in range(0, chunk.size, _BLOCK):
            part = chunk[at : at + _BLOCK]
            end = at + part.size
            pos = _buffer("pos", np.float32, part.size)
            low = _buffer("low", np.uint32, part.size)
            np.multiply(part, scale, out=pos, dtype=np.float32)
            np.add(pos, offset, out=pos)
            bits = pos.view(np.uint32)  # mantissa = 2**21 + margin + position
            np.right_shift(bits, _UNIT_BITS, out=keys[at:end], casting="unsafe")
            np.bitwise_and(bits, (1 << _UNIT_BITS) - 1, out=low)
            np.less(low, 2 * margin, out=flag[at:end])
        if flag.any():
            near_edge.append(np.flatnonzero(flag) + start)
        count(keys, counts, _KEY_BASE + bins + 1)
    if near_edge:
        where = np.concatenate(near_edge)
        counts -= np.bincount(_keys_of(values[where], scale, offset), minlength=256)
        exact = np.searchsorted(edges, values[where].astype(edges.dtype), side="right") - 1
        counts[_KEY_BASE : _KEY_BASE + bins] += np.bincount(np.minimum(exact, bins - 1), minlength=bins)
    return counts


def _keys_of(values: Any, scale: Any, offset: Any) -> Any:
    """The key bytes ``_uniform_counts`` gave these values (recomputed for the few near an edge)."""
    import numpy as np

    pos = np.multiply(values, scale, dtype=np.float32)
    np.add(pos, offset, out=pos)
    return (pos.view(np.uint32) >> _UNIT_BITS).astype(np.uint8)


def _count_sorted(keys: Any, counts: Any, limit: int) -> None:
    """``counts += bincount(keys)`` by sorting ``keys`` in place: slower than pairs alone, but without the GIL."""
    import numpy as np

    keys.sort(kind="stable")  # a radix sort for bytes; numpy releases the GIL (bincount holds it)
    counts[:limit] += np.diff(np.searchsorted(keys, np.arange(limit + 1)))


def _count_bytes(keys: Any, counts: Any, limit: int) -> None:
    """``counts += bincount(keys)`` for keys below ``limit``, counting byte pairs as one uint16 index (half the work)."""
    import numpy as np

    even = keys.size & ~1
    index = _buffer("pairs", np.intp, even // 2)
    np.copyto(index, keys[:even].view(np.uint16))  # little-endian: first byte + 256 * second
    pairs = np.bincount(index, minlength=limit * 256).reshape(-1, 256)  # [second, first]
    counts += pairs.sum(axis=0)
    counts[: pairs.shape[0]] += pairs.sum(axis=1)
    if even != keys.size:
        counts[keys[-1]] += 1


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
