"""trackline's data types (W&B: ``wandb.Image``, ``wandb.Table``...), imported on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trackline.data_types.audio import Audio
    from trackline.data_types.base import Media, WBValue
    from trackline.data_types.histogram import Histogram
    from trackline.data_types.html import Html
    from trackline.data_types.image import BoundingBoxes2D, Classes, Image, ImageMask
    from trackline.data_types.object3d import Object3D
    from trackline.data_types.plotly import Plotly
    from trackline.data_types.table import Table
    from trackline.data_types.video import Video

_WHERE = {
    "Audio": "audio",
    "BoundingBoxes2D": "image",
    "Classes": "image",
    "Histogram": "histogram",
    "Html": "html",
    "Image": "image",
    "ImageMask": "image",
    "Media": "base",
    "Object3D": "object3d",
    "Plotly": "plotly",
    "Table": "table",
    "Video": "video",
    "WBValue": "base",
}

__all__ = [
    "Audio",
    "BoundingBoxes2D",
    "Classes",
    "Histogram",
    "Html",
    "Image",
    "ImageMask",
    "Media",
    "Object3D",
    "Plotly",
    "Table",
    "Video",
    "WBValue",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'trackline.data_types' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"trackline.data_types.{module}"), name)
