"""PNG files written straight from uint8 numpy arrays (what ``Image`` writes for array input).

Pillow's encoder tries every PNG filter on every row and runs zlib's full LZ77 search:
for a 224x224 RGB photo that is 4-10 ms at ``compress_level`` 3-6 on the development VM,
most of a ``log()`` call. This encoder does the two things that matter for speed:

* one filter for the whole image, computed in one vectorised numpy subtraction: ``Sub``
  (left neighbour) or ``Up`` (row above), whichever leaves the smaller residuals on a
  sample of rows (the "minimum sum of absolute differences" rule of the PNG spec, applied
  per image instead of per row);
* zlib with run-length matching only (``Z_RLE``): filtered photos have few long repeats,
  so full LZ77 search costs 2-6x the time for 0-5% smaller files, while runs (flat areas,
  masks, plots) still compress. When a sample of the filtered image shows long repeats
  (LZ77 at level 1 shrinks it to under half), ordinary deflate at level 2 is used instead,
  which is then both smaller and faster than run-length coding.

Deflate is zlib-ng's (``zlib-ng`` on PyPI: the same stream format, written ~2x faster than
the standard library's zlib at these settings; measured on the media benchmark's images,
level 2 takes 0.28 ms where zlib's level 3 took 0.48, for files ~50% larger, and
run-length coding of photos 0.45 ms instead of 0.70). Without it, the standard zlib is used.

On 224x224 RGB images that is ~0.5-1.2 ms instead of 1-10 ms, with files 3-11% larger than
Pillow's level 6 for photos (up to ~30% for very smooth ones, where LZ77 finds more). The
output is an ordinary 8-bit PNG (signature, IHDR, one IDAT, IEND, CRCs via zlib-ng's ``crc32``):
every decoder reads it, and Pillow gives back the same pixels (tested for L, LA, RGB, RGBA).

With a second CPU, images of 64 KiB or more are deflated in pieces at once, as pigz does:
each piece (filtered where it runs) is raw deflate primed with the 16 KiB above it and
ended with a sync flush, and the pieces are joined under one zlib header and the adler32
of the whole. A 224x224 photo then takes ~0.4 ms instead of ~0.6 ms, the file ~0.2% larger.
"""

from __future__ import annotations

import struct
import types
import zlib
from typing import Any

from trackline.data_types import parallel

_deflate: types.ModuleType
try:  # zlib-ng: the same deflate format, ~2x faster at these levels (a dependency; zlib if it is missing)
    from zlib_ng import zlib_ng as _deflate
except ImportError:  # pragma: no cover - zlib-ng ships wheels for the common platforms
    _deflate = zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type: L, LA, RGB, RGBA
MODES = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}  # PIL mode -> channels

FILTER_SUB = 1
FILTER_UP = 2
_SAMPLE_ROWS = 16  # rows sampled to pick the filter and the zlib strategy
LZ_RATIO = 0.5  # level-1 deflate of the sample below this fraction of its size: use LZ77
LZ_LEVEL = 2
_SPLIT_FROM = 1 << 15  # bytes per piece at least: for less, handing a piece to a helper saves too little
_DICT_BYTES = 1 << 14  # window primed per piece: a full 32 KiB one makes zlib slide its window (+50 us)
_ADLER_BASE = 65521
_ZLIB_HEADER = b"\x78\x5e"  # deflate, 32 KiB window, no preset dictionary, "fast" level


def _chunk(kind: bytes, data: bytes) -> bytes:
    return b"".join((struct.pack(">I", len(data)), kind, data, struct.pack(">I", _deflate.crc32(data, _deflate.crc32(kind)))))


def _residual_cost(res: Any) -> int:
    """Sum of |residual| with the bytes read as signed (-128 counts 128)."""
    import numpy as np

    return int(np.abs(res.view(np.int8)).view(np.uint8).sum(dtype=np.uint64))


def choose_filter(rows: Any, bpp: int) -> int:
    """``FILTER_SUB`` or ``FILTER_UP`` for ``rows`` (h, stride) uint8: the smaller residuals on sampled rows."""
    h = rows.shape[0]
    if h < 2:
        return FILTER_SUB
    step = max(1, h // _SAMPLE_ROWS)
    below = rows[1::step]
    above = rows[0:-1:step][: below.shape[0]]
    up = _residual_cost(below - above)
    sub = _residual_cost(below[:, bpp:] - below[:, :-bpp])
    return FILTER_SUB if sub < up else FILTER_UP


def filter_rows(rows: Any, bpp: int, kind: int, start: int = 0, stop: int | None = None) -> Any:
    """Scanlines ``start:stop`` with their filter byte: a (n, stride + 1) uint8 array (one pass, no other copy).

    ``Up`` reads the row above ``start``, so a range holds the same bytes as the whole image's scanlines there.
    """
    import numpy as np

    part = rows[start:stop]
    out = np.empty((part.shape[0], rows.shape[1] + 1), dtype=np.uint8)
    out[:, 0] = kind
    if kind == FILTER_SUB:
        out[:, 1 : bpp + 1] = part[:, :bpp]
        np.subtract(part[:, bpp:], part[:, :-bpp], out=out[:, bpp + 1 :])
    elif kind == FILTER_UP:
        if start == 0:
            out[:1, 1:] = part[:1]
            np.subtract(part[1:], part[:-1], out=out[1:, 1:])
        else:
            np.subtract(part, rows[start - 1 : start - 1 + part.shape[0]], out=out[:, 1:])
    else:
        raise ValueError(f"unsupported PNG filter {kind}")
    return out


def _settings(scanlines: Any) -> tuple[int, int]:
    """(level, strategy): run-length coding, or ``LZ_LEVEL`` deflate when a sample from the middle repeats."""
    h = scanlines.shape[0]
    if h < 4:
        return 1, zlib.Z_RLE
    n, start = _middle(h)
    return _decide(scanlines[start : start + n])


def _settings_of_rows(rows: Any, bpp: int, kind: int) -> tuple[int, int]:
    """``_settings`` of ``rows`` filtered with ``kind``, filtering only the sampled rows."""
    h = rows.shape[0]
    if h < 4:
        return 1, zlib.Z_RLE
    n, start = _middle(h)
    return _decide(filter_rows(rows, bpp, kind, start, start + n))


def _middle(h: int) -> tuple[int, int]:
    n = max(1, h // _SAMPLE_ROWS)
    return n, (h - n) // 2


def _decide(sample: Any) -> tuple[int, int]:
    if len(_deflate.compress(sample, 1)) < LZ_RATIO * sample.nbytes:
        return LZ_LEVEL, zlib.Z_DEFAULT_STRATEGY
    return 1, zlib.Z_RLE


def compress(scanlines: Any) -> bytes:
    """zlib stream of the filtered scanlines: run-length coding, or ``LZ_LEVEL`` deflate when a sample repeats."""
    level, strategy = _settings(scanlines)
    z = _deflate.compressobj(level, zlib.DEFLATED, 15, 9, strategy)  # memLevel 9: ~7% faster than 8
    return z.compress(scanlines) + z.flush()


def _deflate_part(
    rows: Any, bpp: int, kind: int, start: int, stop: int, last: bool, settings: tuple[int, int]
) -> tuple[bytes, int, int]:
    """Raw deflate of scanlines ``start:stop``, continuing the stream of the rows above.

    Returns (deflate bytes, adler32 of the scanlines, their length). The encoder is primed
    with the scanlines just above the part (what the decoder's window holds there), so
    matches reach across the cut; a part before the last ends with a sync flush (byte
    aligned, not final), so the parts concatenate into one deflate stream (as pigz does).
    """
    scanlines = filter_rows(rows, bpp, kind, start, stop)
    level, strategy = settings
    if start:
        above = filter_rows(rows, bpp, kind, max(0, start - _DICT_BYTES // (rows.shape[1] + 1) - 1), start)
        z = _deflate.compressobj(level, zlib.DEFLATED, -15, 9, strategy, above.reshape(-1)[-_DICT_BYTES:])
    else:
        z = _deflate.compressobj(level, zlib.DEFLATED, -15, 9, strategy)
    body = z.compress(scanlines) + z.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
    return body, _deflate.adler32(scanlines), scanlines.nbytes


def adler32_combine(first: int, second: int, second_length: int) -> int:
    """The adler32 of two byte strings joined, from each one's adler32 (zlib's ``adler32_combine``)."""
    rem = second_length % _ADLER_BASE
    low = first & 0xFFFF
    high = (rem * low + (first >> 16) + (second >> 16) + _ADLER_BASE - rem) % _ADLER_BASE
    low = (low + (second & 0xFFFF) + _ADLER_BASE - 1) % _ADLER_BASE
    return high << 16 | low


def compress_parallel(rows: Any, bpp: int, kind: int, parts: int) -> bytes:
    """The zlib stream of ``rows`` filtered with ``kind``, deflated in ``parts`` pieces at once.

    The pieces run on the caller and on helper threads (zlib and numpy release the GIL),
    with the settings the whole image's sample gives (the bytes of the one-piece stream's
    choice, sampled once). The bytes do not depend on which thread ran which piece.
    """
    h = rows.shape[0]
    cuts = [h * i // parts for i in range(parts + 1)]
    settings = _settings_of_rows(rows, bpp, kind)
    pieces = parallel.run_parts(
        lambda i: _deflate_part(rows, bpp, kind, cuts[i], cuts[i + 1], i == parts - 1, settings), parts
    )
    checksum = 1  # adler32 of no bytes
    for _, adler, length in pieces:
        checksum = adler32_combine(checksum, adler, length)
    return b"".join((_ZLIB_HEADER, *(body for body, _, _ in pieces), struct.pack(">I", checksum)))


def parts_for(rows: Any) -> int:
    """How many pieces to deflate ``rows`` in: one per thread (the caller and each helper), of ``_SPLIT_FROM`` bytes or more.

    More pieces than threads measured slower (each primes its dictionary and samples its rows).
    """
    return max(1, min(1 + parallel.helpers(), rows.shape[0], rows.nbytes // _SPLIT_FROM))


def encode(pixels: Any) -> bytes:
    """An 8-bit PNG of ``pixels``: uint8, (H, W) or (H, W, C) with C in 1-4 (L, LA, RGB, RGBA)."""
    import numpy as np

    if pixels.dtype != np.uint8:
        raise TypeError(f"PNG encoding needs uint8 pixels, got {pixels.dtype}")
    if pixels.ndim == 2:
        channels = 1
    elif pixels.ndim == 3 and pixels.shape[2] in COLOR_TYPES:
        channels = pixels.shape[2]
    else:
        raise ValueError(f"PNG encoding needs (H, W) or (H, W, 1-4) pixels, got shape {list(pixels.shape)}")
    height, width = pixels.shape[:2]
    if height == 0 or width == 0:
        raise ValueError(f"PNG encoding needs at least one pixel, got shape {list(pixels.shape)}")
    rows = np.ascontiguousarray(pixels).reshape(height, width * channels)
    kind = choose_filter(rows, channels)
    parts = parts_for(rows)
    if parts > 1:
        idat = compress_parallel(rows, channels, kind, parts)
    else:
        idat = compress(filter_rows(rows, channels, kind))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, COLOR_TYPES[channels], 0, 0, 0)
    return b"".join((SIGNATURE, _chunk(b"IHDR", ihdr), _chunk(b"IDAT", idat), _chunk(b"IEND", b"")))
