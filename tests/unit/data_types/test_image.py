"""Image: W&B's constructor rules, mode guessing, normalisation, masks, boxes and errors."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

import trackline
from trackline.data_types.image import BoundingBoxes2D, ImageMask, rescale_to_uint8


def decoded(img: trackline.Image) -> np.ndarray:
    return np.asarray(PILImage.open(io.BytesIO(img._read_bytes())))


@pytest.mark.parametrize(
    ("shape", "mode"),
    [((6, 5), "L"), ((6, 5, 1), "L"), ((6, 5, 3), "RGB"), ((6, 5, 4), "RGBA")],
)
def test_mode_is_guessed_from_channels(shape: tuple[int, ...], mode: str) -> None:
    img = trackline.Image(np.zeros(shape, dtype=np.uint8))
    assert img.image.mode == mode
    assert (img._width, img._height) == (5, 6)


def test_unsupported_channel_count_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"Un-supported shape for image conversion \[6, 5, 5\]"):
        trackline.Image(np.zeros((6, 5, 5)))


def test_normalisation_follows_wandb_ranges() -> None:
    np.testing.assert_array_equal(rescale_to_uint8(np.array([0.0, 0.5, 1.0])), [0, 127, 255])
    np.testing.assert_array_equal(rescale_to_uint8(np.array([-1.0, 0.0, 1.0])), [0, 127, 255])
    np.testing.assert_array_equal(rescale_to_uint8(np.array([-5.0, 100.0, 300.0])), [0, 100, 255])
    u8 = np.array([3, 200], dtype=np.uint8)
    assert rescale_to_uint8(u8) is u8  # uint8 is taken as it is
    np.testing.assert_array_equal(rescale_to_uint8(np.array([0.5, 1.0]), normalize=False), [0, 1])


def test_float_image_in_unit_range_is_scaled_to_255() -> None:
    img = trackline.Image(np.full((2, 2, 3), 1.0))
    assert decoded(img).max() == 255


def test_nan_and_empty_images_are_refused_with_clear_errors() -> None:
    bad = np.zeros((4, 4, 3))
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        trackline.Image(bad)
    with pytest.raises(ValueError, match="empty"):
        trackline.Image(np.zeros((0, 4, 3)))
    with pytest.raises(TypeError, match="data_or_path"):
        trackline.Image(42)


def test_file_type_must_be_png_jpg_or_bmp() -> None:
    with pytest.raises(ValueError, match="file_type must be one of"):
        trackline.Image(np.zeros((2, 2)), file_type="gif")
    jpg = trackline.Image(np.zeros((4, 4, 3), dtype=np.uint8), file_type="jpg")
    assert jpg._read_bytes()[:2] == b"\xff\xd8" and jpg.format == "jpg"
    bmp = trackline.Image(np.zeros((4, 4, 3), dtype=np.uint8), file_type="bmp")
    assert bmp._read_bytes()[:2] == b"BM"


def test_jpeg_drops_alpha_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="trackline"):
        img = trackline.Image(np.zeros((4, 4, 4), dtype=np.uint8), file_type="jpg")
    assert img.image.mode == "RGB"
    assert any("JPEG format does not support transparency" in r.getMessage() for r in caplog.records)


def test_pil_and_path_inputs(tmp_path: Path) -> None:
    pil = PILImage.new("RGB", (7, 3), (10, 20, 30))
    img = trackline.Image(pil, caption="pil")
    assert (img._width, img._height) == (7, 3) and img.caption == "pil"
    path = tmp_path / "x.jpeg"
    pil.save(path)
    from_path = trackline.Image(str(path))
    assert from_path.format == "jpeg" and from_path._ext == ".jpeg"
    assert from_path._read_bytes() == path.read_bytes()  # the file is kept as it is
    assert trackline.Image(from_path).sha256 == from_path.sha256
    with pytest.raises(FileNotFoundError, match="no image file"):
        trackline.Image(str(tmp_path / "missing.png"))
    (tmp_path / "junk.png").write_text("not an image")
    with pytest.raises(ValueError, match="not an image"):
        trackline.Image(str(tmp_path / "junk.png"))


def test_torch_tensors_are_channels_first() -> None:
    torch = pytest.importorskip("torch")
    img = trackline.Image(torch.zeros(3, 6, 5))
    assert img.image.mode == "RGB" and (img._width, img._height) == (5, 6)


def test_matplotlib_figure_becomes_an_image() -> None:
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, ax = plt.subplots(figsize=(2, 1), dpi=50)
    ax.plot([0, 1], [1, 0])
    img = trackline.Image(fig)
    plt.close(fig)
    assert (img._width, img._height) == (100, 50)


def test_masks_validate_and_default_class_labels() -> None:
    mask = ImageMask({"mask_data": np.array([[0, 2], [2, 0]])}, "pred")
    assert mask.class_labels == {0: "class_0", 2: "class_2"}
    with pytest.raises(TypeError, match='Missing key "mask_data"'):
        ImageMask({"class_labels": {}}, "pred")
    with pytest.raises(TypeError, match="2D array"):
        ImageMask({"mask_data": np.zeros((2, 2, 2))}, "pred")
    with pytest.raises(TypeError, match="between 0 and 255"):
        ImageMask({"mask_data": np.array([[0, 300]])}, "pred")
    with pytest.raises(TypeError, match="numbers to strings"):
        ImageMask({"mask_data": np.zeros((2, 2), int), "class_labels": {"a": "b"}}, "pred")


def test_boxes_validate_like_wandb() -> None:
    ok = {"position": {"middle": [1, 1], "width": 2, "height": 2}, "class_id": 1, "scores": {"acc": 0.5}}
    boxes = BoundingBoxes2D({"box_data": [ok], "class_labels": {1: "cat"}}, "gt")
    assert boxes.class_labels == {1: "cat"} and boxes.box_data[0]["class_id"] == 1
    with pytest.raises(TypeError, match="Boxes must be a list"):
        BoundingBoxes2D({"box_data": "x"}, "gt")
    with pytest.raises(TypeError, match="position with"):
        BoundingBoxes2D({"box_data": [{"position": {"minX": 0}}]}, "gt")
    with pytest.raises(TypeError, match="class_id must be an integer"):
        BoundingBoxes2D({"box_data": [{**ok, "class_id": "1"}]}, "gt")
    with pytest.raises(TypeError, match="score value must be a number"):
        BoundingBoxes2D({"box_data": [{**ok, "scores": {"acc": "high"}}]}, "gt")
    with pytest.raises(ValueError, match='"boxes" argument must be a dictionary'):
        trackline.Image(np.zeros((2, 2)), boxes=[ok])  # type: ignore[arg-type]


def test_classes_merge_from_masks_boxes_and_argument() -> None:
    img = trackline.Image(
        np.zeros((4, 4)),
        masks={"m": {"mask_data": np.zeros((4, 4), int), "class_labels": {0: "bg"}}},
        boxes={"b": {"box_data": [], "class_labels": {1: "car"}}},
        classes=[{"id": 2, "name": "tree"}],
    )
    assert img._classes is not None
    assert {c["id"]: c["name"] for c in img._classes._class_set} == {0: "bg", 1: "car", 2: "tree"}
