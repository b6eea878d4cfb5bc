"""Columnar chunks of numeric history: how points are laid out on disk.

One chunk holds up to ``CHUNK_POINTS`` points of one metric of one run (from one
record stream) as two arrays. Measured against the per-point table alternative
(``benchmarks/store_layout.py``), chunks ingest ~4x faster and take ~8 bytes per
point instead of ~40:

* values are stored in the narrowest dtype that holds them exactly: ``i4``/``i8``
  for integers, ``f4`` when every value round-trips through float32, else ``f8``;
* steps are not stored at all when they are ``step_min, step_min + 1, ...``
  (the common case); otherwise they are zlib-compressed int64 deltas.

Raw values are what reads want: a chart of 100 runs x 100k points reads 10M float32
with no decoding (measured: compressed chunks made that read 2-3x slower, 56 -> 126-164 ms
with lz4 or zstd, as decompressing 80 MB costs more than copying 40). So the copy for
``trackline export`` lives beside them: once ``PAGE_GROUP`` float chunks in a row are
sealed (32,768 points; they never change again), their values are also packed by
:func:`pack_f8` (float64, byte-stream-split, one zstd frame: byte for byte the values of a
Parquet ``BYTE_STREAM_SPLIT`` page compressed with ZSTD) into one row of ``history_pages``,
and the export copies it into its file instead of encoding again (``cli/export_pages.py``).
A run's last, incomplete group gets its page when the run's stream ends.
On the query benchmark's data (float32-exact noisy curves, timestamps, runtimes) the pages
take 33 MB beside 160 MB of raw chunks, ~4 ns per point to pack, in the sender.

Points inside a chunk keep arrival order; a step may repeat (a late write), and
readers keep the last value per step.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import zstandard

from trackline.lazy import LazyModule

if TYPE_CHECKING:
    import numpy as np
else:
    np = LazyModule("numpy", globals(), "np")

CHUNK_POINTS = 2048
#: Sealed chunks per page once a group of them is complete (32,768 values a page).
PAGE_GROUP = 16
ZSTD_LEVEL = 1
_compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_content_size=True, write_checksum=False)
_decompressor = zstandard.ZstdDecompressor()
_I4 = (-(1 << 31), (1 << 31) - 1)


@dataclass
class EncodedChunk:
    step_min: int
    step_max: int
    n: int
    dtype: str
    steps: bytes | None
    values: bytes


def encode(steps: Any, values: Any) -> EncodedChunk:
    s = np.asarray(steps, dtype=np.int64)
    v = np.asarray(values)
    if v.dtype.kind in "iu":
        lo, hi = int(v.min()), int(v.max())
        dtype = "i4" if _I4[0] <= lo and hi <= _I4[1] else "i8"
    else:
        v = v.astype(np.float64, copy=False)
        with np.errstate(over="ignore", invalid="ignore"):
            # Most float metrics are not float32-exact: a few values decide that cheaply.
            exact = _f32_exact(v[:16]) and _f32_exact(v)
        dtype = "f4" if exact else "f8"
    vbytes = v.astype(dtype).tobytes()
    n = len(s)
    step_min, step_max = int(s.min()), int(s.max())
    contiguous = int(s[0]) == step_min and step_max - step_min == n - 1
    if contiguous and n > 1:
        contiguous = bool(np.all(np.diff(s) == 1))
    sbytes = None if contiguous else zlib.compress(np.diff(s, prepend=0).tobytes(), 1)
    return EncodedChunk(step_min, step_max, n, dtype, sbytes, vbytes)


def _f32_exact(v: np.ndarray) -> bool:
    return bool(np.array_equal(v.astype(np.float32).astype(np.float64), v, equal_nan=True))


def pack_f8(values: Any) -> bytes:
    """Float64 values, byte-stream-split, as one zstd frame (the content size in its header)."""
    v = np.ascontiguousarray(values, dtype=np.float64)
    planes = np.empty((8, len(v)), np.uint8)
    b = v.view(np.uint8).reshape(-1, 8)
    for j in range(8):  # plane by plane: several times faster than a strided transpose copy
        planes[j] = b[:, j]
    return _compressor.compress(planes.data)  # the array's buffer, not a copy as bytes: 280 -> 125 us for 32k values


def even_span(steps: np.ndarray) -> tuple[int, int] | None:
    """``(first, last)`` when ``steps`` are ``first, first + d, ..., last`` with d >= 1 (every
    step, or every d-th, each once, in order); else None. What a page of history must be."""
    if len(steps) < 2:
        return None
    first, last = int(steps[0]), int(steps[-1])
    d = int(steps[1]) - first
    if d < 1 or last - first != d * (len(steps) - 1) or not bool(np.all(np.diff(steps) == d)):
        return None
    return first, last


_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def frame_size(blob: bytes) -> int:
    """The content size a :func:`pack_f8` frame says it holds; -1 when it is not one whole
    zstd frame with its size: its header is read, and its blocks' headers walked to check
    that the last one ends where ``blob`` does (a frame cut short, or with bytes after it,
    is no frame). A few block headers a page, without decompressing it; what is inside a
    block (no checksum is written) is not checked."""
    n = len(blob)
    if n < 6 or blob[:4] != _ZSTD_MAGIC:
        return -1
    descriptor = blob[4]
    fcs_flag, single, checksum, dict_flag = descriptor >> 6, descriptor >> 5 & 1, descriptor >> 2 & 1, descriptor & 3
    at = 5 + (not single) + (0, 1, 2, 4)[dict_flag]
    fcs_bytes = (1 if single else 0, 2, 4, 8)[fcs_flag]
    if not fcs_bytes or at + fcs_bytes > n:
        return -1  # no content size: the export needs it
    size = int.from_bytes(blob[at : at + fcs_bytes], "little") + (256 if fcs_bytes == 2 else 0)
    at += fcs_bytes
    while True:
        if at + 3 > n:
            return -1
        header = int.from_bytes(blob[at : at + 3], "little")
        kind, length = header >> 1 & 3, header >> 3
        if kind == 3:
            return -1  # reserved block type
        at += 3 + (1 if kind == 1 else length)  # an RLE block holds one byte
        if header & 1:  # the last block
            break
    return size if at + 4 * checksum == n else -1


def unpack_f8(blob: bytes, n: int) -> np.ndarray:
    """The ``n`` float64 values of a :func:`pack_f8` frame."""
    raw = _decompressor.decompress(blob, max_output_size=8 * n)
    if len(raw) != 8 * n:
        raise ValueError(f"a packed page holds {len(raw)} bytes, expected {8 * n}")
    planes = np.frombuffer(raw, np.uint8).reshape(8, n)
    out = np.empty((n, 8), np.uint8)
    for j in range(8):
        out[:, j] = planes[j]
    return out.reshape(-1).view(np.float64)


def decode_steps(step_min: int, n: int, steps: bytes | None) -> np.ndarray:
    """A stored chunk's steps (int64)."""
    if steps is None:
        return np.arange(step_min, step_min + n, dtype=np.int64)
    return np.cumsum(np.frombuffer(zlib.decompress(steps), dtype=np.int64))


def decode(step_min: int, n: int, dtype: str, steps: bytes | None, values: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Return (steps int64, values float64 or int64) for one stored chunk."""
    s = decode_steps(step_min, n, steps)
    v = np.frombuffer(values, dtype=dtype)
    v = v.astype(np.int64) if dtype[0] == "i" else v.astype(np.float64)
    return s, v


def join_contiguous(rows: list[tuple[int, int, str, bytes | None, bytes]]) -> tuple[np.ndarray, np.ndarray] | None:
    """Decode chunks ``(step_min, n, dtype, steps, values)`` that follow each other without
    gaps (each starts where the previous ended, steps implicit, one dtype) in one go;
    None when they don't (then decode one by one and merge)."""
    if not rows:
        return None
    step_min, _, dtype, _, _ = rows[0]
    expect = step_min
    for s_min, n, dt, steps, _ in rows:
        if steps is not None or dt != dtype or s_min != expect:
            return None
        expect = s_min + n
    values = np.frombuffer(b"".join(r[4] for r in rows), dtype=dtype)
    values = values.astype(np.int64) if dtype[0] == "i" else values.astype(np.float64)
    return np.arange(step_min, expect, dtype=np.int64), values


def merge_series(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate chunks in write order; keep the last value written for each step."""
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    if len(parts) == 1:
        s, v = parts[0]
    else:
        s = np.concatenate([p[0] for p in parts])
        kinds = {p[1].dtype.kind for p in parts}
        v = np.concatenate([p[1] for p in parts]) if len(kinds) == 1 else np.concatenate(
            [p[1].astype(np.float64) for p in parts]
        )
    if len(s) < 2 or bool(np.all(s[1:] > s[:-1])):
        return s, v
    # Out of order or repeated steps: stable sort, then keep the last write per step.
    order = np.argsort(s, kind="stable")
    s, v = s[order], v[order]
    last = np.ones(len(s), dtype=bool)
    last[:-1] = s[1:] != s[:-1]
    return s[last], v[last]
