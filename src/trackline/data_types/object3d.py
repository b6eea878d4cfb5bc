"""``Object3D`` (W&B: ``wandb.Object3D``): point clouds (N x 3/4/6) and glTF/GLB/OBJ/STL files."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from trackline.data_types.base import Media, full_typename, is_numpy_array, to_numpy

if TYPE_CHECKING:
    from trackline.data_types.binding import Binder

SUPPORTED_TYPES = ("obj", "gltf", "glb", "babylon", "stl", "pts.json")
POINT_CLOUD_TYPES = ("lidar/beta",)
_SHAPES = "The shape of the numpy array must be one of either: [[x y z], ...] nx3, [[x y z c], ...] nx4 where c is a category with supported range [1, 14], [[x y z r g b], ...] nx6 where rgb is color"


def _points(data: Any, argument: str) -> Any:
    import numpy as np

    arr = to_numpy(data, argument)
    if arr.ndim != 2 or arr.shape[1] not in (3, 4, 6):
        raise ValueError(f"{argument}: {_SHAPES}; got shape {list(arr.shape)}")
    if arr.shape[0] == 0:
        raise ValueError(f"{argument}: the point cloud is empty (0 points)")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{argument}: points must be numbers, got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{argument}: points contain NaN or infinite values")
    return arr


def _plain(value: Any) -> Any:
    if is_numpy_array(value):
        return value.tolist()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        return value.item()
    return value


def _read_file(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _packed_gltf(content: bytes, folder: str | None, name: str) -> bytes | None:
    """A ``.gltf`` that refers to buffer or image files, packed with them into one GLB
    (the viewer is given one file); None when it is self-contained (or not JSON at all:
    stored as it is, as W&B does)."""
    from trackline.data_types.gltf import needs_packing, pack_glb

    try:
        doc = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None
    if not needs_packing(doc):
        return None
    return pack_glb(doc, folder, name)


class Object3D(Media):
    """A 3D object: a numpy point cloud, a ``{"type": "lidar/beta", "points": ...}`` scene, or a file.

    A ``.gltf`` that refers to ``.bin`` buffers or image files beside it is logged as one
    ``.glb`` holding them all (files outside its folder and http(s) URIs are refused).
    """

    SUBDIR = "media/object3D"
    SUPPORTED_TYPES: ClassVar[tuple[str, ...]] = SUPPORTED_TYPES
    SUPPORTED_POINT_CLOUD_TYPES: ClassVar[tuple[str, ...]] = POINT_CLOUD_TYPES
    _log_type = "object3D-file"

    def __init__(self, data_or_path: Any, caption: str | None = None, file_type: str | None = None, **kwargs: Any) -> None:
        super().__init__(caption)
        self._npoints: int | None = None
        if isinstance(data_or_path, (str, os.PathLike)):
            path = os.fspath(data_or_path)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"data_or_path: no 3D file at {path!r}")
            ext = next((t for t in SUPPORTED_TYPES if path.lower().endswith("." + t)), None)
            if ext is None:
                raise ValueError(f"File '{path}' is not compatible with Object3D: supported types are: {', '.join(SUPPORTED_TYPES)}")
            packed = _packed_gltf(_read_file(path), os.path.dirname(os.path.abspath(path)), path) if ext == "gltf" else None
            if packed is not None:
                self._set_bytes(packed, ".glb")
            else:
                self._set_source(path, "." + ext)
        elif hasattr(data_or_path, "read"):
            if file_type is None:
                raise ValueError("Must pass file type keyword argument when using io objects.")
            if file_type not in SUPPORTED_TYPES:
                raise ValueError("Object 3D only supports numpy arrays or files of the type: " + ", ".join(SUPPORTED_TYPES))
            raw = data_or_path.read()
            content = raw.encode() if isinstance(raw, str) else bytes(raw)
            packed = None
            if file_type == "gltf":  # its files are found beside it when it is an open file
                name = getattr(data_or_path, "name", None)
                if isinstance(name, str) and os.path.isfile(name):
                    packed = _packed_gltf(content, os.path.dirname(os.path.abspath(name)), name)
                else:
                    packed = _packed_gltf(content, None, "the .gltf file object")
            if packed is not None:
                self._set_bytes(packed, ".glb")
            else:
                self._set_bytes(content, "." + file_type)
        elif isinstance(data_or_path, Mapping):
            scene = dict(data_or_path)
            if scene.get("type") not in POINT_CLOUD_TYPES:
                raise ValueError("Type not supported, only 'lidar/beta' is currently supported")
            scene["points"] = _points(scene.get("points"), "data_or_path['points']")
            self._npoints = int(scene["points"].shape[0])
            self._set_bytes(json.dumps(_plain(scene), separators=(",", ":")).encode(), ".pts.json")
        elif is_numpy_array(data_or_path) or hasattr(data_or_path, "__array__") or hasattr(data_or_path, "detach"):
            points = _points(data_or_path, "data_or_path")
            self._npoints = int(points.shape[0])
            self._set_bytes(json.dumps(points.tolist(), separators=(",", ":")).encode(), ".pts.json")
        else:
            raise ValueError(f"data must be a numpy array, dict or a file object, got {full_typename(data_or_path)}")

    @classmethod
    def from_file(cls, data_or_path: Any, file_type: str | None = None) -> Object3D:
        return cls(data_or_path, file_type=file_type)

    @classmethod
    def from_numpy(cls, data: Any) -> Object3D:
        if not is_numpy_array(data):
            raise ValueError("`data` must be a numpy array")
        return cls(data)

    @classmethod
    def from_point_cloud(
        cls,
        points: Sequence[Any],
        boxes: Sequence[Any],
        vectors: Sequence[Any] | None = None,
        point_cloud_type: str = "lidar/beta",
    ) -> Object3D:
        """A lidar scene: points, 3D boxes (``{"corners": 8 x [x,y,z], "label", "color"}``) and vectors."""
        if point_cloud_type not in POINT_CLOUD_TYPES:
            raise ValueError("Point cloud type not supported")
        scene: dict[str, Any] = {"type": point_cloud_type, "points": points, "boxes": _plain(list(boxes))}
        if vectors is not None:
            scene["vectors"] = _plain(list(vectors))
        return cls(scene)

    def _ref_json(self) -> dict[str, Any]:
        out = super()._ref_json()
        if self._npoints is not None:
            out["npoints"] = self._npoints
        return out

    @classmethod
    def seq_to_json(cls, seq: Sequence[Media], binder: Binder, key: str, step: int | str) -> dict[str, Any]:
        jsons = [o._bind_json(binder, key, step) for o in seq]
        return {
            "_type": "object3D",
            "filenames": [j["path"][len(cls.SUBDIR) + 1 :] for j in jsons],
            "count": len(jsons),
            "objects": jsons,
        }


_ = io  # io objects are accepted via duck typing (``.read``)
