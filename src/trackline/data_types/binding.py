"""Turning data types in a ``log()`` call or a summary write into JSON references.

``Run.log`` encodes the call as it is first (the fast path for scalars). Only when that
fails, because a value is a data type that needs the run (an ``Image``), a DataFrame,
a figure or a ``plot.*`` chart, does it call :func:`prepare_row`, which writes the
media files, records them as run files in one FILES record (before the history record,
so a crash never leaves a reference without its file), and returns the row with JSON
references in place of the objects. A value that cannot be converted is dropped with a
warning naming its key; the other keys are kept.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from trackline.data_types.base import Media, WBValue, full_typename
from trackline.data_types.spare_files import SpareFiles
from trackline.data_types.table import Table
from trackline.sdk import values
from trackline.storage.paths import move_into

if TYPE_CHECKING:
    from trackline.sdk.run import Run

_MAX_DEPTH = 32
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_OPEN_SPARE = os.O_WRONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def write_file(dest: str, media: Media, spares: SpareFiles | None = None) -> None:
    """Write ``media``'s bytes to ``dest`` (created with its folders), unless a file of that size is there.

    The name holds the content's sha256, so an existing file of the right size is this
    content (a retry, or the same value bound twice). With ``spares``, the bytes go into a
    spare file made ahead of time, which is then renamed to ``dest`` (no inode is created
    here; see ``spare_files.py``). Otherwise the file is written in place, not through a
    temporary name and a rename (a third of the cost of a small file): nothing refers to it
    until the FILES record that follows, and a partial file left by a failed write is
    removed (or, after SIGKILL, has the wrong size and is rewritten).
    """
    try:
        if os.stat(dest).st_size == media._size:
            return
        exists = True
    except FileNotFoundError:
        exists = False
    spare = spares.take() if spares is not None and not exists else None
    if spare is not None and _write_spare(spare, dest, media):
        return
    try:
        fd = os.open(dest, _CREATE, 0o644)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        fd = os.open(dest, _CREATE, 0o644)
    except FileExistsError:
        fd = os.open(dest, (_CREATE & ~os.O_EXCL) | os.O_TRUNC, 0o644)
    _fill(fd, media, dest)


def _write_spare(spare: str, dest: str, media: Media) -> bool:
    """Fill the spare file and rename it to ``dest``; False if the spare is gone (then write in place)."""
    try:
        fd = os.open(spare, _OPEN_SPARE)
    except FileNotFoundError:
        return False
    _fill(fd, media, spare)
    move_into(spare, dest)
    return True


def _fill(fd: int, media: Media, path: str) -> None:
    """Write ``media``'s bytes to ``fd`` and close it; on failure remove ``path`` and raise."""
    try:
        if media._payload is not None:
            _write_all(fd, media._payload)
        else:
            assert media._source is not None
            with open(media._source, "rb") as src:
                while chunk := src.read(1 << 20):
                    _write_all(fd, chunk)
    except BaseException:
        os.close(fd)
        _remove(path)
        raise
    os.close(fd)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class Binder:
    """Writes media files into one run's folder and records them as run files in one batch."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.root: str = run.dir
        spares = getattr(run, "_spare_files", None)
        self.spares: SpareFiles | None = spares() if spares is not None else None
        self.pending: list[str] = []
        self._seen: set[str] = set()
        self.tables: list[tuple[str, Table]] = []  # written anew at a log() step: run_table artifacts

    def write(self, rel: str, media: Media) -> None:
        if rel in self._seen:
            return
        self._seen.add(rel)
        write_file(os.path.join(self.root, *rel.split("/")), media, self.spares)
        self.pending.append(rel)

    def flush(self) -> None:
        if self.pending:
            self.run._add_files(self.pending, "now", own=True)
            self.pending = []

    def table(self, key: str, table: Table, step: int | str) -> dict[str, Any]:
        """Bind a Table; one written anew at a ``log()`` step is also kept for its artifact (W&B)."""
        fresh = table._logged is None and table.log_mode != "INCREMENTAL" and not isinstance(step, str)
        out = table._bind_json(self, key, step)
        if fresh:
            self.tables.append((key, table))
        return out


def _media_list(value: Any) -> type[Media] | None:
    if not isinstance(value, (list, tuple)) or not value:
        return None
    cls = type(value[0])
    if not issubclass(cls, Media):
        return None
    if all(type(v) is cls for v in value):
        return cls
    return None


def _is_dataframe(value: Any) -> bool:
    t = type(value)
    return t.__name__ == "DataFrame" and (t.__module__ or "").startswith(("pandas", "polars"))


def _figure_kind(value: Any) -> str | None:
    name = full_typename(value)
    if name.startswith("matplotlib.") and (hasattr(value, "savefig") or name == "matplotlib.pyplot"):
        return "matplotlib"
    if getattr(value, "__name__", "") == "matplotlib.pyplot":
        return "matplotlib"
    if name.startswith("plotly.") and hasattr(value, "to_plotly_json"):
        return "plotly"
    return None


def convert(binder: Binder, key: str, value: Any, step: int | str, depth: int = 0) -> Any:
    """``value`` with every data type in it replaced by its JSON reference (files written)."""
    if isinstance(value, Table):
        return binder.table(key, value, step)
    if isinstance(value, WBValue):
        return value._bind_json(binder, key, step)
    if isinstance(value, dict):
        if depth >= _MAX_DEPTH:
            return value
        return {k: convert(binder, str(k), v, step, depth + 1) for k, v in value.items()}
    cls = _media_list(value)
    if cls is not None:
        items = list(value)
        if cls.MAX_ITEMS is not None and len(items) > cls.MAX_ITEMS:
            binder.run._warn(
                f"Only {cls.MAX_ITEMS} {cls.__name__} will be uploaded (key {key!r} has {len(items)}).",
                once_key=f"max-items:{key}",
            )
            items = items[: cls.MAX_ITEMS]
        return cls.seq_to_json(items, binder, key, step)
    if isinstance(value, (list, tuple)) and any(isinstance(v, (WBValue, dict, list, tuple)) for v in value):
        if any(isinstance(v, Media) for v in value):
            return [convert(binder, key, v, step, depth + 1) for v in value]
        return value
    if _is_dataframe(value):
        return binder.table(key, Table(dataframe=value), step)
    kind = _figure_kind(value)
    if kind == "plotly":
        from trackline.data_types.plotly import Plotly

        return Plotly(value)._bind_json(binder, key, step)
    if kind == "matplotlib":
        from trackline.data_types.plotly import Plotly

        return Plotly.make_plot_media(value)._bind_json(binder, key, step)
    return value


def _chart(run: Run, binder: Binder, key: str, chart: Any, step: int | str, row: dict[str, Any]) -> None:
    """A ``plot.*`` chart: its table goes to history as ``<key>_table``, its spec to config."""
    from trackline.records import kinds

    table_key = chart.table_key(key)
    row[table_key] = binder.table(table_key, chart.table, step)
    internal = dict(run._config._items.get("_wandb") or {})
    visualize = dict(internal.get("visualize") or {})
    visualize[key] = chart.config_value(table_key)
    internal["visualize"] = visualize
    run._config._items["_wandb"] = internal
    run._write([kinds.CONFIG, {"_wandb": internal}, []])


def prepare_row(run: Run, data: dict[str, Any], step: int) -> dict[str, Any]:
    """The slow path of ``Run.log``: data types -> files + JSON; unloggable values dropped with a warning."""
    from trackline.plot.custom_chart import CustomChart

    binder = Binder(run)
    out: dict[str, Any] = {}
    for key, value in data.items():
        try:
            if isinstance(value, CustomChart):
                _chart(run, binder, key, value, step, out)
                continue
            out[key] = convert(binder, key, value, step)
        except Exception as exc:  # one bad value never stops training (DESIGN invariant 4)
            run._warn_key(key, f"Dropped the value of key {key!r} ({type(value).__name__}): {_reason(exc)}")
    binder.flush()
    if binder.tables:  # after the files record, before the history row
        from trackline.artifacts.run_tables import log_tables

        log_tables(run, binder.tables)
    return values.clean(out, run._encode, run._warn_key)


def prepare_summary(run: Run, path: list[str], value: Any) -> Any:
    """A summary value with data types replaced by JSON references (files named ``<key>_summary_<sha>``)."""
    binder = Binder(run)
    try:
        return convert(binder, path[-1] if path else "summary", value, "summary")
    finally:
        binder.flush()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, (ValueError, TypeError, values.Unloggable)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
