"""define_metric(): W&B's validation errors, the returned Metric, and what reaches the store."""

from __future__ import annotations

import pytest

import trackline
from trackline.errors import Error
from trackline.storage import open_store
from trackline.storage.base import RunKey


@pytest.fixture
def run():
    r = trackline.init(project="dm", mode="offline")
    yield r
    r.finish()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "define_metric\\(\\) requires non-empty name argument"),
        ({"name": "a", "step_metric": 3}, "Unhandled define_metric\\(\\) arg: step_metric type: <class 'int'>"),
        ({"name": "a", "hidden": "yes"}, "Unhandled define_metric\\(\\) arg: hidden type"),
        ({"name": "a", "summary": "median"}, "summary op: median"),
        ({"name": "a", "goal": "sideways"}, "goal: sideways"),
        ({"name": "a*b"}, "glob suffixes only"),
    ],
)
def test_validation_errors(run, kwargs, message) -> None:
    with pytest.raises(Error, match=message):
        run.define_metric(**kwargs)


def test_returned_metric(run) -> None:
    m = run.define_metric("val/loss", step_metric="epoch", summary="MIN,max", goal="min")
    assert (m.name, m.step_metric, m.step_sync, m.summary, m.goal) == (
        "val/loss", "epoch", True, ("min", "max"), "minimize")
    other = run.define_metric("val/acc", step_metric=run.define_metric("epoch2"))
    assert other.step_metric == "epoch2"


def test_definitions_merge_unless_overwrite_and_reach_the_store() -> None:
    run = trackline.init(project="dm")
    run.define_metric("loss", summary="min")
    run.define_metric("loss", summary="max")  # merged: min and max
    run.define_metric("acc", summary="max")
    run.define_metric("acc", summary="last", overwrite=True)  # replaced
    run.define_metric("val/*", step_metric="epoch", hidden=True)
    for i in range(3):
        run.log({"loss": float(i), "acc": float(i), "val/x": i * 2, "epoch": i})
    run.finish()
    store = open_store(run.settings.store_url)
    row = store.get_run(RunKey(run.entity, run.project, run.id))
    defs = {d["name"]: d for d in store.metric_defs(row["pk"])}
    assert defs["loss"]["summary"] == ["min", "max"]
    assert defs["acc"]["summary"] == ["last"]
    assert defs["val/*"]["step_metric"] == "epoch" and defs["val/*"]["hidden"] is True
    assert "epoch" in defs  # a step metric gets its own definition
    assert row["summary"]["loss"] == {"min": 0.0, "max": 2.0}
    assert row["summary"]["acc"] == {"last": 2.0}
