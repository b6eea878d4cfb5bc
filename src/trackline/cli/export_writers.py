"""The formats of ``trackline export``: each turns a window of history (one run's, or
several small runs') into rows of CSV, JSON lines or a Parquet row group.

A window goes through two steps on two threads: :meth:`Writer.prepare` (on the reading
thread) builds what the format writes, :meth:`Writer.write` (on the writing thread) writes
it. For Parquet, ``prepare`` builds the Arrow table and ``write`` encodes and writes it with
the GIL released, so the next window is read while this one is encoded.
"""

from __future__ import annotations

import abc
import csv
import json
import math
from typing import IO, TYPE_CHECKING, Any

import click

from trackline.cli.common import dumps
from trackline.lazy import LazyModule

# Imported when a window is written here (``lazy``): the export of a finished project
# copies its pages (``export_pages``) and reads only ``EXPORT_WINDOW`` from this module.
if TYPE_CHECKING:
    import numpy as np

    from trackline.api import history
    from trackline.api.history import Column

    #: One run's rows in a window: its id, its steps and its columns on (a superset of) them.
    Part = tuple[str, np.ndarray, dict[str, Column]]
else:
    np = LazyModule("numpy", globals(), "np")
    history = LazyModule("trackline.api.history", globals(), "history")

EXPORT_WINDOW = 131_072  # rows per window: large Parquet row groups, few queries, bounded memory


def _text(v: Any) -> str | None:
    if v is None or isinstance(v, str):
        return v
    return json.dumps(v, default=str, allow_nan=True)


def pyarrow_modules() -> tuple[Any, Any]:
    """``pyarrow`` and ``pyarrow.parquet``, or a usage error saying how to install them."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise click.UsageError("--format parquet needs pyarrow: pip install pyarrow")
    return pa, pq


class Writer(abc.ABC):
    """One output format: windows of one run at a time, in step order."""

    def __init__(self, out: Any, columns: list[str], numeric: set[str], with_run: bool) -> None:
        self.out, self.columns, self.numeric, self.with_run = out, columns, numeric, with_run

    @abc.abstractmethod
    def prepare(self, parts: list[Part]) -> Any:
        """What :meth:`write` takes for the rows of ``parts``, in order. Runs on the reading
        thread: it must not touch the output."""

    @abc.abstractmethod
    def write(self, prepared: Any) -> None:
        """Write what :meth:`prepare` built, after everything prepared before it."""

    def close(self) -> None:  # noqa: B027 - most formats have nothing to finish
        """Finish the file (Parquet writes its footer); nothing to do for row formats."""


class CsvWriter(Writer):
    def __init__(self, out: IO[str], *a: Any) -> None:
        super().__init__(out, *a)
        self.w = csv.writer(out)
        self.w.writerow((["run_id"] if self.with_run else []) + ["_step", *self.columns])

    def prepare(self, parts: list[Part]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for run_id, steps, cols in parts:
            n = len(steps)
            data: list[list[Any]] = []
            if self.with_run:
                data.append([run_id] * n)
            data.append(steps.tolist())
            for key in self.columns:
                if key not in cols:
                    data.append([""] * n)
                    continue
                values, missing = history.aligned(steps, cols[key])
                vals = values.tolist() if isinstance(values, np.ndarray) else [
                    v if isinstance(v, (int, float, str)) or v is None else _text(v) for v in values
                ]
                if missing is not None:
                    for i in np.flatnonzero(missing).tolist():
                        vals[i] = ""
                data.append(vals)
            rows.extend(zip(*data, strict=True))
        return rows

    def write(self, prepared: list[tuple[Any, ...]]) -> None:
        self.w.writerows(prepared)


class JsonlWriter(Writer):
    def prepare(self, parts: list[Part]) -> str:
        lines = []
        for run_id, steps, cols in parts:
            ordered = {k: cols[k] for k in self.columns if k in cols}  # the columns' order, as CSV's
            for row in history.build_rows(steps, ordered, nest=False):
                if self.with_run:
                    row = {"run_id": run_id, **row}
                for k, v in row.items():
                    if isinstance(v, float) and not math.isfinite(v):
                        row[k] = None
                lines.append(dumps(row))
        lines.append("")
        return "\n".join(lines)

    def write(self, prepared: str) -> None:
        self.out.write(prepared)


class ParquetWriter(Writer):
    """Arrow arrays straight from the window's numpy columns, one row group per window
    (a big run's windows one by one, small runs several to a window).

    ``out`` is a pyarrow file (``pa.OSFile``), not a Python one: pyarrow writes to a Python
    file by calling its ``write`` with the GIL held, so every page would wait for the
    reading thread to let go of the GIL (~0.6 s instead of ~0.35 s for 10M rows).

    Measured on 10M rows x (run_id, _step, 3 float metrics) (docs/api.md): the time went
    into dictionary-encoding every column (Parquet's default, useless for floats and steps,
    which overflow the dictionary page and fall back to plain after hashing) and into zstd
    on raw float bytes. So: dictionaries only for text columns (``run_id``: one value per
    run); floats ``BYTE_STREAM_SPLIT`` (byte planes: float32-exact values stored as float64
    leave whole planes of zeros, and smooth curves share their high bytes) and ``_step``
    ``DELTA_BINARY_PACKED`` (consecutive steps: ~0 bits each), then zstd level 1: ~4x
    smaller than before and ~6x faster. Numbers go to the encoders 65,536 at a time, not
    1,024 (pyarrow's default): ~10% less time. ``--compression lz4|snappy|none`` trade size for
    speed; ``--plain-encoding`` writes PLAIN pages for readers without Parquet 2 encodings.

    ``run_id`` and ``_step`` are never null, so they are REQUIRED columns (no definition
    levels to build and encode), and only they get min/max statistics: a window is one run's
    steps (or a few small runs'), so readers filtering on a run or a step range
    (``pq.read_table(filters=...)``, polars, DuckDB) skip the other row groups, while a
    metric's min/max per window prunes little and cost ~7% of the export. Both: ~12% less
    time for 10M rows, the same values read back.
    """

    def __init__(self, out: Any, *a: Any, compression: str = "zstd", plain: bool = False) -> None:
        super().__init__(out, *a)
        pa, pq = pyarrow_modules()
        # run_id is handed over dictionary-encoded (one value per window, no per-row
        # strings); the file does not store the Arrow schema, so readers see a plain string.
        keys = [pa.field("run_id", pa.dictionary(pa.int32(), pa.string()), nullable=False)] if self.with_run else []
        keys.append(pa.field("_step", pa.int64(), nullable=False))
        fields = list(keys)
        for key in self.columns:
            fields.append(pa.field(key, pa.float64() if key in self.numeric else pa.string()))
        self.pa = pa
        self.schema = pa.schema(fields)
        text = [f.name for f in fields if f.name != "_step" and f.name not in self.numeric]
        options: dict[str, Any] = {"compression": compression, "use_dictionary": text, "store_schema": False,
                                   "write_statistics": [f.name for f in keys]}
        if all(key in self.numeric for key in self.columns):
            # Pages are cut between batches: 65,536 numbers still make ~1 MB pages (65,536
            # texts could make one huge page, so text keeps pyarrow's 1,024).
            options["write_batch_size"] = 65_536
        if compression == "zstd":
            options["compression_level"] = 1
        if not plain:
            encodings = {key: "BYTE_STREAM_SPLIT" for key in self.columns if key in self.numeric}
            options["column_encoding"] = {"_step": "DELTA_BINARY_PACKED", **encodings}
        self.pw = pq.ParquetWriter(out, self.schema, **options)

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

    def _strings(self, values: list[str]) -> Any:
        """A string array from its buffers (``pa.array(list)`` may import pandas to check)."""
        raw = [v.encode() for v in values]
        offsets = np.zeros(len(raw) + 1, np.int32)
        np.cumsum([len(b) for b in raw], out=offsets[1:])
        return self.pa.Array.from_buffers(
            self.pa.string(), len(raw), [None, self.pa.py_buffer(offsets), self.pa.py_buffer(b"".join(raw))]
        )

    def _run_ids(self, run_ids: list[str], counts: list[int]) -> Any:
        """``run_id`` as one dictionary array: each id once, then an index per row."""
        indices = np.repeat(np.arange(len(run_ids), dtype=np.int32), counts)
        # safe=False: the indices are in range by construction; no pass to check them.
        return self.pa.DictionaryArray.from_arrays(self._numbers(indices), self._strings(run_ids), safe=False)

    def _column(self, key: str, steps: np.ndarray, cols: dict[str, Column]) -> Any:
        pa = self.pa
        if key not in cols:
            return pa.nulls(len(steps), pa.float64() if key in self.numeric else pa.string())
        values, missing = history.aligned(steps, cols[key])
        if key in self.numeric and isinstance(values, np.ndarray):
            return self._numbers(np.asarray(values, dtype=np.float64), missing)  # f8: no copy
        vals = values.tolist() if isinstance(values, np.ndarray) else list(values)
        if missing is not None:
            for i in np.flatnonzero(missing).tolist():
                vals[i] = None
        return pa.array([_text(v) for v in vals], pa.string())

    def prepare(self, parts: list[Part]) -> Any:
        """One table; the parts' arrays are its chunks (no copy)."""
        pa = self.pa
        arrays: list[Any] = []
        if self.with_run:
            arrays.append(self._run_ids([run_id for run_id, _, _ in parts], [len(steps) for _, steps, _ in parts]))
        arrays.append(pa.chunked_array([self._numbers(np.asarray(steps, dtype=np.int64)) for _, steps, _ in parts],
                                       pa.int64()))
        first = len(arrays)
        for i, key in enumerate(self.columns):
            arrays.append(pa.chunked_array([self._column(key, steps, cols) for _, steps, cols in parts],
                                           self.schema.field(first + i).type))
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def write(self, prepared: Any) -> None:
        self.pw.write_table(prepared)

    def close(self) -> None:
        self.pw.close()


WRITERS: dict[str, type[Writer]] = {"csv": CsvWriter, "jsonl": JsonlWriter, "parquet": ParquetWriter}
