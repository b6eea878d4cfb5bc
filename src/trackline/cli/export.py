"""``trackline export``: every point of a run or a project to CSV, Parquet or JSON lines.

Streams: the runs are read in windows of about 131k rows (a big run's window by window,
small runs several to a window) and each window is written as it is read, so memory stays
flat whatever the size. A thread reads each window and builds what the format writes
(``export_writers``: an Arrow table for Parquet) while this thread writes the one before.
One row per (run, step) where any exported key was logged; a project export has a
``run_id`` column first. Values missing at a step are empty (CSV) or null (Parquet, JSON).
The file is written under a temporary name and renamed when complete, so a partial export
never looks finished.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, TypeVar

import click

from trackline.cli.common import (
    PathError,
    dumps,
    is_project,
    is_tty,
    open_api,
    parse_filters,
    project_path,
    resolve_project,
    resolve_run,
    store_option,
)

if TYPE_CHECKING:
    from trackline.cli.export_writers import Part

FORMATS = ("csv", "parquet", "jsonl")
COMPRESSIONS = ("zstd", "lz4", "snappy", "none")
T = TypeVar("T")
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class ExportError(click.ClickException):
    """A window could not be read or converted; names its runs. The file is not written."""


def read_ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``items``, produced by a thread up to ``depth`` ahead of the consumer.

    The export reads the next window and builds its Arrow table (SQLite and numpy release
    the GIL) while the current one is encoded and written (Arrow releases it too): on two
    cores the read costs almost nothing. Memory stays bounded (``depth`` windows). An error
    in either thread stops both and is raised here, with its own traceback.
    """
    q: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fill() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((False, None))
        except BaseException as exc:  # handed to the consumer, raised there
            put((False, exc))

    thread = threading.Thread(target=fill, name="trackline-export-read", daemon=True)
    thread.start()
    try:
        while True:
            more, item = q.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        thread.join()


#: Linux starts writing a range's dirty pages back, without waiting for the disk, when it is
#: told they are not needed soon (``POSIX_FADV_DONTNEED``; pages still dirty stay cached).
_KICK_WRITEBACK = sys.platform.startswith("linux") and hasattr(os, "posix_fadvise")


@contextmanager
def write_behind(fd: int) -> Iterator[Callable[[], None]]:
    """``written()``, to call after each window is written to ``fd``, so the disk writes
    what is written so far while the next windows are encoded, and the ``fsync`` before the
    rename waits for the last window only: the export takes about max(encoding, disk)
    instead of encoding + disk (on a 150 MB/s disk, 36 MB add ~0.24 s otherwise).

    On Linux, ``written()`` has the kernel start writing back the bytes written since the
    last call (``posix_fadvise(POSIX_FADV_DONTNEED)`` on that range), and returns: no
    thread, and no wait for a journal commit per window. 10M rows in-process, 8 alternating
    processes each: 29.3-30.7 ms against 31.3-34.0 ms with the thread below, in three
    rounds. Elsewhere a thread ``fdatasync``s the file after each window."""
    if _KICK_WRITEBACK:
        start = 0

        def kick() -> None:
            nonlocal start
            with suppress(OSError):  # advice only: the fsync after the export reports what matters
                end = os.lseek(fd, 0, os.SEEK_CUR)  # what reached the file (not a buffer's)
                if end > start:
                    os.posix_fadvise(fd, start, end - start, os.POSIX_FADV_DONTNEED)
                    start = end

        yield kick
        return
    pending, stop = threading.Event(), threading.Event()
    sync = getattr(os, "fdatasync", os.fsync)  # macOS and Windows have no fdatasync

    def flush() -> None:
        while not stop.is_set():
            pending.wait()
            pending.clear()
            if not stop.is_set():
                with suppress(OSError):  # the fsync after the export reports what matters
                    sync(fd)

    thread = threading.Thread(target=flush, name="trackline-export-sync", daemon=True)
    thread.start()
    try:
        yield pending.set
    finally:
        stop.set()
        pending.set()
        thread.join()


def _failed(run_ids: list[str], what: str, exc: Exception) -> ExportError:
    if len(run_ids) == 1:
        runs = f"run {run_ids[0]}"
    else:
        more = f" and {len(run_ids) - 10} more" if len(run_ids) > 10 else ""
        runs = f"runs {', '.join(run_ids[:10])}{more}"
    return ExportError(f"reading {runs} of {what} failed: {type(exc).__name__}: {exc}")


def pages_options(options: dict[str, Any]) -> bool:
    """Whether the Parquet options are the ones stored pages are written with: zstd, the
    default encodings (and no ``TRACKLINE_EXPORT_PYARROW=1``)."""
    return (options.get("compression") == "zstd" and not options.get("plain")
            and os.environ.get("TRACKLINE_EXPORT_PYARROW") != "1")


def _remove_stale_parts(output: str) -> None:
    """Delete ``OUTPUT.<pid>.part`` files an export to ``output`` left when it was killed
    (its process is gone); one of an export still running is kept."""
    import glob
    import re

    for part in glob.glob(glob.escape(output) + ".*.part"):
        m = re.fullmatch(re.escape(output) + r"\.(\d+)\.part", part)
        if m is None or int(m.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            with suppress(OSError):
                os.remove(part)
        except (OSError, OverflowError):
            pass  # alive and someone else's, or not a process id: not ours to delete


class RunRow:
    """A run's row read through the driver (``_direct``), with what the export uses of the
    query API's ``Run`` (which imports numpy and builds the run's summary: neither is needed
    to copy pages)."""

    __slots__ = ("_row",)
    #: What the export reads of a run's row (the reader: its pk and rewinds): the rest
    #: (config, summary, metadata) is not read, nor its JSON decoded.
    COLUMNS = ("pk", "run_id", "history_rows", "history_cutoffs")

    def __init__(self, row: dict[str, Any]) -> None:
        self._row = row

    @property
    def id(self) -> str:
        return str(self._row["run_id"])

    @property
    def history_rows(self) -> int:
        return int(self._row.get("history_rows") or 0)


def _direct(api: Any, target: str) -> tuple[Any, bool, str, list[dict[str, Any]]] | None:
    """``(DirectReads, is a project, what, run rows)`` when ``target`` names a project or
    a run by path (``entity/project/run_id``, ``project/run_id``) of a SQLite store at the
    schema's head: read through the driver, without importing SQLAlchemy (~0.15 s of the
    command). None otherwise: the query API finds it, or says why not (bare run ids and run
    folders too)."""
    from trackline.storage.sql.direct import DirectReads

    source = DirectReads.open(api.settings.store_url)
    if source is None:
        return None
    named = project_path(api, target)
    rows = source.project_runs(*named, RunRow.COLUMNS) if named else None
    if rows is not None:
        return source, True, "/".join(named or ()), rows
    # A run by path; a bare run id (searched in every project) and a run folder are the
    # query API's.
    if ("/" in target.strip("/") or ":" in target) and not os.path.isdir(target):
        with suppress(ValueError):
            entity, project, run_id = api._parse_path(target)
            row = source.get_run(entity, project, run_id, RunRow.COLUMNS)
            if row is not None:
                return source, False, f"{entity}/{project}/{run_id}", [row]
    source.close()
    return None


def _windows(reader: Any, runs: list[Any], columns: list[str], what: str) -> Iterator[list[Part]]:
    """The runs' history, in run order, in windows of about ``EXPORT_WINDOW`` rows: a big
    run's windows one by one, small runs several to a window, read together (sized by their
    ``history_rows``). A sweep of 1,000 runs x 1,000 steps makes ~8 windows, not 1,000 of
    four queries and a Parquet row group each."""
    from trackline.api.history import union_steps
    from trackline.api.scan import windows
    from trackline.cli.export_writers import EXPORT_WINDOW

    small: list[Any] = []
    rows = 0

    def read_small() -> Iterator[list[Part]]:
        try:
            got = reader.columns_many([r._row for r in small], columns)
        except Exception as exc:
            raise _failed([r.id for r in small], what, exc) from exc
        parts = [(r.id, union_steps(cols.values()), cols) for r, cols in zip(small, got, strict=True)]
        parts = [p for p in parts if len(p[1])]
        if parts:
            yield parts

    for run in runs:
        n = run.history_rows
        small_run = 0 < n <= EXPORT_WINDOW  # 0: no count, so no promise on memory either
        if small and (rows + n > EXPORT_WINDOW or not small_run):
            yield from read_small()
            small, rows = [], 0
        if small_run:
            small.append(run)
            rows += n
            continue
        try:
            for steps, cols in windows(reader, run._row, columns, [], None, None, page_size=EXPORT_WINDOW):
                yield [(run.id, steps, cols)]
        except Exception as exc:
            raise _failed([run.id], what, exc) from exc
    if small:
        yield from read_small()


@contextmanager
def _progress(description: str, total: int | None, show: bool) -> Iterator[Callable[[int], None]]:
    """``advance(rows)`` of a progress bar on stderr. Without one, rich is not imported at
    all (~30 ms of a command that takes well under a second)."""
    if not show:
        yield lambda rows: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from trackline.cli.common import console

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console(stderr=True)) as bar:
        task = bar.add_task(description, total=total)
        yield lambda rows: bar.advance(task, rows)
        done = bar.tasks[0].completed  # the total was the runs' row counts: end the bar at what was written
        bar.update(task, total=done, completed=done)


@click.command("export")
@click.argument("target", metavar="RUN|PROJECT")
@click.option("--format", "-F", "fmt", type=click.Choice(FORMATS), help="Default: from the -o file's suffix.")
@click.option("--keys", "-k", "keys", multiple=True, metavar="KEY",
              help="Metrics to export (repeat, or comma-separate); default: all.")
@click.option("--output", "-o", "output", metavar="PATH", help="File to write ('-': standard output).")
@click.option("--filter", "-f", "filter_text", metavar="JSON", help="For a project: which runs (W&B filter).")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when a terminal).")
@click.option("--compression", type=click.Choice(COMPRESSIONS), default=None,
              help="Parquet compression (default zstd, level 1).")
@click.option("--plain-encoding", "plain", is_flag=True,
              help="Parquet: PLAIN pages only, for readers without Parquet 2 encodings.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@store_option
def export_cmd(target: str, fmt: str | None, keys: tuple[str, ...], output: str | None, filter_text: str | None,
               progress: bool | None, compression: str | None, plain: bool, as_json: bool,
               store: str | None) -> None:
    """Export every point of a run, or of every run of a project, unsampled.

    \b
    trackline export me/mnist/abc123 -o abc123.parquet
    trackline export mnist -o mnist.csv -k train/loss -k val/acc
    trackline export mnist -F jsonl -o - -f '{"state": "finished"}' | head
    """
    if fmt is None and output and output != "-":
        fmt = _SUFFIXES.get(os.path.splitext(output)[1].lower())
    if fmt is None:
        raise click.UsageError("give --format csv|parquet|jsonl, or -o FILE ending in .csv, .parquet or .jsonl")
    if output is None:
        raise click.UsageError("give -o PATH (or -o - for standard output)")
    if output == "-" and fmt == "parquet":
        raise click.UsageError("parquet needs a file: give -o FILE.parquet")
    if fmt != "parquet" and (compression is not None or plain):
        raise click.UsageError("--compression and --plain-encoding apply to --format parquet; "
                               "compress CSV or JSON lines with a pipe (-o - | zstd > FILE.zst)")
    writer_options: dict[str, Any] = {"compression": compression or "zstd", "plain": plain} if fmt == "parquet" else {}
    api = open_api(store)
    filters = parse_filters(filter_text)
    # A project or a run to Parquet, on SQLite: the store read through its driver (the
    # pages, and the rest only if a window goes through the reader).
    direct = _direct(api, target) if fmt == "parquet" and filters is None and pages_options(writer_options) else None
    source: Any = None
    if direct is not None:
        source, with_run, what, found = direct
        click.get_current_context().call_on_close(source.close)
        runs: list[Any] = [RunRow(row) for row in found]
    elif with_run := is_project(api, target):
        entity, project = resolve_project(api, target)
        try:
            runs = list(api.runs(f"{entity}/{project}", filters=filters, order="+created_at", per_page=500))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--filter")
        what = f"{entity}/{project}"
    else:
        if filters is not None:
            raise click.UsageError("--filter applies to a project export; TARGET is a run")
        try:
            runs = [resolve_run(api, target)]
        except PathError as exc:
            raise PathError(f"{exc.message} (and {target!r} is not a project)")
        what = "/".join(runs[0].path)
    wanted = [k.strip() for item in keys for k in item.split(",") if k.strip()]
    if source is not None:
        all_keys, text_keys = source.keys_of_runs([r._row["pk"] for r in runs])
    else:
        all_keys, text_keys = api.reader.keys_of_runs([r._row for r in runs])
    if wanted:
        unknown = [k for k in wanted if k not in all_keys]
        if unknown:
            raise click.BadParameter(
                f"no history for {', '.join(map(repr, unknown))} in {what}; "
                f"its metrics: {', '.join(all_keys[:20]) or 'none'}", param_hint="--keys")
    columns = [k for k in (wanted or all_keys) if k != "_step"]
    numeric = {k for k in columns if k not in text_keys}

    def bar() -> Any:
        """The progress bar of either writer: rows out of the runs' counted rows."""
        total = sum(max(r.history_rows, 0) for r in runs) or None
        return _progress(f"export {what}", total, is_tty() if progress is None else progress)

    def pages_apply() -> bool:
        """Whether ``export_pages`` writes this Parquet export: numbers only, the pages'
        options, and a store read in this process (its chunks are the pages)."""
        if not (columns and set(columns) <= numeric and pages_options(writer_options)):
            return False
        if source is not None:
            return True
        from trackline.api.reader import StoreReader

        return isinstance(api.reader, StoreReader)

    def copy_pages(out: Any, written: Callable[[], None]) -> int:
        """Parquet from the store's own pages (``export_pages``), without pyarrow."""
        from trackline.cli.export_pages import PageExport, window_rows

        pages = PageExport(source if source is not None else api.store, lambda: api.reader, columns, with_run, out)
        with bar() as advance:

            def step(rows: int) -> None:
                written()
                advance(rows)

            done = pages.run(runs, window_rows(columns), step, lambda ids, exc: _failed(ids, what, exc))
        pages.close()
        return int(done)

    def run_export(out: Any, written: Callable[[], None] = lambda: None) -> int:
        from trackline.cli.export_writers import WRITERS

        writer = WRITERS[fmt](out, columns, numeric, with_run, **writer_options)
        reader = api.reader
        done = 0

        def prepared() -> Iterator[tuple[int, Any]]:
            """On the reading thread: each window's row count and what the writer takes."""
            for parts in _windows(reader, runs, columns, what):
                try:
                    item = writer.prepare(parts)
                except Exception as exc:
                    raise _failed([run_id for run_id, _, _ in parts], what, exc) from exc
                yield sum(len(steps) for _, steps, _ in parts), item

        try:
            with bar() as advance:
                for n, item in read_ahead(prepared()):
                    writer.write(item)
                    written()
                    done += n
                    advance(n)
        except BaseException:
            with suppress(Exception):  # the error that stopped the export is the one to report
                writer.close()  # now, not when collected (pyarrow's writer would, after its file is closed)
            raise
        writer.close()
        return done

    if output == "-":
        rows = run_export(sys.stdout)
    else:
        tmp = f"{output}.{os.getpid()}.part"
        try:
            os.makedirs(os.path.dirname(os.path.abspath(output)) or ".", exist_ok=True)
            _remove_stale_parts(output)
            open(tmp, "wb").close()  # the folder takes a file: say so now, not after reading
        except OSError as exc:
            raise click.BadParameter(f"cannot write {output!r} there: {exc.strerror or exc}; "
                                     "give a path in a folder you can write to", param_hint="'-o'") from exc
        try:
            if fmt == "parquet" and pages_apply():
                with open(tmp, "wb") as fp:
                    with write_behind(fp.fileno()) as written:
                        rows = copy_pages(fp, written)
                    fp.flush()
                    os.fsync(fp.fileno())
            elif fmt == "parquet":
                from trackline.cli.export_writers import pyarrow_modules

                # A pyarrow file: the Parquet writer's pages reach it without the GIL.
                with pyarrow_modules()[0].OSFile(tmp, "wb") as fb:
                    with write_behind(fb.fileno()) as written:
                        rows = run_export(fb, written)
                    os.fsync(fb.fileno())  # on disk before it gets its name: complete or absent
            else:
                with open(tmp, "w", newline="", encoding="utf-8") as ft:
                    with write_behind(ft.fileno()) as written:
                        rows = run_export(ft, written)
                    ft.flush()
                    os.fsync(ft.fileno())
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        os.replace(tmp, output)
    summary: dict[str, Any] = {"target": what, "format": fmt, "path": output, "runs": len(runs), "rows": rows,
               "columns": (["run_id"] if with_run else []) + ["_step", *columns]}
    if as_json:
        click.echo(dumps(summary, indent=2), err=output == "-")
    else:
        click.echo(f"Exported {rows} rows x {len(summary['columns'])} columns from {len(runs)} run(s) of {what} "
                   f"to {output if output != '-' else 'standard output'}", err=True)
