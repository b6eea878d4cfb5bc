"""Terminal output: the init header, warnings, and the end-of-run footer.

Every line goes to stderr with the prefix ``trackline:``. ``silent`` (``WANDB_SILENT``
/ ``TRACKLINE_SILENT``) sends everything to the Python logger instead; ``quiet`` hides
the non-essential lines. rich is imported only for the footer.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

logger = logging.getLogger("trackline")

SPARK_CHARS = "▁▂▃▄▅▆▇█"
_seen_once: set[str] = set()


class Printer:
    def __init__(self, silent: bool = False, quiet: bool = False, show_warnings: bool = True,
                 show_info: bool = True, show_errors: bool = True) -> None:
        self.silent = silent
        self.quiet = quiet
        self.show_warnings = show_warnings
        self.show_info = show_info
        self.show_errors = show_errors

    @property
    def _color(self) -> bool:
        return sys.stderr.isatty() and "NO_COLOR" not in os.environ

    def _prefix(self, level: str | None = None) -> str:
        if self._color:
            p = "\033[1;34mtrackline\033[0m: "
            if level == "WARNING":
                p += "\033[33mWARNING\033[0m "
            elif level == "ERROR":
                p += "\033[31mERROR\033[0m "
            return p
        return "trackline: " + (f"{level} " if level else "")

    def _emit(self, text: str, level: str | None) -> None:
        if self.silent:
            log_level = {"WARNING": logging.WARNING, "ERROR": logging.ERROR}.get(level or "", logging.INFO)
            logger.log(log_level, text)
            return
        prefix = self._prefix(level)
        try:
            sys.stderr.write("".join(prefix + line + "\n" for line in text.splitlines() or [""]))
            sys.stderr.flush()
        except (OSError, ValueError):  # a closed stderr must never break training
            pass

    def info(self, text: str, essential: bool = True) -> None:
        if self.show_info and (essential or not self.quiet):
            self._emit(text, None)

    def warn(self, text: str, once_key: str | None = None) -> None:
        if once_key is not None:
            if once_key in _seen_once:
                return
            _seen_once.add(once_key)
        if self.show_warnings:
            self._emit(text, "WARNING")

    def error(self, text: str) -> None:
        if self.show_errors:
            self._emit(text, "ERROR")


def sparkline(values: Sequence[float], width: int = 40) -> str:
    """Values as ``▁▂▃▄▅▆▇█``; constant series draw all ``▁``; non-finite values are spaces."""
    if not values:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = [values[int(i * step)] for i in range(width)]
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return " " * len(values)
    lo, hi = min(finite), max(finite)
    span = hi - lo
    out = []
    for v in values:
        if not math.isfinite(v):
            out.append(" ")
        elif span == 0:
            out.append(SPARK_CHARS[0])
        else:
            out.append(SPARK_CHARS[min(7, int((v - lo) / span * 7.999))])
    return "".join(out)


def format_summary_value(value: Any) -> str | None:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(round(value, 5)) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value if len(value) <= 20 else value[:20] + "..."
    return None


def preload_footer() -> None:
    """Import what :func:`footer_panels` needs (rich: ~30 ms); ``finish()`` runs this in
    a thread while it waits for the store, so the footer costs no extra time."""
    import rich.console
    import rich.table  # noqa: F401


def footer_panels(
    history: Mapping[str, Sequence[float]],
    summary: Mapping[str, Any],
    max_history: int = 10,
    max_summary: int = 10,
) -> str:
    """The "Run history" and "Run summary" grids, rendered to text with rich."""
    from rich.console import Console
    from rich.table import Table

    hist_keys = sorted(k for k in history if not k.startswith("_"))
    rows_h = [(k, sparkline(history[k])) for k in hist_keys[:max_history]]
    if len(hist_keys) > max_history:
        rows_h.append((f"+{len(hist_keys) - max_history}", "..."))
    summ = []
    for k in sorted(summary):
        if k.startswith("_"):
            continue
        text = format_summary_value(summary[k])
        if text is not None:
            summ.append((k, text))
    rows_s = summ[:max_summary]
    if len(summ) > max_summary:
        rows_s.append((f"+{len(summ) - max_summary}", "..."))
    if not rows_h and not rows_s:
        return ""
    grid = Table.grid(padding=(0, 4))
    grid.add_column()
    grid.add_column()
    left = Table.grid(padding=(0, 1))
    left.add_column(justify="right")
    left.add_column()
    for k, v in rows_h:
        left.add_row(k, v)
    right = Table.grid(padding=(0, 1))
    right.add_column(justify="right")
    right.add_column()
    for k, v in rows_s:
        right.add_row(k, v)
    grid.add_row("Run history:" if rows_h else "", "Run summary:" if rows_s else "")
    grid.add_row(left, right)
    console = Console(file=None, width=120, color_system=None, force_terminal=False, record=True)
    with console.capture() as cap:
        console.print(grid)
    return cap.get().rstrip()


# -- W&B's module-level terminal helpers: wandb.termlog / termwarn / termerror --------------


def _current_printer() -> Printer:
    """The global run's printer, else one that follows the silence variables."""
    import trackline

    run = getattr(trackline, "run", None)
    printer = getattr(run, "_printer", None)
    if isinstance(printer, Printer):
        return printer
    silent = any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
                 for name in ("TRACKLINE_SILENT", "WANDB_SILENT"))
    return Printer(silent=silent)


def _term(text: str, level: str | None, newline: bool, repeat: bool, prefix: bool) -> None:
    text = str(text)
    if not repeat:
        key = f"term:{level}:{text}"
        if key in _seen_once:
            return
        _seen_once.add(key)
    printer = _current_printer()
    shown = {None: printer.show_info, "WARNING": printer.show_warnings, "ERROR": printer.show_errors}[level]
    if not shown:
        return
    if printer.silent or (prefix and newline):
        printer._emit(text, level)
        return
    lines = text.splitlines() or [""]
    head = printer._prefix(level) if prefix else ""
    try:
        sys.stderr.write("\n".join(head + line for line in lines) + ("\n" if newline else ""))
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def termlog(string: str = "", newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """Print ``string`` to stderr as trackline's own lines are (``trackline: ...``); W&B's ``termlog``.

    ``repeat=False`` prints a given text once per process; silent mode sends it to the
    ``trackline`` logger instead.
    """
    _term(string, None, newline, repeat, prefix)


def termwarn(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """``termlog`` as a warning (``trackline: WARNING ...``)."""
    _term(string, "WARNING", newline, repeat, prefix)


def termerror(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """``termlog`` as an error (``trackline: ERROR ...``)."""
    _term(string, "ERROR", newline, repeat, prefix)
