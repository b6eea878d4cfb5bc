"""trackline's PNG writer: every mode it writes decodes with Pillow to the same pixels."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image as PILImage

from tests.unit.data_types.conftest import threads_running
from trackline.data_types import png


def decode(data: bytes) -> tuple[str, np.ndarray]:
    with PILImage.open(io.BytesIO(data)) as im:
        im.load()
        return im.mode, np.asarray(im)


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == png.SIGNATURE
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        out.append((kind, body))
        pos += 12 + length
    return out


MODE_OF = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def pixel_arrays() -> st.SearchStrategy[np.ndarray]:
    shapes = st.tuples(st.integers(1, 40), st.integers(1, 40), st.sampled_from([0, 1, 2, 3, 4]))
    return shapes.flatmap(
        lambda s: st.one_of(
            hnp.arrays(np.uint8, s[:2] if s[2] == 0 else s),  # anything, edge bytes included
            st.builds(  # smooth and flat content, so both zlib strategies are taken
                lambda v, g: (np.add.outer(np.arange(s[0]), np.arange(s[1])) * g + v).astype(np.uint8).reshape(
                    (*s[:2], 1)
                ).repeat(max(1, s[2]), axis=2).reshape(s[:2] if s[2] == 0 else s),
                st.integers(0, 255),
                st.integers(0, 3),
            ),
        )
    )


@settings(max_examples=300, deadline=None)
@given(pixel_arrays())
def test_every_mode_decodes_to_the_same_pixels(pixels: np.ndarray) -> None:
    mode, back = decode(png.encode(pixels))
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    assert mode == MODE_OF[channels]
    np.testing.assert_array_equal(back, pixels if channels > 1 else pixels.reshape(pixels.shape[:2]))


@pytest.mark.parametrize("kind", [png.FILTER_SUB, png.FILTER_UP])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_both_filters_round_trip(kind: int, channels: int) -> None:
    rng = np.random.default_rng(channels)
    pixels = rng.integers(0, 256, (9, 7, channels), dtype=np.uint8)
    rows = pixels.reshape(9, 7 * channels)
    scanlines = png.filter_rows(rows, channels, kind)
    assert (scanlines[:, 0] == kind).all()
    ihdr = struct.pack(">IIBBBBB", 7, 9, 8, png.COLOR_TYPES[channels], 0, 0, 0)
    data = png.SIGNATURE + png._chunk(b"IHDR", ihdr) + png._chunk(b"IDAT", zlib.compress(scanlines)) + png._chunk(b"IEND", b"")
    np.testing.assert_array_equal(decode(data)[1], pixels if channels > 1 else pixels[..., 0])


def test_file_structure_is_ihdr_one_idat_iend_with_crcs() -> None:
    data = png.encode(np.zeros((3, 5, 4), dtype=np.uint8))
    parts = chunks(data)
    assert [k for k, _ in parts] == [b"IHDR", b"IDAT", b"IEND"]
    assert struct.unpack(">IIBBBBB", parts[0][1]) == (5, 3, 8, 6, 0, 0, 0)


def test_filter_follows_the_image() -> None:
    ramp = np.tile(np.arange(64, dtype=np.uint8) * 3, (32, 1))  # changes along rows: Up leaves zeros
    assert png.choose_filter(ramp.T.copy(), 1) == png.FILTER_SUB
    assert png.choose_filter(ramp, 1) == png.FILTER_UP


def test_repetitive_images_get_lz77_and_noisy_ones_run_length_coding() -> None:
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 256, (8, 48), dtype=np.uint8)
    repetitive = np.tile(tile, (16, 8))  # long repeats a level-1 sample finds
    noisy = rng.integers(0, 256, (128, 384), dtype=np.uint8)
    for pixels, lz in ((repetitive, True), (noisy, False)):
        scanlines = png.filter_rows(pixels, 1, png.FILTER_SUB)
        level = png.compress(scanlines)[1] >> 6  # FLEVEL of the zlib header: 0 = fastest, 1 = fast (levels 2-5)
        assert level == (1 if lz else 0)
        assert zlib.decompress(png.compress(scanlines)) == scanlines.tobytes()
    assert len(png.encode(repetitive)) < repetitive.nbytes / 10


def test_non_contiguous_input_is_encoded_as_its_values() -> None:
    base = np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3)
    view = base[:, ::2, ::-1]  # strided, reversed channels
    np.testing.assert_array_equal(decode(png.encode(view))[1], view)


def test_bad_input_is_refused() -> None:
    with pytest.raises(TypeError, match="uint8"):
        png.encode(np.zeros((2, 2), dtype=np.uint16))
    with pytest.raises(ValueError, match="shape"):
        png.encode(np.zeros((2, 2, 5), dtype=np.uint8))
    with pytest.raises(ValueError, match="at least one pixel"):
        png.encode(np.zeros((0, 2, 3), dtype=np.uint8))


@settings(max_examples=200, deadline=None)
@given(pixel_arrays(), st.sampled_from([png.FILTER_SUB, png.FILTER_UP]), st.integers(2, 6), st.booleans())
def test_pieces_deflated_at_once_decode_to_the_same_scanlines_and_pixels(
    pixels: np.ndarray, kind: int, parts: int, tiny_dictionary: bool
) -> None:
    from trackline.data_types import parallel

    parallel._forget_pool()  # whatever helpers this machine has; the bytes must not depend on them
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    rows = np.ascontiguousarray(pixels).reshape(pixels.shape[0], -1)
    parts = min(parts, rows.shape[0])
    with pytest.MonkeyPatch.context() as mp:
        if tiny_dictionary:  # a dictionary of a few bytes: matches across the cut must still be right
            mp.setattr(png, "_DICT_BYTES", 5)
        stream = png.compress_parallel(rows, channels, kind, parts)
    assert zlib.decompress(stream) == png.filter_rows(rows, channels, kind).tobytes()  # adler32 checked too
    ihdr = struct.pack(">IIBBBBB", pixels.shape[1], pixels.shape[0], 8, png.COLOR_TYPES[channels], 0, 0, 0)
    data = png.SIGNATURE + png._chunk(b"IHDR", ihdr) + png._chunk(b"IDAT", stream) + png._chunk(b"IEND", b"")
    np.testing.assert_array_equal(decode(data)[1], pixels if channels > 1 else pixels.reshape(pixels.shape[:2]))


@given(st.binary(max_size=300), st.binary(max_size=300))
def test_adler32_combine_equals_the_checksum_of_both(first: bytes, second: bytes) -> None:
    assert png.adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second)) == zlib.adler32(first + second)


@pytest.mark.parametrize("kind", [png.FILTER_SUB, png.FILTER_UP])
def test_a_range_of_scanlines_equals_that_slice_of_all_of_them(kind: int) -> None:
    rows = np.random.default_rng(kind).integers(0, 256, (11, 15), dtype=np.uint8)
    whole = png.filter_rows(rows, 3, kind)
    for start, stop in ((0, 4), (4, 11), (10, 11), (3, 3)):
        np.testing.assert_array_equal(png.filter_rows(rows, 3, kind, start, stop), whole[start:stop])


def photo(height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    smooth = np.stack([(xx + yy) % 256, (xx * 2) % 256, (yy * 3) % 256], axis=-1)
    return (smooth + np.random.default_rng(height).integers(0, 8, (height, width, 3))).astype(np.uint8)


def test_big_images_are_deflated_in_pieces_on_helper_threads(one_helper: None, monkeypatch: pytest.MonkeyPatch) -> None:
    threads = threads_running(monkeypatch, png, "_deflate_part")
    pixels = photo(224, 224)
    np.testing.assert_array_equal(decode(png.encode(pixels))[1], pixels)
    assert len(threads) == 2
    assert any(name.startswith("trackline-media-helper") for name in threads)


def test_on_one_cpu_an_image_is_one_zlib_stream_in_the_caller(no_helpers: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(png, "compress_parallel", None)  # would fail if called
    pixels = photo(224, 224)
    assert png.parts_for(pixels.reshape(224, -1)) == 1
    np.testing.assert_array_equal(decode(png.encode(pixels))[1], pixels)


def test_deflate_is_zlib_ng_and_its_stream_is_plain_zlib() -> None:
    # zlib-ng writes ~2x faster; what it writes is an ordinary zlib stream (decoded here by the
    # standard library, as every PNG reader would).
    from zlib_ng import zlib_ng

    assert png._deflate is zlib_ng
    rows = (np.arange(64 * 96 * 3, dtype=np.uint32) % 251).astype(np.uint8).reshape(64, 96 * 3)
    scanlines = png.filter_rows(rows, 3, png.FILTER_SUB)
    assert zlib.decompress(png.compress(scanlines)) == scanlines.tobytes()


def test_pieces_share_the_whole_images_settings_sampled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pieces deflate with what the one-piece stream would use, decided from one sample."""
    rows = photo(224, 224).reshape(224, -1)
    kind = png.choose_filter(rows, 3)
    decided: list[tuple[int, int]] = []
    real = png._decide

    def spy(sample: np.ndarray) -> tuple[int, int]:
        decided.append(real(sample))
        return decided[-1]

    monkeypatch.setattr(png, "_decide", spy)
    whole = png._settings(png.filter_rows(rows, 3, kind))
    decided.clear()
    stream = png.compress_parallel(rows, 3, kind, 3)
    assert decided == [whole]
    assert zlib.decompress(stream) == png.filter_rows(rows, 3, kind).tobytes()
