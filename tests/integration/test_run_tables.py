"""W&B's run tables: a Table logged with run.log is also a ``run_table`` artifact, ``run-<id>-<key>``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

import trackline
from tests.unit.data_types.conftest import records
from trackline.records import kinds


def table() -> trackline.Table:
    return trackline.Table(columns=["x", "label"], data=[[1, "cat"], [2, "dog"]])


def test_a_logged_table_is_a_run_table_artifact(isolated: Path) -> None:
    run = trackline.init(project="tables")
    t = table()
    run.log({"loss": 0.5})
    run.log({"preds": t})
    run.finish()
    art = trackline.Api().artifact(f"{run.entity}/tables/run-{run.id}-preds:latest")
    assert (art.type, art.version, art.history_step) == ("run_table", "v0", 0)  # the last row before it
    assert "preds.table.json" in art.manifest.entries
    ref = json.loads(Path(art.download(), "preds.table.json").read_text())
    assert ref["_type"] == "table-file" and ref["nrows"] == 2 and ref["path"] in art.manifest.entries
    back = art.get("preds")
    assert isinstance(back, trackline.Table) and back.columns == ["x", "label"] and back.data == t.data
    assert art.logged_by().id == run.id
    assert [a.name for a in trackline.Api().run(f"tables/{run.id}").logged_artifacts()] == [f"run-{run.id}-preds:v0"]


def test_the_same_table_twice_adds_no_version(isolated: Path) -> None:
    run = trackline.init(project="tables")
    t = table()
    run.log({"preds": t})
    run.log({"preds": t})  # the same object (IMMUTABLE): written once
    run.log({"preds": table()})  # equal content: the same digest
    mutable = trackline.Table(columns=["x"], data=[[1]], log_mode="MUTABLE")
    run.log({"m": mutable})
    mutable.add_data(2)
    run.log({"m": mutable})  # changed: a new version
    run.finish()
    api = trackline.Api({"project": "tables"})
    versions = api.artifacts("run_table", f"run-{run.id}-preds")
    assert [v.version for v in versions] == ["v0"]
    assert [len(v.get("m").data) for v in api.artifacts("run_table", f"run-{run.id}-m")] == [2, 1]
    assert len(api.artifact(f"run-{run.id}-preds:v0").get("preds").data) == 2


def test_names_charts_summary_and_scalars(isolated: Path) -> None:
    run = trackline.init(project="tables")
    run.log({"loss": 1.0})
    run.log({"eval/preds v2": table(), "nested": {"inner": pd.DataFrame({"a": [1, 2]})}})
    run.log({"bars": trackline.plot.bar(table(), "label", "x")})
    run.summary["best"] = table()  # summary values are not run tables
    run.log({"inc": trackline.Table(columns=["x"], data=[[1]], log_mode="INCREMENTAL")})
    run.finish()
    api = trackline.Api({"project": "tables"})
    names = sorted(c.name for c in api.artifact_collections("tables", "run_table"))
    assert names == [f"run-{run.id}-bars_table", f"run-{run.id}-evalpredsv2", f"run-{run.id}-inner"]
    assert "eval/preds v2.table.json" in api.artifact(f"run-{run.id}-evalpredsv2:v0").manifest.entries
    assert api.artifact(f"run-{run.id}-inner:v0").get("inner").get_dataframe()["a"].tolist() == [1, 2]


def test_records_order_and_a_refused_name(isolated: Path) -> None:
    run = trackline.init(project="tables", mode="offline")
    run.log({"preds": table()})
    kinds_seen = [r[0] for r in records(run, kinds.FILES) + records(run, kinds.ARTIFACT) + records(run, kinds.HISTORY)]
    assert kinds_seen == [kinds.FILES, kinds.ARTIFACT, kinds.HISTORY]
    from trackline.records import codec
    from trackline.records.frames import read_all

    _, frames, _ = read_all(run.settings.sync_file)
    order = [k for k in (codec.decode(f.payload)[0] for f in frames) if k in (kinds.FILES, kinds.ARTIFACT, kinds.HISTORY)]
    assert order == [kinds.FILES, kinds.ARTIFACT, kinds.HISTORY]  # file first, then version, then the row
    body = records(run, kinds.ARTIFACT)[0][1]
    assert (body["name"], body["type"]) == (f"run-{run.id}-preds", "run_table")
    run.log({"../up": table()})  # no entry name: history keeps the table, with a warning
    row = records(run, kinds.HISTORY)[-1][1]
    assert row["../up"]["_type"] == "table-file"
    assert len(records(run, kinds.ARTIFACT)) == 1
    run.finish()


def test_a_name_taken_by_another_type_keeps_the_table_in_history(isolated: Path) -> None:
    run = trackline.init(project="tables")
    taken = trackline.Artifact(f"run-{run.id}-preds", "dataset")
    with taken.new_file("mine.txt") as f:
        f.write("mine")
    run.log_artifact(taken).wait()
    run.log({"preds": table()})
    run.finish()
    api = trackline.Api({"project": "tables"})
    assert [v.type for v in api.artifacts("dataset", f"run-{run.id}-preds")] == ["dataset"]  # refused by the store
    assert api.run(f"tables/{run.id}").summary["preds"].data == table().data
