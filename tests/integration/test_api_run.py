"""The public Run: fields, update() round trips, delete, move, files, history reads."""

from __future__ import annotations

import math
import sqlite3
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trackline
from tests.unit.api.seeding import make_run
from trackline.api.errors import RunNotFoundError


def rows_of(db: Path, table: str, run_pk: int) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute(f"SELECT count(*) FROM {table} WHERE run_pk = ?", (run_pk,)).fetchone()[0])
    finally:
        con.close()


def test_fields(isolated: Path) -> None:
    sdk = make_run(
        "fields", "abc", name="first", notes="n", tags=["t1"], group="g", job_type="train",
        config={"lr": 0.1, "opt": {"name": "adam"}},
        rows=[{"loss": 3.0}, {"loss": 2.0}, {"loss": 1.0}], summary={"best": 0.5},
    )
    api = trackline.Api()
    run = api.run("fields/abc")
    assert run.id == "abc" and run.name == run.display_name == "first"
    assert run.entity == api.default_entity and run.project == "fields"
    assert run.path == [run.entity, "fields", "abc"]
    assert run.url == f"http://127.0.0.1:7878/{run.entity}/fields/runs/abc"
    assert run.state == "finished" and run.exit_code == 0 and run.reason is None
    assert run.notes == "n" and run.tags == ["t1"] and run.group == "g" and run.job_type == "train"
    assert run.config == {"lr": 0.1, "opt": {"name": "adam"}}
    assert run.summary["loss"] == 1.0 and run.summary["best"] == 0.5
    assert run.summary_metrics["_step"] == 2
    assert run.lastHistoryStep == 2 and run.history_rows == 3
    assert run.created_at.endswith("Z") and run.heartbeat_at is not None
    assert run.runtime is not None and run.runtime >= 0
    assert run.metadata["host"] and run.user == run.metadata.get("username")
    assert run.sweep is None and run.sweep_name is None
    assert run.history_keys() == ["_runtime", "_timestamp", "loss"]
    assert run == api.run(f"{run.entity}/fields/abc") and repr(run) == f"<Run {run.entity}/fields/abc (finished)>"
    assert sdk.id == run.id


def test_missing_run_is_a_run_not_found_error(isolated: Path) -> None:
    make_run("p", "abc")
    with pytest.raises(RunNotFoundError, match=r"Could not find run .*/p/nope") as info:
        trackline.Api().run("p/nope")
    assert isinstance(info.value, ValueError) and isinstance(info.value, trackline.CommError)


def test_a_bare_run_id_is_looked_for_in_every_project(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_run("p", "abc")
    make_run("q", "twice")
    make_run("p", "twice")
    api = trackline.Api()
    assert api.run("abc").path[1:] == ["p", "abc"]
    with pytest.raises(RunNotFoundError, match="no run with id 'nope'"):
        api.run("nope")
    with pytest.raises(ValueError, match=r"run id 'twice' is in several projects \(.*/p/twice, .*/q/twice\)|"
                                         r"run id 'twice' is in several projects \(.*/q/twice, .*/p/twice\)"):
        api.run("twice")
    # With a default project, a bare id is a run of that project (W&B's rule).
    monkeypatch.setenv("WANDB_PROJECT", "q")
    assert trackline.Api().run("twice").project == "q"
    with pytest.raises(RunNotFoundError, match=r"Could not find run .*/q/abc"):
        trackline.Api().run("abc")


def test_pinned_keys(isolated: Path) -> None:
    run = trackline.init(project="pins", id="x", mode="offline", config={"lr": 1, "bs": 2})
    run.pin_config_keys(["lr"])
    run.finish()
    from trackline.sender.sync import sync_log
    from trackline.storage import open_store

    sync_log(run.settings.sync_file, open_store(run.settings.store_url))
    got = trackline.Api().run("pins/x")
    assert got.pinned_keys == ["lr"] and "_wandb" not in got.config and "_wandb" in got.rawconfig


def test_update_round_trips_every_editable_field(isolated: Path) -> None:
    make_run("edit", "abc", name="old", tags=["a"], config={"lr": 0.1}, summary={"acc": 0.5})
    api = trackline.Api()
    run = api.run("edit/abc")
    run.name = "new"
    run.notes = "written later"
    run.tags.append("b")
    run.group = "grp"
    run.job_type = "eval"
    run.config["lr"] = 0.2
    run.config["added"] = {"x": 1}
    run.summary["acc"] = 0.75
    run.summary["note"] = "hand-set"
    # nothing is saved before update()
    assert trackline.Api().run("edit/abc").name == "old"
    run.update()
    fresh = trackline.Api().run("edit/abc")
    assert fresh.name == "new" and fresh.display_name == "new"
    assert fresh.notes == "written later"
    assert fresh.tags == ["a", "b"]
    assert fresh.group == "grp" and fresh.job_type == "eval"
    assert fresh.config == {"lr": 0.2, "added": {"x": 1}}
    assert fresh.summary["acc"] == 0.75 and fresh.summary["note"] == "hand-set"
    # the edited run is findable by its new fields at once
    assert [r.id for r in api.runs("edit", {"display_name": "new", "tags": "b", "config.lr": 0.2})] == ["abc"]


def test_summary_update_saves_at_once(isolated: Path) -> None:
    make_run("edit", "abc", summary={"acc": 0.5})
    run = trackline.Api().run("edit/abc")
    run.summary.update({"acc": 0.9, "f1": 0.8})
    fresh = trackline.Api().run("edit/abc")
    assert fresh.summary["acc"] == 0.9 and fresh.summary["f1"] == 0.8
    del fresh.summary["f1"]
    fresh.update()
    assert "f1" not in trackline.Api().run("edit/abc").summary


def test_update_refuses_bad_tags(isolated: Path) -> None:
    make_run("edit", "abc")
    run = trackline.Api().run("edit/abc")
    with pytest.raises(ValueError, match="tags must be a list"):
        run.tags = "oops"  # type: ignore[assignment]
    run.tags.append(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Tags must be strings"):
        run.update()
    assert trackline.Api().run("edit/abc").tags == []


def test_delete_removes_rows_and_files(isolated: Path, store_path: Path) -> None:
    sdk = make_run("del", "gone", rows=[{"loss": float(i), "text": f"t{i}"} for i in range(3000)],
                   files={"model.bin": b"\x00" * 100}, local_files={"notes.txt": b"hi"})
    make_run("del", "kept", rows=[{"loss": 1.0}])
    run = trackline.Api().run("del/gone")
    pk = int(run.storage_id)
    assert {f.name for f in run.files()} == {"model.bin", "notes.txt"}
    tables = ("history_chunks", "history_values", "run_keys", "run_streams", "run_files")
    assert all(rows_of(store_path, t, pk) > 0 for t in tables)
    run.delete()
    assert all(rows_of(store_path, t, pk) == 0 for t in tables)
    with pytest.raises(RunNotFoundError):
        trackline.Api().run("del/gone")
    assert not (Path(sdk.dir) / "notes.txt").exists() and not (Path(sdk.dir) / "model.bin").exists()
    assert Path(sdk.settings.sync_file).exists()  # the record log stays: sync can restore the run
    assert [r.id for r in trackline.Api().runs("del")] == ["kept"]
    assert len(list(trackline.Api().run("del/kept").scan_history())) == 1


def test_move_to_another_project(isolated: Path) -> None:
    make_run("src", "abc", rows=[{"loss": 1.0}, {"loss": 2.0}])
    make_run("dst", "abc")
    api = trackline.Api()
    run = api.run("src/abc")
    with pytest.raises(ValueError, match="already has a run with id 'abc'"):
        run.move("dst")
    run.move("elsewhere")
    assert run.project == "elsewhere"
    moved = api.run("elsewhere/abc")
    assert [r["loss"] for r in moved.scan_history()] == [1.0, 2.0]
    with pytest.raises(RunNotFoundError):
        api.run("src/abc")
    assert api.project("src").run_count == 0


def test_files_listing_download_and_patterns(isolated: Path, tmp_path: Path) -> None:
    make_run("files", "abc", files={"model.bin": b"weights", "sub/cfg.json": b"{}\n"},
             local_files={"output.log": b"line\n"})
    run = trackline.Api().run("files/abc")
    files = run.files()
    assert [f.name for f in files] == ["model.bin", "output.log", "sub/cfg.json"]
    assert len(files) == 3
    assert [f.name for f in run.files(pattern="%.json")] == ["sub/cfg.json"]
    assert [f.name for f in run.files(names=["model.bin", "nope"])] == ["model.bin"]
    f = run.file("sub/cfg.json")
    assert f.size == 3 and f.mimetype == "application/json"
    import base64
    import hashlib

    assert f.md5 == base64.b64encode(hashlib.md5(b"{}\n").digest()).decode()
    with f.download(root=str(tmp_path)) as fh:
        assert fh.read() == "{}\n"
    with pytest.raises(ValueError, match="File already exists"):
        f.download(root=str(tmp_path))
    f.download(root=str(tmp_path), exist_ok=True).close()
    (tmp_path / "sub" / "cfg.json").write_text("changed")
    f.download(root=str(tmp_path), replace=True).close()
    assert (tmp_path / "sub" / "cfg.json").read_text() == "{}\n"
    with run.file("output.log").download(root=str(tmp_path)) as fh:
        assert fh.read() == "line\n"
    with pytest.raises(ValueError, match=r"has no file 'missing\.txt'"):
        run.file("missing.txt")
    with pytest.raises(ValueError, match=r"may not contain '\.\.'"):
        run.file("../../etc/passwd")


# -- history --------------------------------------------------------------------------------


def test_history_sampling_keeps_first_last_and_global_extremes(isolated: Path) -> None:
    n = 20_000
    rng = np.random.default_rng(0)
    loss = rng.normal(size=n)
    loss[12_345] = 1e3
    loss[4_321] = -1e3
    acc = rng.uniform(size=n)
    acc[17_000] = 7.0
    make_run("hist", "abc", rows=[{"loss": float(a), "acc": float(b)} for a, b in zip(loss, acc, strict=True)])
    run = trackline.Api().run("hist/abc")
    df = run.history(samples=200)
    assert isinstance(df, pd.DataFrame)
    assert len(df) <= 2 * 200  # two keys: each keeps its own extremes
    steps = df["_step"].tolist()
    assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == n - 1
    assert df["loss"].max() == loss.max() == 1e3 and df["loss"].min() == loss.min() == -1e3
    assert df["acc"].max() == 7.0
    one = run.history(samples=200, keys=["loss"])
    assert list(one.columns) == ["_step", "loss"] and len(one) <= 200
    assert one["loss"].max() == 1e3 and one["loss"].min() == -1e3
    # the sampled values are the logged ones
    assert all(loss[s] == v for s, v in zip(one["_step"], one["loss"], strict=True))
    rows = run.history(samples=10_000_000, keys=["loss"], pandas=False)
    assert len(rows) == n and rows[12_345] == {"_step": 12_345, "loss": 1e3}


def test_history_keys_x_axis_and_bad_arguments(isolated: Path) -> None:
    make_run("hist", "abc", rows=[
        {"loss": 1.0}, {"loss": 2.0, "epoch": 0}, {"loss": 3.0}, {"val": {"acc": 0.5}, "epoch": 1}, {"loss": 5.0},
    ])
    run = trackline.Api().run("hist/abc")
    # with keys: only rows that hold all of them (W&B)
    assert run.history(keys=["loss", "epoch"], pandas=False) == [{"_step": 1, "loss": 2.0, "epoch": 0}]
    # x_axis joins the keys and must be present
    df = run.history(keys=["loss"], x_axis="epoch")
    assert df["_step"].tolist() == [1] and df["epoch"].tolist() == [0]
    # nested keys come back nested in rows and dotted in frames
    assert run.history(keys=["val.acc"], pandas=False) == [{"_step": 3, "val": {"acc": 0.5}}]
    assert run.history(keys=["val.acc"])["val.acc"].tolist() == [0.5]
    with pytest.raises(ValueError, match="keys must be a list of metric names"):
        run.history(keys="loss")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="samples must be a positive integer"):
        run.history(samples=0)
    with pytest.raises(ValueError, match="stream must be 'default' or 'system'"):
        run.history(stream="gpu")
    with pytest.raises(ValueError, match="keys cannot be given with stream='system'"):
        run.history(keys=["loss"], stream="system")
    # A key the run never logged: every read says so, pointing at the caller's line.
    reads = {
        "history": lambda: run.history(keys=["nope"], pandas=False),
        "scan_history": lambda: list(run.scan_history(keys=["loss", "nope"])),
        "history_frame": lambda: run.history_frame(["loss", "nope"], engine="arrow").num_rows,
    }
    for name, read in reads.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = read()
        assert got in ([], 0) or name == "history_frame", name
        assert len(caught) == 1 and "has no history for 'nope'" in str(caught[0].message), name
        assert caught[0].filename == __file__, name
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # keys it has: no warning
        list(run.scan_history(keys=["loss"]))
        run.history_frame(["loss", "_step"], min_step=10**9)  # none in range: still no warning


def test_scan_history_semantics(isolated: Path) -> None:
    rows = [({"a": i, "b": i * 10}, i) if i % 3 == 0 else ({"a": i}, i) for i in range(100)]
    rows.append(({"late": 1, "a": -1}, 5))  # a late step overwrites a at step 5, adds late
    make_run("scan", "abc", rows=rows)
    run = trackline.Api().run("scan/abc")
    every = list(run.scan_history())
    assert [r["_step"] for r in every] == list(range(100))
    assert every[5]["a"] == -1 and every[5]["late"] == 1 and every[6]["b"] == 60
    both = list(run.scan_history(keys=["a", "b"]))
    assert [r["_step"] for r in both] == list(range(0, 100, 3))
    assert all(set(r) == {"_step", "a", "b"} for r in both)
    # [min_step, max_step), as in W&B
    window = list(run.scan_history(keys=["a"], min_step=10, max_step=20))
    assert [r["_step"] for r in window] == list(range(10, 20))
    assert list(run.scan_history(min_step=1000)) == []
    with pytest.raises(ValueError, match="keys must be a list"):
        run.scan_history(keys="a")  # type: ignore[arg-type]
    it = run.scan_history(keys=["b"], page_size=2)
    assert next(it) == {"_step": 0, "b": 0} and next(iter(it)) == {"_step": 3, "b": 30}


def test_scan_history_crosses_gaps_and_sparse_keys(isolated: Path) -> None:
    steps = [0, 1, 2, 10_000, 10_001, 5_000_000, 5_000_001]
    make_run("scan", "gaps", rows=[({"x": s}, s) for s in steps])
    run = trackline.Api().run("scan/gaps")
    assert [r["x"] for r in run.scan_history(page_size=1)] == steps


def test_history_frame_engines(isolated: Path) -> None:
    make_run("frame", "abc", rows=[{"i": 1, "f": 0.5, "s": "a"}, {"i": 2}, {"f": math.nan, "s": "c"}])
    run = trackline.Api().run("frame/abc")
    df = run.history_frame(keys=["i", "f", "s"])
    assert list(df.columns) == ["_step", "f", "i", "s"]
    assert df["_step"].tolist() == [0, 1, 2]
    assert df["i"].tolist()[:2] == [1.0, 2.0] and math.isnan(df["i"].tolist()[2])
    assert df["s"].isna().tolist() == [False, True, False] and df["s"][2] == "c"
    pl_df = run.history_frame(keys=["i", "f"], engine="polars")
    assert pl_df["i"].to_list() == [1, 2, None] and str(pl_df["i"].dtype) == "Int64"
    table = run.history_frame(keys=["i", "f"], engine="arrow")
    assert table.column("i").to_pylist() == [1, 2, None] and table.column("_step").to_pylist() == [0, 1, 2]
    assert run.history_frame(keys=["i"], engine="arrow").column("i").to_pylist() == [1, 2]
    assert run.history_frame(keys=["i"], min_step=1, max_step=2)["_step"].tolist() == [1]
    with pytest.raises(ValueError, match="engine must be one of pandas, polars, arrow"):
        run.history_frame(engine="excel")


def test_runs_histories_one_long_table(isolated: Path) -> None:
    make_run("many", "a", rows=[{"loss": 1.0}, {"loss": 0.5}])
    make_run("many", "b", rows=[{"loss": 2.0}, {"loss": 1.5}, {"loss": 1.0}])
    runs = trackline.Api().runs("many", order="+created_at")
    df = runs.histories(keys=["loss"], format="pandas")
    assert df[["run_id", "_step", "loss"]].values.tolist() == [
        ["a", 0, 1.0], ["a", 1, 0.5], ["b", 0, 2.0], ["b", 1, 1.5], ["b", 2, 1.0]]
    rows = runs.histories(keys=["loss"])
    assert rows[0] == {"_step": 0, "loss": 1.0, "run_id": "a"} and len(rows) == 5
    pl_df = runs.histories(keys=["loss"], format="polars", samples=None)
    assert pl_df.height == 5 and pl_df["run_id"].to_list() == ["a", "a", "b", "b", "b"]
    assert runs.histories(keys=["loss"], format="arrow").num_rows == 5
    with pytest.raises(ValueError, match="format must be one of"):
        runs.histories(format="xls")


def test_system_metrics_stream(isolated: Path) -> None:
    run = trackline.init(project="sys", id="s", mode="offline", settings={"x_stats_sampling_interval": 0.1})
    run.log({"loss": 1.0})
    deadline = time.monotonic() + 10
    from trackline.records.frames import read_all

    while time.monotonic() < deadline and len(read_all(run.settings.sync_file)[1]) < 6:
        time.sleep(0.05)  # wait for a few samples (not a timing assert)
    run.finish()
    from trackline.sender.sync import sync_log
    from trackline.storage import open_store

    sync_log(run.settings.sync_file, open_store(run.settings.store_url))
    got = trackline.Api().run("sys/s")
    rows = got.history(stream="system", pandas=False)
    assert rows and all("system.cpu" in r and "_step" not in r for r in rows)
    assert "system.cpu" in got.system_metrics
    assert "system.cpu" not in got.history_keys()
