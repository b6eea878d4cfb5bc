"""Showing a run in Jupyter: an iframe of its page in the local UI, or a static summary."""

from __future__ import annotations

import html
import socket
from typing import Any
from urllib.parse import urlparse


def ui_is_up(url: str, timeout: float = 0.2) -> bool:
    """Whether something listens at the UI's host and port (no request is made)."""
    parsed = urlparse(url)
    host = parsed.hostname or "127.0.0.1"
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def run_html(run: Any, height: int = 420, hidden: bool = False) -> str:
    url = run.url
    style = f"border:none;width:100%;height:{int(height)}px;"
    if hidden:
        style += "display:none;"
    if url and ui_is_up(url):
        frame = f"<iframe src='{html.escape(url, quote=True)}?jupyter=true' style='{style}'></iframe>"
        if hidden:
            button = (
                "<button onClick='this.nextSibling.style.display=\"block\";this.style.display=\"none\";'>"
                "Display trackline run</button>"
            )
            return button + frame
        return frame
    return static_summary(run)


def static_summary(run: Any) -> str:
    """A self-contained HTML card: name, state, config and summary (no UI needed)."""
    try:
        summary = {k: v for k, v in run.summary.items() if not str(k).startswith("_")}
    except Exception:
        summary = {}
    config = {k: v for k, v in run.config.items()}

    def table(title: str, items: dict[str, Any]) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))[:200]}</td></tr>"
            for k, v in sorted(items.items())[:50]
        )
        return f"<h4>{title}</h4><table>{rows or '<tr><td>(empty)</td></tr>'}</table>"

    name = html.escape(str(run.name or run.id))
    where = html.escape(run.settings.sync_dir)
    hint = "Start <code>trackline ui</code> to see the run's charts."
    return (
        f"<div class='trackline-run'><h3>{name}</h3><p>{html.escape(run.path)} · {where}</p>"
        f"<p>{hint}</p>{table('Config', config)}{table('Summary', summary)}</div>"
    )


def show(markup: str) -> bool:
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:
        return False
    if get_ipython() is None:
        return False
    display(HTML(markup))
    return True
