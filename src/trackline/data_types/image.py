"""``Image`` (W&B: ``wandb.Image``): numpy HWC, torch CHW, PIL, matplotlib, paths; PNG/JPEG/BMP.

Mode guessing and normalisation follow W&B: 2-D or one channel is ``L``, three ``RGB``,
four ``RGBA`` (JPEG drops alpha with a warning). With ``normalize=True`` (the default)
non-uint8 data in ``[0, 1]`` is scaled by 255, data in ``[-1, 1]`` is mapped to
``[0, 255]`` and anything else is clipped to ``[0, 255]``; then it is cast to uint8.
Masks and 2D boxes (with class labels) ride along as their own files.
"""

from __future__ import annotations

import io
import json
import numbers
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from trackline.data_types import png
from trackline.data_types.base import (
    Media,
    full_typename,
    is_numpy_array,
    is_torch_tensor,
    to_numpy,
    warn,
)

if TYPE_CHECKING:
    from trackline.data_types.binding import Binder

FILE_TYPES = ("png", "jpg", "jpeg", "bmp")
_PIL_FORMAT = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "bmp": "BMP"}
# PNGs Pillow still writes (modes other than L/LA/RGB/RGBA, PIL images with an ICC profile or
# transparency): zlib level 3, about twice as fast as PIL's default 6, files 0-40% larger.
PNG_COMPRESS_LEVEL = 3


def _pil() -> Any:
    try:
        from PIL import Image as PILImage
    except ImportError:  # pragma: no cover - Pillow is a dependency
        raise ImportError('trackline.Image needs Pillow: pip install pillow') from None
    return PILImage


def _own_png(mode: str, info: Mapping[str, Any]) -> bool:
    """Whether trackline's PNG writer gives the file Pillow would (Pillow also keeps these two chunks)."""
    return mode in png.MODES and "icc_profile" not in info and "transparency" not in info


def _is_pil(obj: Any) -> bool:
    return (type(obj).__module__ or "").startswith("PIL.") and hasattr(obj, "save") and hasattr(obj, "mode")


def rescale_to_uint8(data: Any, normalize: bool = True) -> Any:
    """W&B's rescaling: [0,1] * 255, [-1,1] -> [0,255], else clip; then uint8."""
    import numpy as np

    if data.dtype == np.uint8:
        return data
    if data.dtype.kind not in "biuf":
        raise TypeError(f"Image data must be numeric, got dtype {data.dtype}")
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        raise ValueError(
            "Image data contains NaN or infinite values; replace them (for example with "
            "numpy.nan_to_num) before logging"
        )
    if not normalize:
        return data.astype(np.uint8)
    arr = data.astype(np.float32) if data.dtype.kind != "f" else data
    lo, hi = float(arr.min()), float(arr.max())
    if lo >= 0 and hi <= 1:
        arr = arr * 255.0
    elif lo >= -1 and hi <= 1:
        arr = (arr + 1.0) * 127.5
    else:
        arr = np.clip(arr, 0, 255)
    return arr.astype(np.uint8)


def guess_mode(shape: Sequence[int], file_type: str | None) -> str:
    channels = shape[-1]
    if len(shape) == 2 or channels == 1:
        return "L"
    if channels == 3:
        return "RGB"
    if channels == 4:
        if file_type in ("jpg", "jpeg"):
            warn("JPEG format does not support transparency. Ignoring alpha channel.")
            return "RGB"
        return "RGBA"
    raise ValueError(f"Un-supported shape for image conversion {list(shape)}")


class Classes:
    """A set of class ids and names (W&B: ``wandb.Classes``)."""

    def __init__(self, class_set: Sequence[Mapping[str, Any]]) -> None:
        checked: list[dict[str, Any]] = []
        for item in class_set:
            if not isinstance(item, Mapping) or "id" not in item or "name" not in item:
                raise TypeError(f"classes: every class must be a dict with 'id' and 'name', got {item!r}")
            checked.append({"id": int(item["id"]), "name": str(item["name"])})
        self._class_set = checked

    def to_json(self, run: Any = None) -> dict[str, Any]:
        return {"type": "classes", "class_set": self._class_set}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Classes) and self._class_set == other._class_set


def _check_labels(labels: Any, what: str) -> dict[int, str]:
    if not isinstance(labels, Mapping):
        raise TypeError(f"{what}: class_labels must be a dictionary of numbers to strings")
    out: dict[int, str] = {}
    for k, v in labels.items():
        if not isinstance(k, numbers.Number) or isinstance(k, bool) or not isinstance(v, str):
            raise TypeError(f"{what}: Class labels must be a dictionary of numbers to strings")
        out[int(k)] = v  # type: ignore[call-overload]
    return out


class ImageMask(Media):
    """A segmentation mask over an image (W&B: ``wandb.data_types.ImageMask``)."""

    SUBDIR = "media/images/mask"
    _log_type = "mask"

    def __init__(self, val: Mapping[str, Any], key: str) -> None:
        super().__init__()
        import numpy as np

        if not isinstance(val, Mapping):
            raise TypeError(f"masks[{key!r}] must be a dict with 'mask_data' (or 'path') and 'class_labels'")
        self._key = key
        if "path" in val:
            path = str(val["path"])
            if not os.path.isfile(path):
                raise FileNotFoundError(f"masks[{key!r}]: no mask file at {path!r}")
            self._set_source(path, ".mask.png")
            labels = val.get("class_labels")
            self._labels = _check_labels(labels, f"masks[{key!r}]") if labels is not None else {}
            return
        if "mask_data" not in val:
            raise TypeError(
                f'masks[{key!r}]: Missing key "mask_data": An image mask requires mask data: a 2D array '
                "representing the predictions"
            )
        data = to_numpy(val["mask_data"], f"masks[{key!r}]['mask_data']")
        if data.ndim != 2:
            raise TypeError(f"masks[{key!r}]: mask_data must be a 2D array, got shape {list(data.shape)}")
        if data.size == 0:
            raise ValueError(f"masks[{key!r}]: mask_data is empty (shape {list(data.shape)})")
        if data.dtype.kind not in "biu" and not (data.dtype.kind == "f" and np.isfinite(data).all()):
            raise TypeError(f"masks[{key!r}]: Mask data must be integers between 0 and 255")
        if not ((data >= 0).all() and (data <= 255).all()):
            raise TypeError(f"masks[{key!r}]: Mask data must be integers between 0 and 255")
        if "class_labels" in val:
            self._labels = _check_labels(val["class_labels"], f"masks[{key!r}]")
        else:
            self._labels = {int(c): f"class_{int(c)}" for c in np.unique(data).astype(np.int32).tolist()}
        self._set_bytes(png.encode(data.astype(np.uint8)), ".mask.png")

    @property
    def class_labels(self) -> dict[int, str]:
        return dict(self._labels)

    def _ref_json(self) -> dict[str, Any]:
        out = super()._ref_json()
        out["class_labels"] = {str(k): v for k, v in self._labels.items()}
        return out


def _has_num(d: Mapping[str, Any], k: str) -> bool:
    return k in d and isinstance(d[k], numbers.Number) and not isinstance(d[k], bool)


class BoundingBoxes2D(Media):
    """2D boxes over an image (W&B: ``wandb.data_types.BoundingBoxes2D``)."""

    SUBDIR = "media/metadata/boxes2D"
    _log_type = "boxes2D"

    def __init__(self, val: Mapping[str, Any], key: str) -> None:
        super().__init__()
        if not isinstance(val, Mapping):
            raise TypeError(f"boxes[{key!r}] must be a dict with 'box_data' and 'class_labels'")
        self._key = key
        boxes = val.get("box_data")
        if not isinstance(boxes, list):
            raise TypeError(f"boxes[{key!r}]: Boxes must be a list (box_data)")
        clean_boxes: list[dict[str, Any]] = []
        for box in boxes:
            clean_boxes.append(self._check_box(box, key))
        if "class_labels" in val:
            self._labels = _check_labels(val["class_labels"], f"boxes[{key!r}]")
        else:
            ids = sorted({int(b["class_id"]) for b in clean_boxes if "class_id" in b})
            self._labels = {c: f"class_{c}" for c in ids}
        self._boxes = clean_boxes
        body = {"box_data": clean_boxes, "class_labels": {str(k): v for k, v in self._labels.items()}}
        self._set_bytes(json.dumps(body, separators=(",", ":")).encode(), ".boxes2D.json")

    @staticmethod
    def _check_box(box: Any, key: str) -> dict[str, Any]:
        where = f"boxes[{key!r}]"
        if not isinstance(box, Mapping):
            raise TypeError(f"{where}: every box must be a dict with a 'position'")
        box = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in box.items()}
        error = (f"{where}: Each box must contain a position with: middle, width, and height or "
                 "minX, maxX, minY, maxY.")
        pos = box.get("position")
        if not isinstance(pos, Mapping):
            raise TypeError(error)
        pos = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in pos.items()}
        ok = ("middle" in pos and len(pos["middle"]) == 2 and _has_num(pos, "width") and _has_num(pos, "height")) or all(
            _has_num(pos, k) for k in ("minX", "maxX", "minY", "maxY")
        )
        if not ok:
            raise TypeError(error)
        box["position"] = pos
        if "scores" in box:
            if not isinstance(box["scores"], Mapping):
                raise TypeError(f"{where}: Box scores must be a dictionary")
            for k, v in box["scores"].items():
                if not isinstance(k, str):
                    raise TypeError(f"{where}: A score key must be a string")
                if not isinstance(v, numbers.Number):
                    raise TypeError(f"{where}: A score value must be a number")
        if "class_id" in box and (not isinstance(box["class_id"], numbers.Integral) or isinstance(box["class_id"], bool)):
            raise TypeError(f"{where}: A box's class_id must be an integer")
        if "class_id" in box:
            box["class_id"] = int(box["class_id"])
        if "box_caption" in box and not isinstance(box["box_caption"], str):
            raise TypeError(f"{where}: A box's caption must be a string")
        if "domain" in box and box["domain"] not in (None, "pixel"):
            raise ValueError(f"{where}: domain must be 'pixel' or left out (fractions of the image), got {box['domain']!r}")
        return box

    @property
    def class_labels(self) -> dict[int, str]:
        return dict(self._labels)

    @property
    def box_data(self) -> list[dict[str, Any]]:
        return list(self._boxes)

    def _ref_json(self) -> dict[str, Any]:
        out = super()._ref_json()
        out["class_labels"] = {str(k): v for k, v in self._labels.items()}
        return out


class Image(Media):
    """An image to log (W&B: ``wandb.Image``).

    ``data_or_path``: a numpy array ``(H, W[, C])``, a torch tensor ``(C, H, W)``, a PIL image,
    a matplotlib figure, another ``Image`` or a path to an image file.
    """

    SUBDIR = "media/images"
    MAX_ITEMS: ClassVar[int | None] = 108
    MAX_DIMENSION = 65500
    _log_type = "image-file"

    def __init__(
        self,
        data_or_path: Any,
        mode: str | None = None,
        caption: str | None = None,
        grouping: int | None = None,
        classes: Classes | Sequence[Mapping[str, Any]] | None = None,
        boxes: Mapping[str, BoundingBoxes2D | Mapping[str, Any]] | None = None,
        masks: Mapping[str, ImageMask | Mapping[str, Any]] | None = None,
        file_type: str | None = None,
        normalize: bool = True,
    ) -> None:
        super().__init__(caption)
        self._grouping = grouping
        self._image: Any = None
        self._width: int | None = None
        self._height: int | None = None
        self._classes: Classes | None = None
        self._boxes: dict[str, BoundingBoxes2D] | None = None
        self._masks: dict[str, ImageMask] | None = None
        self.format = "png"
        if file_type is not None:
            file_type = str(file_type).lower()
            if file_type not in FILE_TYPES:
                raise ValueError(f"file_type must be one of {list(FILE_TYPES)}, got {file_type!r}")
        if isinstance(data_or_path, Image):
            self._copy_from(data_or_path)
        elif isinstance(data_or_path, (str, os.PathLike)):
            self._from_path(os.fspath(data_or_path))
        else:
            self._from_data(data_or_path, mode, file_type, normalize)
        self._set_meta(classes, boxes, masks)

    # -- construction -------------------------------------------------------------------

    def _copy_from(self, other: Image) -> None:
        for attr in ("_payload", "_source", "_sha256", "_size", "_ext", "_image", "_width", "_height", "format"):
            setattr(self, attr, getattr(other, attr))
        if self._caption is None:
            self._caption = other._caption
        if self._grouping is None:
            self._grouping = other._grouping
        self._classes, self._boxes, self._masks = other._classes, other._boxes, other._masks

    def _from_path(self, path: str) -> None:
        if "://" in path:
            raise ValueError(
                f"data_or_path: {path!r} is a remote reference; trackline.Image logs local files only "
                "(download it first)"
            )
        if not os.path.isfile(path):
            raise FileNotFoundError(f"data_or_path: no image file at {path!r}")
        pil = _pil()
        try:
            with pil.open(path) as im:
                self._width, self._height = im.size
        except Exception as exc:
            raise ValueError(f"data_or_path: {path!r} is not an image Pillow can read ({exc})") from None
        ext = os.path.splitext(path)[1]
        self._set_source(path, ext.lower())
        self.format = ext[1:].lower() or "png"

    def _set_png(self, pixels: Any) -> None:
        """Encode uint8 (H, W[, C]) pixels with trackline's PNG writer (decoded lazily by ``.image``)."""
        self._height, self._width = int(pixels.shape[0]), int(pixels.shape[1])
        self._set_bytes(png.encode(pixels), ".png")

    def _from_data(self, data: Any, mode: str | None, file_type: str | None, normalize: bool) -> None:
        import numpy as np

        pil = _pil()
        self.format = file_type or "png"
        name = full_typename(data)
        if name.startswith("matplotlib.") or getattr(data, "__name__", "") == "matplotlib.pyplot":
            fig = data.gcf() if hasattr(data, "gcf") else data
            if not hasattr(fig, "savefig"):
                raise TypeError(f"data_or_path: cannot make an image from {name}")
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            buf.seek(0)
            image = pil.open(buf)
            image.load()
            if mode:
                image = image.convert(mode)
        elif _is_pil(data):
            image = data.convert(mode) if mode else data
            if self.format == "png" and _own_png(image.mode, image.info):
                self._set_png(np.asarray(image))
                return
        else:
            if data is None or isinstance(data, (str, bytes, numbers.Number)):
                raise TypeError(
                    "data_or_path must be a numpy array, a torch tensor, a PIL image, a matplotlib "
                    f"figure or a path to an image file; got {name}"
                )
            torch = is_torch_tensor(data)
            arr = to_numpy(data, "data_or_path")
            if arr.size == 0:
                raise ValueError(f"data_or_path: the image is empty (shape {list(arr.shape)})")
            if torch and arr.ndim == 3:
                arr = arr.transpose(1, 2, 0)  # CHW -> HWC
            if arr.ndim > 2:
                arr = arr.squeeze()
                if arr.ndim == 1:  # a 1x1 image with channels, or a row: keep two dimensions
                    arr = arr.reshape(1, -1)
            if arr.ndim not in (2, 3):
                raise ValueError(f"Un-supported shape for image conversion {list(arr.shape)}")
            if max(arr.shape[:2]) > self.MAX_DIMENSION:
                raise ValueError(f"data_or_path: images are limited to {self.MAX_DIMENSION} pixels a side, got {list(arr.shape)}")
            mode = mode or guess_mode(arr.shape, file_type)
            arr = rescale_to_uint8(arr, normalize)
            if arr.ndim == 3 and arr.shape[-1] == 1:
                arr = arr[..., 0]
            if self.format == "png" and png.MODES.get(mode) == (arr.shape[2] if arr.ndim == 3 else 1):
                self._set_png(arr)  # what PIL would write, without the PIL round trip
                return
            image = pil.fromarray(arr)
            if image.mode != mode:
                image = image.convert(mode)
        if self.format in ("jpg", "jpeg") and image.mode in ("RGBA", "LA", "P"):
            if image.mode != "P":
                warn("JPEG format does not support transparency. Ignoring alpha channel.")
            image = image.convert("RGB")
        self._image = image
        self._width, self._height = image.size
        buf = io.BytesIO()
        fmt = _PIL_FORMAT[self.format]
        if fmt == "PNG":
            image.save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
        elif fmt == "JPEG":
            image.save(buf, format="JPEG", quality=90)
        else:
            image.save(buf, format=fmt)
        self._set_bytes(buf.getvalue(), "." + self.format)

    def _set_meta(
        self,
        classes: Classes | Sequence[Mapping[str, Any]] | None,
        boxes: Mapping[str, Any] | None,
        masks: Mapping[str, Any] | None,
    ) -> None:
        total: dict[int, str] = {}
        if boxes:
            if not isinstance(boxes, Mapping):
                raise ValueError('Images "boxes" argument must be a dictionary')
            self._boxes = {}
            for k, b in boxes.items():
                box = b if isinstance(b, BoundingBoxes2D) else BoundingBoxes2D(b, str(k))
                self._boxes[str(k)] = box
                total.update(box._labels)
        if masks:
            if not isinstance(masks, Mapping):
                raise ValueError('Images "masks" argument must be a dictionary')
            self._masks = {}
            for k, m in masks.items():
                mask = m if isinstance(m, ImageMask) else ImageMask(m, str(k))
                self._masks[str(k)] = mask
                total.update(mask._labels)
        if classes is not None:
            cs = classes if isinstance(classes, Classes) else Classes(classes)
            total.update({c["id"]: c["name"] for c in cs._class_set})
        if total:
            self._classes = Classes([{"id": k, "name": v} for k, v in sorted(total.items())])

    # -- access -------------------------------------------------------------------------

    @property
    def image(self) -> Any:
        """The image as a PIL image (decoded lazily)."""
        if self._image is None and self._sha256 is not None:
            pil = _pil()
            if self._payload is None and self._source is not None:
                im = pil.open(self._source)
            else:
                im = pil.open(io.BytesIO(self._read_bytes()))
            im.load()
            self._image = im
        return self._image

    @property
    def caption(self) -> str | None:
        return self._caption

    def to_data_array(self) -> list[Any]:
        im = self.image
        if im is None:
            return []
        import numpy as np

        return list(np.asarray(im).tolist())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Image):
            return False
        return (
            self._sha256 == other._sha256
            and self._caption == other._caption
            and self._grouping == other._grouping
            and self._classes == other._classes
        )

    __hash__ = None  # type: ignore[assignment]

    # -- binding ------------------------------------------------------------------------

    def _bind(self, binder: Binder, key: str, step: int | str, id_: str | None = None) -> str:
        rel = super()._bind(binder, key, step, id_)
        for group in (self._boxes or {}, self._masks or {}):
            for item in group.values():
                item._bind(binder, key, step)
        return rel

    def _ref_json(self) -> dict[str, Any]:
        out = super()._ref_json()
        out["format"] = self.format
        if self._width is not None:
            out["width"] = self._width
            out["height"] = self._height
        if self._grouping:
            out["grouping"] = self._grouping
        if self._boxes:
            out["boxes"] = {k: b._ref_json() for k, b in self._boxes.items()}
        if self._masks:
            out["masks"] = {k: m._ref_json() for k, m in self._masks.items()}
        if self._classes is not None:
            out["classes"] = self._classes.to_json()
        return out

    @classmethod
    def seq_to_json(cls, seq: Sequence[Media], binder: Binder, key: str, step: int | str) -> dict[str, Any]:
        images: list[Image] = [s for s in seq if isinstance(s, Image)]
        jsons = [img._bind_json(binder, key, step) for img in images]
        width, height = images[0]._width, images[0]._height
        if any((i._width, i._height) != (width, height) for i in images):
            warn("Images sizes do not match. This will causes images to be display incorrectly in the UI.")
        meta: dict[str, Any] = {
            "_type": "images/separated",
            "width": width,
            "height": height,
            "format": jsons[0]["format"],
            "count": len(jsons),
            "filenames": [j["path"] for j in jsons],
        }
        captions = cls.captions(images)
        if captions:
            meta["captions"] = captions
        if any(j.get("masks") for j in jsons):
            meta["all_masks"] = [j.get("masks") for j in jsons]
        if any(j.get("boxes") for j in jsons):
            meta["all_boxes"] = [j.get("boxes") for j in jsons]
        if any(j.get("classes") for j in jsons):
            meta["classes"] = next(j["classes"] for j in jsons if j.get("classes"))
        return meta


def _is_image_like(value: Any) -> bool:
    return is_numpy_array(value) or is_torch_tensor(value) or _is_pil(value)
