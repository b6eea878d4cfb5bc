"""``trackline export``: every point of a run or a project to CSV, Parquet or JSON lines.

Streams: each run is read window by window (``trackline.api.scan.windows``) and written
as it is read, so memory stays flat whatever the size. One row per (run, step) where any
exported key was logged; a project export has a ``run_id`` column first. Values missing
at a step are empty (CSV) or null (Parquet, JSON). The file is written under a temporary
name and renamed when complete, so a partial export never looks finished.
"""

from __future__ import annotations

import abc
import csv
import json
import math
import os
import queue
import sys
import threading
from collections.abc import Iterator
from typing import IO, Any, TypeVar

import click
import numpy as np

from trackline.cli.common import (
    PathError,
    dumps,
    is_project,
    is_tty,
    open_api,
    parse_filters,
    resolve_project,
    resolve_run,
    store_option,
)

FORMATS = ("csv", "parquet", "jsonl")
COMPRESSIONS = ("zstd", "lz4", "snappy", "none")
EXPORT_WINDOW = 131_072  # rows per window: large Parquet row groups, few queries, bounded memory
T = TypeVar("T")
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def _text(v: Any) -> str | None:
    if v is None or isinstance(v, str):
        return v
    return json.dumps(v, default=str, allow_nan=True)


def read_ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``items``, produced by a thread up to ``depth`` ahead of the consumer.

    The export reads the next window (SQLite and numpy release the GIL) while the current
    one is encoded and written (Arrow releases it too): on two cores the read costs almost
    nothing. Memory stays bounded (``depth`` windows). An error in either thread stops both
    and is raised here.
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


class _Writer(abc.ABC):
    """One output format: rows of one run at a time, in step order."""

    def __init__(self, out: IO[Any], columns: list[str], numeric: set[str], with_run: bool) -> None:
        self.out, self.columns, self.numeric, self.with_run = out, columns, numeric, with_run

    def _aligned(self, steps: np.ndarray, cols: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        from trackline.api.history import aligned

        return {k: aligned(steps, c) for k, c in cols.items()}

    @abc.abstractmethod
    def write(self, run_id: str, steps: np.ndarray, cols: dict[str, Any]) -> None:
        """Write the rows of ``run_id``: ``steps`` and one column per key, aligned."""

    def close(self) -> None:  # noqa: B027 - most formats have nothing to finish
        """Finish the file (Parquet writes its footer); nothing to do for row formats."""


class _CsvWriter(_Writer):
    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        self.w = csv.writer(self.out)
        self.w.writerow((["run_id"] if self.with_run else []) + ["_step", *self.columns])

    def write(self, run_id: str, steps: np.ndarray, cols: dict[str, Any]) -> None:
        n = len(steps)
        data: list[list[Any]] = []
        if self.with_run:
            data.append([run_id] * n)
        data.append(steps.tolist())
        al = self._aligned(steps, cols)
        for key in self.columns:
            if key not in al:
                data.append([""] * n)
                continue
            values, missing = al[key]
            vals = values.tolist() if isinstance(values, np.ndarray) else [
                v if isinstance(v, (int, float, str)) or v is None else _text(v) for v in values
            ]
            if missing is not None:
                for i in np.flatnonzero(missing).tolist():
                    vals[i] = ""
            data.append(vals)
        self.w.writerows(zip(*data, strict=True))


class _JsonlWriter(_Writer):
    def write(self, run_id: str, steps: np.ndarray, cols: dict[str, Any]) -> None:
        from trackline.api.history import build_rows

        rows = build_rows(steps, cols, nest=False)
        write = self.out.write
        for row in rows:
            if self.with_run:
                row = {"run_id": run_id, **row}
            for k, v in row.items():
                if isinstance(v, float) and not math.isfinite(v):
                    row[k] = None
            write(dumps(row))
            write("\n")


class _ParquetWriter(_Writer):
    """Arrow arrays straight from the window's numpy columns, one row group per window.

    Measured on 10M rows x (run_id, _step, 3 float metrics) (docs/api.md): the time went
    into dictionary-encoding every column (Parquet's default, useless for floats and steps,
    which overflow the dictionary page and fall back to plain after hashing) and into zstd
    on raw float bytes. So: dictionaries only for text columns (``run_id``: one value per
    run); floats ``BYTE_STREAM_SPLIT`` (byte planes: float32-exact values stored as float64
    leave whole planes of zeros, and smooth curves share their high bytes) and ``_step``
    ``DELTA_BINARY_PACKED`` (consecutive steps: ~0 bits each), then zstd level 1: ~4x
    smaller than before and ~6x faster. ``--compression lz4|snappy|none`` trade size for
    speed; ``--plain-encoding`` writes PLAIN pages for readers without Parquet 2 encodings.
    """

    def __init__(self, *a: Any, compression: str = "zstd", plain: bool = False) -> None:
        super().__init__(*a)
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise click.UsageError("--format parquet needs pyarrow: pip install pyarrow")
        # run_id is handed over dictionary-encoded (one value per window, no per-row
        # strings); the file does not store the Arrow schema, so readers see a plain string.
        fields = [pa.field("run_id", pa.dictionary(pa.int32(), pa.string()))] if self.with_run else []
        fields.append(pa.field("_step", pa.int64()))
        for key in self.columns:
            fields.append(pa.field(key, pa.float64() if key in self.numeric else pa.string()))
        self.pa = pa
        self.schema = pa.schema(fields)
        text = [f.name for f in fields if f.name != "_step" and f.name not in self.numeric]
        options: dict[str, Any] = {"compression": compression, "use_dictionary": text, "store_schema": False}
        if compression == "zstd":
            options["compression_level"] = 1
        if not plain:
            encodings = {key: "BYTE_STREAM_SPLIT" for key in self.columns if key in self.numeric}
            options["column_encoding"] = {"_step": "DELTA_BINARY_PACKED", **encodings}
        self.pw = pq.ParquetWriter(self.out, self.schema, **options)
        self._zeros: np.ndarray | None = None

    def _numbers(self, values: np.ndarray, missing: np.ndarray | None = None) -> Any:
        """An Arrow array over the numpy buffer, no copy. (``pa.array(ndarray)`` would do the
        same but imports pandas first, to check for pandas objects: ~0.4 s of a CLI run.)"""
        pa = self.pa
        values = np.ascontiguousarray(values)
        validity, nulls = None, 0
        if missing is not None:
            validity, nulls = pa.py_buffer(np.packbits(~missing, bitorder="little")), int(missing.sum())
        return pa.Array.from_buffers(
            pa.from_numpy_dtype(values.dtype), len(values), [validity, pa.py_buffer(values)], null_count=nulls
        )

    def _run_ids(self, run_id: str, n: int) -> Any:
        if self._zeros is None or len(self._zeros) < n:
            self._zeros = np.zeros(max(n, EXPORT_WINDOW), np.int32)
        raw = run_id.encode()
        one = self.pa.Array.from_buffers(
            self.pa.string(), 1, [None, self.pa.py_buffer(np.array([0, len(raw)], np.int32)), self.pa.py_buffer(raw)]
        )
        return self.pa.DictionaryArray.from_arrays(self._numbers(self._zeros[:n]), one)

    def write(self, run_id: str, steps: np.ndarray, cols: dict[str, Any]) -> None:
        pa = self.pa
        n = len(steps)
        arrays: list[Any] = []
        if self.with_run:
            arrays.append(self._run_ids(run_id, n))
        arrays.append(self._numbers(np.asarray(steps, dtype=np.int64)))
        al = self._aligned(steps, cols)
        for key in self.columns:
            if key not in al:
                arrays.append(pa.nulls(n, pa.float64() if key in self.numeric else pa.string()))
                continue
            values, missing = al[key]
            if key in self.numeric and isinstance(values, np.ndarray):
                arrays.append(self._numbers(np.asarray(values, dtype=np.float64), missing))  # f8: no copy
            else:
                vals = values.tolist() if isinstance(values, np.ndarray) else list(values)
                if missing is not None:
                    for i in np.flatnonzero(missing).tolist():
                        vals[i] = None
                arrays.append(pa.array([_text(v) for v in vals], pa.string()))
        self.pw.write_table(pa.Table.from_arrays(arrays, schema=self.schema))

    def close(self) -> None:
        self.pw.close()


_WRITERS: dict[str, type[_Writer]] = {"csv": _CsvWriter, "jsonl": _JsonlWriter, "parquet": _ParquetWriter}


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
    from trackline.api.scan import windows

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
    with_run = is_project(api, target)
    if with_run:
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
    all_keys = sorted({k for r in runs for k in r.history_keys()})
    if wanted:
        unknown = [k for k in wanted if k not in all_keys]
        if unknown:
            raise click.BadParameter(
                f"no history for {', '.join(map(repr, unknown))} in {what}; "
                f"its metrics: {', '.join(all_keys[:20]) or 'none'}", param_hint="--keys")
    columns = [k for k in (wanted or all_keys) if k != "_step"]
    reader = api.reader
    text_keys = set().union(*(reader.value_keys(r._row) for r in runs)) if runs else set()
    numeric = {k for k in columns if k not in text_keys}

    def run_export(out: IO[Any]) -> int:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        from trackline.cli.common import console

        writer = _WRITERS[fmt](out, columns, numeric, with_run, **writer_options)
        show = is_tty() if progress is None else progress
        total = sum(max(r.history_rows, 0) for r in runs) or None
        done = 0
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=console(stderr=True), disable=not show) as bar:
            task = bar.add_task(f"export {what}", total=total)
            read = (
                (run.id, steps, cols)
                for run in runs
                for steps, cols in windows(reader, run._row, columns, [], None, None, page_size=EXPORT_WINDOW)
            )
            for run_id, steps, cols in read_ahead(read):
                writer.write(run_id, steps, cols)
                done += len(steps)
                bar.advance(task, len(steps))
            bar.update(task, total=done, completed=done)
        writer.close()
        return done

    if output == "-":
        rows = run_export(sys.stdout)
    else:
        os.makedirs(os.path.dirname(os.path.abspath(output)) or ".", exist_ok=True)
        tmp = f"{output}.{os.getpid()}.part"
        try:
            if fmt == "parquet":
                with open(tmp, "wb") as fb:
                    rows = run_export(fb)
                    fb.flush()
                    os.fsync(fb.fileno())  # on disk before it gets its name: complete or absent
            else:
                with open(tmp, "w", newline="", encoding="utf-8") as ft:
                    rows = run_export(ft)
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
