"""How ``Image`` turns pixels into a file: trackline's PNG writer for arrays, Pillow where it must."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import PngImagePlugin

import trackline
from trackline.data_types import binding
from trackline.data_types.image import ImageMask


def decoded(data: bytes) -> PILImage.Image:
    im = PILImage.open(io.BytesIO(data))
    im.load()
    return im


@pytest.fixture
def no_pillow_png(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow's PNG encoder fails: whatever still works did not use it.

    (PngImagePlugin is imported above, so Pillow's lazy plugin loading cannot put it back.)
    """

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("Pillow's PNG encoder was used")

    monkeypatch.setitem(PILImage.SAVE, "PNG", refuse)


@pytest.mark.parametrize(
    ("pixels", "mode"),
    [
        (np.arange(30, dtype=np.uint8).reshape(5, 6), "L"),
        (np.arange(30, dtype=np.uint8).reshape(5, 6, 1), "L"),
        (np.arange(90, dtype=np.uint8).reshape(5, 6, 3), "RGB"),
        (np.arange(120, dtype=np.uint8).reshape(5, 6, 4), "RGBA"),
    ],
)
def test_arrays_are_written_without_pillow_and_decode_to_the_same_pixels(
    no_pillow_png: None, pixels: np.ndarray, mode: str
) -> None:
    img = trackline.Image(pixels)
    back = decoded(img._read_bytes())
    assert back.mode == mode and (img._width, img._height) == (6, 5)
    np.testing.assert_array_equal(np.asarray(back), pixels.reshape(5, 6, -1).squeeze(-1) if mode == "L" else pixels)
    assert img.image.mode == mode  # decoded lazily from the file's bytes


def test_normalised_and_explicit_la_arrays_use_the_png_writer(no_pillow_png: None) -> None:
    floats = np.linspace(0, 1, 2 * 3 * 3).reshape(2, 3, 3)
    np.testing.assert_array_equal(np.asarray(trackline.Image(floats).image), (floats * 255).astype(np.uint8))
    la = np.arange(2 * 3 * 2, dtype=np.uint8).reshape(2, 3, 2)
    img = trackline.Image(la, mode="LA")
    assert img.image.mode == "LA"
    np.testing.assert_array_equal(np.asarray(img.image), la)


def test_pil_images_without_extra_chunks_use_the_png_writer(no_pillow_png: None) -> None:
    pil = PILImage.new("RGB", (7, 3), (10, 20, 30))
    img = trackline.Image(pil)
    np.testing.assert_array_equal(np.asarray(img.image), np.asarray(pil))


def test_pil_images_with_an_icc_profile_keep_it_through_pillow() -> None:
    pil = PILImage.new("RGB", (4, 4), (1, 2, 3))
    pil.info["icc_profile"] = b"fake-profile"
    data = trackline.Image(pil)._read_bytes()
    assert b"iCCP" in data  # Pillow writes the profile; trackline's writer would drop it
    np.testing.assert_array_equal(np.asarray(decoded(data)), np.asarray(pil))


def test_a_mode_that_converts_still_goes_through_pillow() -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    img = trackline.Image(rgb, mode="L")
    expected = PILImage.fromarray(rgb).convert("L")
    np.testing.assert_array_equal(np.asarray(img.image), np.asarray(expected))


def test_jpeg_and_bmp_are_still_pillows() -> None:
    pixels = np.zeros((4, 4, 3), dtype=np.uint8)
    assert trackline.Image(pixels, file_type="jpg")._read_bytes()[:2] == b"\xff\xd8"
    assert trackline.Image(pixels, file_type="bmp")._read_bytes()[:2] == b"BM"


def test_masks_use_the_png_writer(no_pillow_png: None) -> None:
    data = np.array([[0, 1, 2], [2, 1, 0]])
    mask = ImageMask({"mask_data": data}, "pred")
    back = decoded(mask._read_bytes())
    assert back.mode == "L"
    np.testing.assert_array_equal(np.asarray(back), data)


def test_pngs_are_valid_for_pillows_strict_reader() -> None:
    img = trackline.Image(np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8))
    im = PngImagePlugin.PngImageFile(io.BytesIO(img._read_bytes()))
    im.verify()  # checks every chunk's CRC


# -- writing the file --------------------------------------------------------------------


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self._payload: bytes | None = data
        self._source: str | None = None
        self._size = len(data)


def test_write_file_makes_folders_and_writes_the_bytes(tmp_path: Path) -> None:
    dest = tmp_path / "media" / "images" / "a_0_x.png"
    binding.write_file(str(dest), _Bytes(b"png-bytes"))  # type: ignore[arg-type]
    assert dest.read_bytes() == b"png-bytes"
    assert oct(dest.stat().st_mode & 0o777) == oct(0o644 & ~_umask())


def test_an_existing_file_of_the_same_size_is_kept_and_a_torn_one_rewritten(tmp_path: Path) -> None:
    dest = tmp_path / "a_0_x.png"
    dest.write_bytes(b"same-size")
    binding.write_file(str(dest), _Bytes(b"png-bytes"))  # type: ignore[arg-type]
    assert dest.read_bytes() == b"same-size"  # the name holds the sha256: same size, same content
    dest.write_bytes(b"torn")
    binding.write_file(str(dest), _Bytes(b"png-bytes"))  # type: ignore[arg-type]
    assert dest.read_bytes() == b"png-bytes"


def test_a_failed_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "a_0_x.png"
    real_write = os.write

    def short_then_fail(fd: int, data: Any) -> int:
        if len(data) > 4:
            return real_write(fd, bytes(data[:4]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(binding.os, "write", short_then_fail)
    with pytest.raises(OSError, match="No space"):
        binding.write_file(str(dest), _Bytes(b"png-bytes"))  # type: ignore[arg-type]
    assert not dest.exists()


def test_short_writes_are_continued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "a_0_x.png"
    real_write = os.write
    monkeypatch.setattr(binding.os, "write", lambda fd, data: real_write(fd, bytes(data[:3])))
    binding.write_file(str(dest), _Bytes(b"png-bytes-longer"))  # type: ignore[arg-type]
    assert dest.read_bytes() == b"png-bytes-longer"


def test_logged_image_file_is_the_encoded_bytes(tmp_path: Path) -> None:
    run = trackline.init(project="media", mode="offline", dir=str(tmp_path))
    try:
        pixels = np.random.default_rng(2).integers(0, 256, (8, 8, 3), dtype=np.uint8)
        img = trackline.Image(pixels)
        run.log({"img": img})
        path = Path(run.dir) / img._path  # type: ignore[operator]
        assert path.read_bytes() == img._read_bytes()
        np.testing.assert_array_equal(np.asarray(decoded(path.read_bytes())), pixels)
        assert not [p for p in path.parent.iterdir() if p.name.startswith(".media-")]
    finally:
        run.finish()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
