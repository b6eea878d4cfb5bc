"""Columnar chunks of numeric history: how points are laid out on disk.

One chunk holds up to ``CHUNK_POINTS`` points of one metric of one run (from one
record stream) as two arrays. Measured against the per-point table alternative
(``benchmarks/store_layout.py``), chunks ingest ~4x faster and take ~8 bytes per
point instead of ~40:

* integers are stored in the narrowest dtype that holds them exactly (``i4``/``i8``);
* floats (``f8z``) are float64 in byte-stream-split order (the 1st byte of every value,
  then the 2nd, ...) compressed as one zstd frame (level 1). That is byte for byte the
  values section of a Parquet ``BYTE_STREAM_SPLIT`` page with ZSTD compression, so
  ``trackline export`` copies stored chunks into its file instead of encoding them again
  (``cli/export_pages.py``). The planes of a float32-exact value's low bytes are zeros,
  and smooth curves and timestamps share their high bytes: measured on the query
  benchmark's data (float32-exact noisy curves, timestamps, runtimes), 3.4, 0.25 and 0.36
  bytes per point instead of 4, 8 and 4 as ``f4``/``f8``, at 4-11 ns per point to encode.
  Stores written before keep their ``f4``/``f8`` chunks; both are read;
* steps are not stored at all when they are ``step_min, step_min + 1, ...``
  (the common case); otherwise they are zlib-compressed int64 deltas.

Points inside a chunk keep arrival order; a step may repeat (a late write), and
readers keep the last value per step.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import zstandard

CHUNK_POINTS = 2048
#: The stored dtype of float chunks: float64, byte-stream-split, one zstd frame.
PACKED_F8 = "f8z"
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
        dtype = PACKED_F8
    vbytes = pack_f8(v) if dtype == PACKED_F8 else v.astype(dtype).tobytes()
    n = len(s)
    step_min, step_max = int(s.min()), int(s.max())
    contiguous = int(s[0]) == step_min and step_max - step_min == n - 1
    if contiguous and n > 1:
        contiguous = bool(np.all(np.diff(s) == 1))
    sbytes = None if contiguous else zlib.compress(np.diff(s, prepend=0).tobytes(), 1)
    return EncodedChunk(step_min, step_max, n, dtype, sbytes, vbytes)


def pack_f8(values: Any) -> bytes:
    """Float64 values, byte-stream-split, as one zstd frame (the content size in its header)."""
    v = np.ascontiguousarray(values, dtype=np.float64)
    planes = v.view(np.uint8).reshape(-1, 8).T  # planes[j] = byte j of every value
    return _compressor.compress(np.ascontiguousarray(planes).tobytes())


def unpack_f8(blob: bytes, n: int, out: np.ndarray | None = None) -> np.ndarray:
    """The ``n`` float64 values of :func:`pack_f8`'s frame, into ``out`` (``n`` x 8 bytes)
    when given, else into a new array."""
    raw = _decompressor.decompress(blob, max_output_size=8 * n)
    if len(raw) != 8 * n:
        raise ValueError(f"a packed float chunk holds {len(raw)} bytes, expected {8 * n}")
    planes = np.frombuffer(raw, np.uint8).reshape(8, n)
    block = np.empty((n, 8), np.uint8) if out is None else out
    for j in range(8):  # plane by plane: several times faster than a strided transpose copy
        block[:, j] = planes[j]
    return block.reshape(-1).view(np.float64)


def unpack_many_f8(blobs: list[bytes], sizes: list[int]) -> np.ndarray:
    """Several chunks' frames, in order, as one float64 array."""
    out = np.empty((sum(sizes), 8), np.uint8)
    at = 0
    for blob, n in zip(blobs, sizes, strict=True):
        unpack_f8(blob, n, out[at : at + n])
        at += n
    return out.reshape(-1).view(np.float64)


def decode(step_min: int, n: int, dtype: str, steps: bytes | None, values: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Return (steps int64, values float64 or int64) for one stored chunk."""
    if steps is None:
        s = np.arange(step_min, step_min + n, dtype=np.int64)
    else:
        s = np.cumsum(np.frombuffer(zlib.decompress(steps), dtype=np.int64))
    if dtype == PACKED_F8:
        return s, unpack_f8(values, n)
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
    if dtype == PACKED_F8:
        values = unpack_many_f8([r[4] for r in rows], [r[1] for r in rows])
    else:
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
