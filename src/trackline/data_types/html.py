"""``Html`` (W&B: ``wandb.Html``): an HTML document, shown by the UI in a sandboxed iframe."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from trackline.data_types.base import Media, full_typename

if TYPE_CHECKING:
    from trackline.data_types.binding import Binder

# W&B also links its hosted stylesheet; trackline is offline, so only the base target.
_HEAD = '<base target="_blank">'


class Html(Media):
    """HTML to log: a string, a path to an ``.html`` file, or a file object."""

    SUBDIR = "media/html"
    _log_type = "html-file"

    def __init__(self, data: Any, inject: bool = True, data_is_not_path: bool = False) -> None:
        super().__init__()
        if isinstance(data, os.PathLike):
            data = os.fspath(data)
        if isinstance(data, str):
            if not data_is_not_path and data.lower().endswith(".html") and os.path.isfile(data):
                with open(data, encoding="utf-8") as f:
                    text = f.read()
            else:
                text = data
        elif hasattr(data, "read"):
            raw = data.read()
            text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        else:
            raise ValueError(f"data must be a string or an io object, got {full_typename(data)}")
        self.html = text
        if inject:
            self.inject_head()
        self._set_bytes(self.html.encode("utf-8"), ".html")

    def inject_head(self) -> None:
        """Add ``<base target="_blank">`` to the document's head (creating one if needed)."""
        html = self.html
        if "<head>" in html:
            i = html.index("<head>") + len("<head>")
            self.html = html[:i] + _HEAD + html[i:]
        elif "<html>" in html:
            i = html.index("<html>") + len("<html>")
            self.html = html[:i] + "<head>" + _HEAD + "</head>" + html[i:]
        else:
            self.html = "<head>" + _HEAD + "</head>" + html

    @classmethod
    def seq_to_json(cls, seq: Sequence[Media], binder: Binder, key: str, step: int | str) -> dict[str, Any]:
        return {"_type": "html", "count": len(seq), "html": [h._bind_json(binder, key, step) for h in seq]}
