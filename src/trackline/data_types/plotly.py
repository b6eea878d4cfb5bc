"""``Plotly`` (W&B: ``wandb.Plotly``): a plotly figure stored as its JSON; matplotlib figures too."""

from __future__ import annotations

import json
from typing import Any

from trackline.data_types.base import Media, full_typename


def _is_matplotlib(value: Any) -> bool:
    return full_typename(value).startswith("matplotlib.") or getattr(value, "__name__", "") == "matplotlib.pyplot"


class Plotly(Media):
    """A plotly figure (``plotly.graph_objects.Figure``) or a matplotlib figure convertible to one."""

    SUBDIR = "media/plotly"
    _log_type = "plotly-file"

    def __init__(self, val: Any) -> None:
        super().__init__()
        if _is_matplotlib(val):
            val = self._from_matplotlib(val)
        if not hasattr(val, "to_plotly_json"):
            raise ValueError(
                "Logged plots must be plotly figures, or matplotlib plots convertible to plotly via mpl_to_plotly; "
                f"got {full_typename(val)}"
            )
        import plotly.io

        text = plotly.io.to_json(val, validate=False)
        self._figure = json.loads(text)
        self._set_bytes(text.encode("utf-8"), ".plotly.json")

    @staticmethod
    def _from_matplotlib(fig: Any) -> Any:
        fig = fig.gcf() if hasattr(fig, "gcf") else fig
        try:
            from plotly.tools import mpl_to_plotly

            return mpl_to_plotly(fig)
        except Exception as exc:
            raise ValueError(
                "this matplotlib figure cannot be converted to plotly "
                f"({type(exc).__name__}: {exc}); log it as an image with trackline.Image(fig)"
            ) from None

    @property
    def figure(self) -> dict[str, Any]:
        """The figure's JSON (``data`` and ``layout``)."""
        return self._figure

    @classmethod
    def make_plot_media(cls, val: Any) -> Media:
        """A matplotlib figure logged directly: an ``Image`` of it (rendered exactly as matplotlib draws it)."""
        if _is_matplotlib(val):
            from trackline.data_types.image import Image

            return Image(val)
        return cls(val)
