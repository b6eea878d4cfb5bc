"""trackline export to Parquet: compressions and encodings read back the same data; numeric
columns go to Arrow without pandas; many runs and keys come out as scan_history reads them,
the same with or without the reading thread; tables are built on the reading thread, which
hands errors over naming the run; the file is flushed to disk before it gets its name."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PYTHON, child_env
from tests.unit.api.seeding import isolated_env, make_run, store_path
from trackline.cli import export_writers
from trackline.cli.export import ExportError, export_cmd, read_ahead

pq = pytest.importorskip("pyarrow.parquet")
N = 3000  # two windows' worth of chunks per run, gaps and all
MANY = 8  # runs of project "many": each its own keys, step gaps and length


def many_rows(i: int) -> list[tuple[dict[str, Any], int]]:
    rows = []
    for step in range(0, 2000 + 1500 * i, 1 + i % 3):
        row: dict[str, Any] = {"loss": 1.0 / (step + 1) + i}
        if i % 2:
            row["acc"] = step % 7 / 7
        if i % 3 == 0 and step % 5 == 0:
            row["note"] = f"r{i}s{step}"
        if i == 5:
            row["big"] = float("inf") if step % 11 == 0 else -step * 1e300
        rows.append((row, step))
    return rows


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("export")
    with isolated_env(root):
        make_run("p", "r1", rows=[{"loss": 1.0 / (i + 1), "n": i, **({"odd": 0.5} if i % 2 else {})}
                                  for i in range(N)])
        make_run("p", "r2", rows=[({"loss": float(i), "note": f"t{i}"}, i * 7) for i in range(10)])
        make_run("q", "nums", rows=[{"a": float(i), "b": i} for i in range(100)])
        for i in range(MANY):
            make_run("many", f"m{i}", rows=many_rows(i))
        make_run("many", "empty")
    yield root


def export(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([PYTHON, "-m", "trackline.cli.main", "export", *args, "--no-progress"],
                       cwd=root / "work", env=child_env(root), capture_output=True, text=True, timeout=120)
    return p


def expected() -> dict[str, list[Any]]:
    steps = list(range(N)) + [i * 7 for i in range(10)]
    return {
        "run_id": ["r1"] * N + ["r2"] * 10,
        "_step": steps,
        "loss": [1.0 / (i + 1) for i in range(N)] + [float(i) for i in range(10)],
        "n": [float(i) for i in range(N)] + [None] * 10,
        "note": [None] * N + [f"t{i}" for i in range(10)],
        "odd": [0.5 if i % 2 else None for i in range(N)] + [None] * 10,
    }


@pytest.mark.parametrize("options", [[], ["--compression", "lz4"], ["--compression", "snappy"],
                                     ["--compression", "none"], ["--plain-encoding"]])
def test_every_compression_and_encoding_reads_back_the_same(root: Path, options: list[str]) -> None:
    out = root / "work" / f"p{'-'.join(options)}.parquet"
    p = export(root, "p", "-o", str(out), "-k", "loss,n,note,odd", *options)
    assert p.returncode == 0, p.stderr
    table = pq.read_table(out)
    assert [str(t) for t in table.schema.types] == ["string", "int64", "double", "double", "string", "double"]
    assert table.to_pydict() == expected()
    meta = pq.ParquetFile(out).metadata
    col = {meta.schema.column(i).name: i for i in range(meta.num_columns)}
    group = meta.row_group(0)
    codec = {"--compression": options[1].upper() if options[:1] == ["--compression"] else "ZSTD"}["--compression"]
    assert group.column(col["loss"]).compression == ("UNCOMPRESSED" if codec == "NONE" else codec)
    encodings = set(group.column(col["loss"]).encodings) | set(group.column(col["_step"]).encodings)
    if "--plain-encoding" in options:
        assert {"BYTE_STREAM_SPLIT", "DELTA_BINARY_PACKED"}.isdisjoint(encodings)
    else:
        assert {"BYTE_STREAM_SPLIT", "DELTA_BINARY_PACKED"} <= encodings
    assert "RLE_DICTIONARY" not in group.column(col["loss"]).encodings  # no dictionary for floats


def test_compression_options_are_for_parquet_only(root: Path) -> None:
    p = export(root, "p", "-o", str(root / "work" / "x.csv"), "--compression", "lz4")
    assert p.returncode == 2 and "apply to --format parquet" in p.stderr


@pytest.mark.parametrize("where", ["a-file/x.parquet", "../work/a-file/deeper/x.csv"])
def test_an_output_path_that_cannot_be_written_is_a_clear_error(root: Path, where: str) -> None:
    """A folder that is a file (or any path the export cannot create a file in): exit code
    2 and a message naming -o, before anything is read; no traceback, no file left."""
    work = root / "work"
    (work / "a-file").write_text("not a folder")
    p = export(root, "p", "-o", str(work / where))
    assert p.returncode == 2, p.stderr
    assert "'-o'" in p.stderr and "cannot write" in p.stderr and "Traceback" not in p.stderr
    assert (work / "a-file").read_text() == "not a folder"
    assert not list(work.glob("*.part"))


def test_numeric_export_does_not_import_pandas(root: Path) -> None:
    out = root / "work" / "nums.parquet"
    code = (
        "import sys; from trackline.cli.export import export_cmd; "
        f"export_cmd.main(['q', '-o', {str(out)!r}, '-k', 'a,b', '--no-progress'], standalone_mode=False); "
        "print(json.dumps('pandas' in sys.modules))"
    )
    p = subprocess.run([PYTHON, "-c", "import json; " + code], cwd=root / "work", env=child_env(root),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1]) is False
    assert pq.read_table(out).to_pydict() == {
        "run_id": ["nums"] * 100, "_step": list(range(100)), "a": [float(i) for i in range(100)],
        "b": [float(i) for i in range(100)],
    }


def test_read_ahead_keeps_order_and_hands_over_errors() -> None:
    assert list(read_ahead(iter(range(1000)), depth=2)) == list(range(1000))

    def failing() -> Iterator[int]:
        yield 1
        raise RuntimeError("store went away")

    got = []
    with pytest.raises(RuntimeError, match="store went away"):
        for x in read_ahead(failing()):
            got.append(x)
    assert got == [1]
    # The consumer stops early: the reading thread is stopped and joined, not left blocked.
    it = read_ahead(iter(range(10**9)), depth=1)
    assert next(it) == 0
    it.close()


def test_the_file_is_on_disk_before_it_is_renamed(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from trackline.cli.export import export_cmd

    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    with isolated_env(root):
        out = root / "work" / "synced.parquet"
        export_cmd.main(["q", "-o", str(out), "--no-progress", "--store", str(store_path(root))],
                        standalone_mode=False)
    assert events == ["fsync", "replace"] and out.exists()


def test_a_killed_exports_part_file_is_removed_by_the_next_export(root: Path) -> None:
    """``OUT.<pid>.part`` of an export whose process is gone is deleted; one of an export
    still running (its process alive) is kept."""
    gone = subprocess.Popen([PYTHON, "-c", "pass"])
    gone.wait()
    with isolated_env(root):
        out = root / "work" / "again.parquet"
        stale = root / "work" / f"again.parquet.{gone.pid}.part"
        running = root / "work" / f"again.parquet.{os.getppid()}.part"
        other = root / "work" / f"other.parquet.{gone.pid}.part"
        not_a_pid = root / "work" / f"again.parquet.{10**30}.part"
        for f in (stale, running, other, not_a_pid):
            f.write_bytes(b"half a file")
        export_cmd.main(["q", "-o", str(out), "--no-progress", "--store", str(store_path(root))],
                        standalone_mode=False)
    assert out.exists() and not stale.exists()
    assert running.exists() and other.exists() and not_a_pid.exists()  # alive; another output's; no process
    for f in (running, other, not_a_pid):
        f.unlink()


# -- many runs and keys, the reading thread ----------------------------------------------------


def export_many(root: Path, out: Path, monkeypatch: pytest.MonkeyPatch, window: int = 1) -> None:
    """Project "many" to ``out`` in windows of ``window`` rows; 1: scan's smallest (4096 rows),
    so every run is read on its own, in several windows."""
    monkeypatch.setattr(export_writers, "EXPORT_WINDOW", window)
    with isolated_env(root):
        export_cmd.main(["many", "-o", str(out), "--no-progress", "--store", str(store_path(root))],
                        standalone_mode=False)


# Runs of 1,667-11,000 rows. Windows of 4096 rows: several per run. Of 10,000: m0-m2 together,
# m3, m4-m5, m6 (11,000 rows) in two windows of its own, m7; "empty" has no count, so it is
# read on its own and adds nothing. The default: all of them in one window.
@pytest.mark.parametrize(("window", "row_groups"), [(1, 18), (10_000, 6), (export_writers.EXPORT_WINDOW, 1)])
def test_many_runs_and_keys_export_as_scan_history_reads_them(
    root: Path, monkeypatch: pytest.MonkeyPatch, window: int, row_groups: int
) -> None:
    import trackline

    out = root / "work" / f"many-{window}.parquet"
    export_many(root, out, monkeypatch, window)
    table = pq.read_table(out)
    with isolated_env(root):
        runs = list(trackline.Api().runs("many", order="+created_at"))
        columns = sorted({k for r in runs for k in r.history_keys()} - {"_step"})
        want: dict[str, list[Any]] = {"run_id": [], "_step": [], **{k: [] for k in columns}}
        for run in runs:
            for row in run.scan_history():
                want["run_id"].append(run.id)
                for k in want.keys() - {"run_id"}:
                    want[k].append(row.get(k))
    assert columns == ["_runtime", "_timestamp", "acc", "big", "loss", "note"]
    assert table.to_pydict() == want
    assert len(want["run_id"]) == sum(len(many_rows(i)) for i in range(MANY))
    assert pq.ParquetFile(out).metadata.num_row_groups == row_groups


def test_the_reading_thread_changes_nothing_in_the_file(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threaded, serial = root / "work" / "threaded.parquet", root / "work" / "serial.parquet"
    export_many(root, threaded, monkeypatch)
    monkeypatch.setattr("trackline.cli.export.read_ahead", lambda items: items)  # one thread
    export_many(root, serial, monkeypatch)
    assert threaded.read_bytes() == serial.read_bytes()


def test_tables_are_built_on_the_reading_thread_and_written_to_a_pyarrow_file(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pa = pytest.importorskip("pyarrow")
    threads, sinks = set(), []
    prepare, init = export_writers.ParquetWriter.prepare, export_writers.ParquetWriter.__init__

    def prepare_here(self: Any, *a: Any) -> Any:
        threads.add(threading.current_thread().name)
        return prepare(self, *a)

    def init_here(self: Any, out: Any, *a: Any, **kw: Any) -> None:
        sinks.append(out)
        init(self, out, *a, **kw)

    monkeypatch.setattr(export_writers.ParquetWriter, "prepare", prepare_here)
    monkeypatch.setattr(export_writers.ParquetWriter, "__init__", init_here)
    export_many(root, root / "work" / "where.parquet", monkeypatch)
    assert threads == {"trackline-export-read"}
    # Not a Python file: pyarrow would take the GIL for every page written to it.
    assert len(sinks) == 1 and isinstance(sinks[0], pa.NativeFile)


@pytest.mark.parametrize(("window", "method", "named"), [
    (1, "columns", "run m3"),  # read on its own
    (export_writers.EXPORT_WINDOW, "columns_many", "runs m0, m1, m2, m3, m4, m5, m6, m7"),  # together
])
def test_an_error_on_the_reading_thread_names_the_runs_and_leaves_no_file(
    root: Path, monkeypatch: pytest.MonkeyPatch, window: int, method: str, named: str
) -> None:
    from trackline.api.reader import StoreReader

    real = getattr(StoreReader, method)

    def failing(self: StoreReader, runs: Any, *a: Any, **kw: Any) -> Any:
        if "m3" in str(runs):
            raise OSError("disk I/O error")
        return real(self, runs, *a, **kw)

    monkeypatch.setattr(StoreReader, method, failing)
    out = root / "work" / "failed.parquet"
    with pytest.raises(ExportError) as caught:
        export_many(root, out, monkeypatch, window)
    assert re.fullmatch(rf"reading {named} of \w+/many failed: OSError: disk I/O error", caught.value.format_message())
    assert isinstance(caught.value.__cause__, OSError)
    assert not out.exists() and not list(out.parent.glob("failed.parquet.*"))


def test_export_imports_neither_numpy_nor_rich_before_it_needs_them(root: Path) -> None:
    out = root / "work" / "lazy.parquet"
    code = (
        "import json, sys; import trackline.cli.main; from trackline.cli.export import export_cmd; "
        "before = sorted(m for m in ('numpy', 'pyarrow', 'rich') if m in sys.modules); "
        f"export_cmd.main(['q', '-o', {str(out)!r}, '--no-progress'], standalone_mode=False); "
        "print(json.dumps([before, 'rich' in sys.modules]))"
    )
    p = subprocess.run([PYTHON, "-c", code], cwd=root / "work", env=child_env(root), capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1]) == [[], False]
