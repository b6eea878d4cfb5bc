"""The store contract, run against every backend: SQLite always, PostgreSQL when a server is up.

Everything goes through the SDK (record log -> sender process -> store) and back through
the query API, so the same expectations cover the writer, the reader and the migrations
on both databases.
"""

from __future__ import annotations

import math
from pathlib import Path

import trackline
from trackline.storage import open_store
from trackline.storage.base import RunKey


def test_round_trip(store_url: str, isolated: Path) -> None:
    run = trackline.init(project="contract", entity="e", config={"lr": 0.1, "nested": {"a": [1, 2]}},
                         tags=["x"], settings={"x_stats_sampling_interval": 0.1})
    run.define_metric("loss", summary="min,max")
    for i in range(3000):
        run.log({"loss": (i % 50) / 10, "acc": i, "text": f"t{i % 3}", "deep": {"v": i * 2},
                 "weird": float("nan") if i == 7 else 1.0})
    run.log({"late": 9}, step=5)
    run.summary["final"] = "ok"
    run.alert("hello", "world")
    print("a console line")
    (Path(run.dir) / "note.txt").write_text("file body")
    run._add_files(["note.txt"])
    run.finish()

    api_run = trackline.Api().run("e/contract/" + run.id)
    assert api_run.state == "finished"
    assert api_run.config == {"lr": 0.1, "nested": {"a": [1, 2]}}
    assert api_run.tags == ["x"]
    summary = api_run.summary
    assert summary["loss"] == {"min": 0.0, "max": 4.9} and summary["final"] == "ok"
    assert summary["deep"] == {"v": 5998} and summary["acc"] == 2999
    rows = list(api_run.scan_history(keys=["loss", "acc", "text", "deep.v"]))
    assert len(rows) == 3000
    assert rows[1234] == {"_step": 1234, "loss": 3.4, "acc": 1234, "text": "t1", "deep": {"v": 2468}}
    weird = {r["_step"]: r["weird"] for r in api_run.scan_history(keys=["weird"])}
    assert math.isnan(weird[7]) and weird[8] == 1.0
    assert [r["late"] for r in api_run.scan_history(keys=["late"])] == [9]

    store = open_store(run.settings.store_url, run.settings.blob_url)
    row = store.get_run(RunKey("e", "contract", run.id))
    assert row is not None
    assert [a["title"] for a in store.alerts(row["pk"])] == ["hello"]
    assert any(line["text"] == "a console line\n" for line in store.logs(row["pk"]))
    files = store.run_files(row["pk"])
    assert [f["path"] for f in files] == ["note.txt"]
    with store.blobs.open(files[0]["sha256"]) as f:  # type: ignore[union-attr]
        assert f.read() == b"file body"
    assert "system.cpu" in store.system_keys(row["pk"]) or store.system_keys(row["pk"]) == []


def test_resume_and_crash_marking(store_url: str, isolated: Path) -> None:
    run = trackline.init(project="contract", entity="e", id="cres0001")
    run.log({"loss": 1.0})
    run.finish(exit_code=1)
    assert trackline.Api().run("e/contract/cres0001").state == "failed"
    again = trackline.init(project="contract", entity="e", id="cres0001", resume="must")
    assert again.step == 1
    again.log({"loss": 0.5})
    again.finish()
    stored = trackline.Api().run("e/contract/cres0001")
    assert stored.state == "finished"
    assert [(r["_step"], r["loss"]) for r in stored.scan_history(keys=["loss"])] == [(0, 1.0), (1, 0.5)]


def test_sync_is_idempotent(store_url: str, isolated: Path) -> None:
    from trackline.sender.sync import sync_log

    run = trackline.init(project="contract", entity="e", mode="offline")
    for i in range(500):
        run.log({"x": i})
    run.finish()
    store = open_store(run.settings.store_url, run.settings.blob_url)
    sync_log(run.settings.sync_file, store)
    sync_log(run.settings.sync_file, store)
    stored = trackline.Api().run(f"e/contract/{run.id}")
    assert [r["x"] for r in stored.scan_history(keys=["x"])] == list(range(500))
