"""Stored JSON references -> data type objects, for the query API.

``from_json(ref, files)`` turns ``{"_type": "image-file", "path": ...}`` into an ``Image``
whose bytes are read from ``files`` (anything with ``open(name) -> binary file``: the
API's file source for the run) only when they are needed (``.image``, ``.download()``).
Tables come back with their rows (incremental tables with every increment), and their
media cells as objects too. Other values are returned unchanged.
"""

from __future__ import annotations

import os
import shutil
from typing import IO, Any, Protocol

from trackline.data_types.base import Media


class FileOpener(Protocol):
    def open(self, name: str) -> IO[bytes]: ...


MEDIA_TYPES = frozenset(
    {
        "image-file",
        "audio-file",
        "video-file",
        "html-file",
        "object3D-file",
        "plotly-file",
        "table-file",
        "incremental-table-file",
        "mask",
        "boxes2D",
    }
)
SEQUENCE_TYPES = frozenset({"images/separated", "audio", "videos", "html", "object3D"})


def is_media_ref(value: Any) -> bool:
    return type(value) is dict and value.get("_type") in MEDIA_TYPES | SEQUENCE_TYPES


def _classes() -> dict[str, type[Media]]:
    from trackline.data_types.audio import Audio
    from trackline.data_types.html import Html
    from trackline.data_types.image import BoundingBoxes2D, Image, ImageMask
    from trackline.data_types.object3d import Object3D
    from trackline.data_types.plotly import Plotly
    from trackline.data_types.table import Table
    from trackline.data_types.video import Video

    return {
        "image-file": Image,
        "audio-file": Audio,
        "video-file": Video,
        "html-file": Html,
        "object3D-file": Object3D,
        "plotly-file": Plotly,
        "table-file": Table,
        "incremental-table-file": Table,
        "mask": ImageMask,
        "boxes2D": BoundingBoxes2D,
    }


class _Stored:
    """Where a read-back media object's bytes are."""

    def __init__(self, files: FileOpener, path: str) -> None:
        self.files = files
        self.path = path

    def read(self) -> bytes:
        with self.files.open(self.path) as f:
            return f.read()


def _shell(cls: type[Media], ref: dict[str, Any], files: FileOpener) -> Any:
    obj = cls.__new__(cls)
    Media.__init__(obj, ref.get("caption"))
    path = str(ref["path"])
    obj._path = path
    obj._sha256 = ref.get("sha256")
    obj._size = ref.get("size")
    name = path.rsplit("/", 1)[-1]
    obj._ext = name[name.index(".") :] if "." in name else ""
    obj._stored = _Stored(files, path)  # type: ignore[attr-defined]
    obj._ref = ref  # type: ignore[attr-defined]
    return obj


def from_json(ref: Any, files: FileOpener) -> Any:
    """The object a stored reference stands for (lists of media become lists of objects)."""
    if not isinstance(ref, dict):
        return ref
    kind = ref.get("_type")
    if kind in SEQUENCE_TYPES:
        return _sequence(ref, files)
    if kind not in MEDIA_TYPES or "path" not in ref:
        return ref
    classes = _classes()
    cls = classes[kind]
    if kind in ("table-file", "incremental-table-file"):
        return _table(ref, files)
    obj = _shell(cls, ref, files)
    if kind == "image-file":
        obj.format = ref.get("format") or obj._ext.lstrip(".")
        obj._width, obj._height = ref.get("width"), ref.get("height")
        obj._grouping = ref.get("grouping")
        obj._image = None
        obj._classes = None
        if ref.get("classes"):
            from trackline.data_types.image import Classes

            obj._classes = Classes(ref["classes"].get("class_set") or [])
        obj._masks = {k: from_json(v, files) for k, v in (ref.get("masks") or {}).items()} or None
        obj._boxes = {k: from_json(v, files) for k, v in (ref.get("boxes") or {}).items()} or None
    elif kind in ("mask", "boxes2D"):
        obj._labels = {int(k): v for k, v in (ref.get("class_labels") or {}).items()}
        if kind == "boxes2D":
            import json

            obj._boxes = json.loads(obj._read_bytes()).get("box_data", [])
    elif kind == "audio-file":
        obj._sample_rate, obj._duration = ref.get("sample_rate"), ref.get("duration")
    elif kind == "video-file":
        obj._format = obj._ext.lstrip(".")
        obj._fps = None
        obj._width, obj._height = ref.get("width"), ref.get("height")
    elif kind == "html-file":
        obj.html = obj._read_bytes().decode("utf-8")
    elif kind == "object3D-file":
        obj._npoints = ref.get("npoints")
    elif kind == "plotly-file":
        import json

        obj._figure = json.loads(obj._read_bytes())
    return obj


def _sequence(ref: dict[str, Any], files: FileOpener) -> list[Any]:
    kind = ref["_type"]
    if kind == "images/separated":
        out = []
        captions = ref.get("captions") or []
        masks = ref.get("all_masks") or []
        boxes = ref.get("all_boxes") or []
        for i, path in enumerate(ref.get("filenames") or []):
            one = {"_type": "image-file", "path": path, "format": ref.get("format"),
                   "width": ref.get("width"), "height": ref.get("height")}
            if i < len(captions) and captions[i] is not None:
                one["caption"] = captions[i]
            if i < len(masks) and masks[i]:
                one["masks"] = masks[i]
            if i < len(boxes) and boxes[i]:
                one["boxes"] = boxes[i]
            out.append(from_json(one, files))
        return out
    items = ref.get({"audio": "audio", "videos": "videos", "html": "html", "object3D": "objects"}[kind]) or []
    return [from_json(item, files) for item in items]


def _table(ref: dict[str, Any], files: FileOpener) -> Any:
    from trackline.data_types.table import Table

    paths = [*list(ref.get("previous_increments_paths") or []), ref["path"]]
    parts = []
    for path in paths:
        with files.open(path) as f:
            parts.append(Table.from_parquet(f.read()))
    table = parts[0] if len(parts) == 1 else Table.concat(parts)
    media_cols = [i for i, t in enumerate(table._types) if t in MEDIA_TYPES or t == "mixed" or t == "histogram"]
    if media_cols:
        for row in table.data:
            for i in media_cols:
                if is_media_ref(row[i]):
                    row[i] = from_json(row[i], files)
    table._path = ref["path"]
    table._sha256 = ref.get("sha256")
    table._size = ref.get("size")
    table._ext = ".table.parquet"
    table._stored = _Stored(files, ref["path"])  # type: ignore[attr-defined]
    table._ref = ref  # type: ignore[attr-defined]
    return table


def read_stored(media: Media) -> bytes | None:
    stored = getattr(media, "_stored", None)
    return None if stored is None else stored.read()


def download(media: Media, root: str = ".", replace: bool = False, exist_ok: bool = False) -> str:
    """Write a stored media file to ``root/<its path>`` and return that path."""
    stored = getattr(media, "_stored", None)
    if stored is None or media._path is None:
        raise ValueError(f"this {type(media).__name__} was not read from a stored run; nothing to download")
    base = os.path.abspath(root)
    target = os.path.abspath(os.path.join(base, *media._path.split("/")))
    if os.path.commonpath([target, base]) != base:
        raise ValueError(f"media path {media._path!r} leads outside {root!r}")
    if os.path.exists(target) and not replace:
        if exist_ok:
            return target
        raise ValueError(f"File already exists at {target}, pass replace=True to overwrite or exist_ok=True")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.{os.getpid()}.part"
    with stored.files.open(media._path) as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    os.replace(tmp, target)
    return target
