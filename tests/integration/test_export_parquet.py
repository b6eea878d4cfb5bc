"""trackline export to Parquet, the file's layout: ``run_id`` and ``_step`` are REQUIRED and
the only columns with statistics, so a reader filtering on a run or a step range skips the
other row groups; metrics stay nullable and read back as ``scan_history`` reads them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.write_behind import WAYS, SyncSpy
from tests.unit.api.seeding import isolated_env, make_run, store_path
from trackline.cli import export_writers
from trackline.cli.export import export_cmd

pq = pytest.importorskip("pyarrow.parquet")
ds = pytest.importorskip("pyarrow.dataset")
RUNS = {"a": 5000, "b": 3000}  # steps; windows of 4096 rows: a in two row groups, b in one


def rows(n: int) -> list[dict[str, Any]]:
    return [{"loss": 1.0 / (i + 1), **({"acc": i / n} if i % 10 == 0 else {}),
             **({"note": f"s{i}"} if i % 100 == 0 else {})} for i in range(n)]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("export-parquet")
    out = root / "work" / "p.parquet"
    with isolated_env(root), pytest.MonkeyPatch.context() as mp:
        for run_id, n in RUNS.items():
            make_run("p", run_id, rows=rows(n))
        mp.setattr(export_writers, "EXPORT_WINDOW", 1)  # each run read alone, 4096 rows a window
        export_cmd.main(["p", "-o", str(out), "-k", "loss,acc,note", "--no-progress",
                         "--store", str(store_path(root))], standalone_mode=False)
    yield root, out


def test_run_id_and_step_are_required_and_metrics_nullable(exported: tuple[Path, Path]) -> None:
    _, out = exported
    schema = pq.ParquetFile(out).metadata.schema
    levels = {schema.column(i).name: schema.column(i).max_definition_level for i in range(len(schema))}
    assert levels == {"run_id": 0, "_step": 0, "loss": 1, "acc": 1, "note": 1}
    arrow = pq.read_schema(out)
    assert [(f.name, str(f.type), f.nullable) for f in arrow] == [
        ("run_id", "string", False), ("_step", "int64", False), ("loss", "double", True),
        ("acc", "double", True), ("note", "string", True)]


def test_only_run_id_and_step_have_statistics(exported: tuple[Path, Path]) -> None:
    _, out = exported
    meta = pq.ParquetFile(out).metadata
    groups = []
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        cols = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
        assert {name for name, c in cols.items() if c.is_stats_set} == {"run_id", "_step"}
        run_id, step = cols["run_id"].statistics, cols["_step"].statistics
        assert run_id.min == run_id.max and run_id.null_count == 0
        groups.append((run_id.min, step.min, step.max, group.num_rows))
    assert groups == [("a", 0, 4095, 4096), ("a", 4096, 4999, 904), ("b", 0, 2999, 3000)]


def test_a_filter_on_run_or_step_skips_the_other_row_groups(exported: tuple[Path, Path]) -> None:
    _, out = exported
    (fragment,) = ds.dataset(out, format="parquet").get_fragments()
    assert [f.row_groups[0].id for f in fragment.split_by_row_group(ds.field("run_id") == "b")] == [2]
    assert [f.row_groups[0].id for f in fragment.split_by_row_group(ds.field("_step") >= 4500)] == [1]
    table = pq.read_table(out, filters=[("run_id", "==", "b"), ("_step", "<", 3)])
    assert table.to_pydict() == {"run_id": ["b"] * 3, "_step": [0, 1, 2], "loss": [1.0, 0.5, 1 / 3],
                                 "acc": [0.0, None, None], "note": ["s0", None, None]}


def test_the_file_reads_back_as_scan_history(exported: tuple[Path, Path]) -> None:
    import trackline

    root, out = exported
    want: dict[str, list[Any]] = {"run_id": [], "_step": [], "loss": [], "acc": [], "note": []}
    with isolated_env(root):
        for run in trackline.Api().runs("p", order="+created_at"):
            for row in run.scan_history():
                want["run_id"].append(run.id)
                for k in ("_step", "loss", "acc", "note"):
                    want[k].append(row.get(k))
    assert pq.read_table(out).to_pydict() == want
    pd = pytest.importorskip("pandas")
    frame = pd.read_parquet(out)
    assert list(frame.columns) == list(want) and len(frame) == sum(RUNS.values())
    assert str(frame["_step"].dtype) == "int64" and frame["acc"].isna().sum() == want["acc"].count(None)


# -- write-behind --------------------------------------------------------------------------


@pytest.mark.parametrize("kick", WAYS)
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_windows_go_to_disk_while_the_next_are_encoded(
    exported: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, fmt: str, kick: bool
) -> None:
    """Each window written is handed to the disk (Linux: its range's writeback started;
    elsewhere a thread fdatasyncs the file), so the fsync before the rename waits for the
    last window only; no thread is left when the export returns."""
    root, _ = exported
    spy = SyncSpy(monkeypatch, kick)
    cls = export_writers.WRITERS[fmt]
    monkeypatch.setattr(cls, "write", spy.after_a_sync(cls.write))
    monkeypatch.setattr(export_writers, "EXPORT_WINDOW", 1)
    out = root / "work" / f"behind.{fmt}"
    with isolated_env(root):
        monkeypatch.setenv("TRACKLINE_EXPORT_PYARROW", "1")  # about pyarrow's writer (test_export_pages: the other)
        export_cmd.main(["p", "-o", str(out), "-k", "loss", "--no-progress", "--store", str(store_path(root))],
                        standalone_mode=False)
    assert spy.writes == 3
    spy.check(out)


def test_the_sync_thread_stops_when_the_export_fails(exported: tuple[Path, Path],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from trackline.cli.export import ExportError

    root, _ = exported
    real = export_writers.ParquetWriter.prepare
    calls = []

    def failing(self: Any, parts: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk I/O error")
        return real(self, parts)

    monkeypatch.setattr(export_writers.ParquetWriter, "prepare", failing)
    monkeypatch.setattr(export_writers, "EXPORT_WINDOW", 1)
    out = root / "work" / "failed.parquet"
    with isolated_env(root), pytest.raises(ExportError, match="disk I/O error"):
        export_cmd.main(["p", "-o", str(out), "--no-progress", "--store", str(store_path(root))],
                        standalone_mode=False)
    assert not out.exists() and not list(out.parent.glob("failed.parquet.*"))
    assert not [t for t in threading.enumerate() if t.name == "trackline-export-sync"]
