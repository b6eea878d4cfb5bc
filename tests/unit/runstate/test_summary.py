"""Summaries: last value, define_metric aggregates (min/max/mean/first/last/best/none), NaN, globs."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from trackline.records import kinds
from trackline.runstate.handler import RunHandler


def handler_with(defs: list[dict[str, Any]] = ()) -> RunHandler:  # type: ignore[assignment]
    h = RunHandler(b"s")
    h.apply(1, [kinds.RUN, {"run_id": "r", "entity": "e", "project": "p", "start_time": 0.0}])
    for i, d in enumerate(defs):
        h.apply(2 + i, [kinds.METRIC, {"summary": [], **d}])
    return h


def log_all(h: RunHandler, rows: list[dict[str, Any]]) -> None:
    for i, row in enumerate(rows):
        h.apply(100 + i, [kinds.HISTORY, dict(row), None, None, float(i)])
    h.take()  # end of batch: buffered rows become columns and summary entries


def test_summary_is_the_last_value() -> None:
    h = handler_with()
    log_all(h, [{"loss": 3.0, "s": "a"}, {"loss": 1.0}, {"loss": 2.0}])
    assert h.summary["loss"] == 2.0
    assert h.summary["s"] == "a"
    assert h.summary["_step"] == 2


def test_aggregates() -> None:
    h = handler_with([{"name": "loss", "summary": ["min", "max", "mean", "first", "last"]}])
    log_all(h, [{"loss": 3.0}, {"loss": 1.0}, {"loss": 2.0}])
    assert h.summary["loss"] == {"min": 1.0, "max": 3.0, "mean": 2.0, "first": 3.0, "last": 2.0}


def test_nan_propagates_into_min_and_max() -> None:
    h = handler_with([{"name": "loss", "summary": ["min", "max", "last"]}])
    log_all(h, [{"loss": 3.0}, {"loss": float("nan")}, {"loss": 2.0}])
    assert math.isnan(h.summary["loss"]["min"]) and math.isnan(h.summary["loss"]["max"])
    assert h.summary["loss"]["last"] == 2.0


def test_best_follows_goal() -> None:
    h = handler_with([
        {"name": "acc", "summary": ["best"], "goal": "maximize"},
        {"name": "loss", "summary": ["best"], "goal": "minimize"},
    ])
    log_all(h, [{"acc": 0.5, "loss": 2.0}, {"acc": 0.9, "loss": 1.0}, {"acc": 0.7, "loss": 1.5}])
    assert h.summary["acc"] == {"best": 0.9}
    assert h.summary["loss"] == {"best": 1.0}


def test_none_removes_the_metric_from_the_summary() -> None:
    h = handler_with([{"name": "noisy", "summary": ["none"]}])
    log_all(h, [{"noisy": 1.0, "kept": 2}])
    assert "noisy" not in h.summary
    assert h.summary["kept"] == 2


def test_glob_definitions_match_by_prefix_and_skip_underscores() -> None:
    h = handler_with([{"name": "val/*", "summary": ["max"]}])
    log_all(h, [{"val/acc": 0.1, "train/acc": 0.5}, {"val/acc": 0.3, "train/acc": 0.2}])
    assert h.summary["val/acc"] == {"max": 0.3}
    assert h.summary["train/acc"] == 0.2
    assert h.metrics.lookup("_runtime") is None


def test_nested_metrics_use_dotted_names() -> None:
    h = handler_with([{"name": "a.b", "summary": ["min"]}])
    log_all(h, [{"a": {"b": 5, "c": 1}}, {"a": {"b": 2, "c": 7}}])
    assert h.summary["a"] == {"b": {"min": 2}, "c": 7}


def test_step_metric_sync_inserts_the_last_value() -> None:
    h = handler_with([{"name": "epoch"}, {"name": "val", "step_metric": "epoch", "step_sync": True}])
    for i, row in enumerate([{"val": 1.0}, {"epoch": 3}, {"val": 2.0}]):
        h.apply(100 + i, [kinds.HISTORY, row, None, None, float(i)])
    ch = h.take()
    steps, values = ch.points["epoch"]
    assert list(zip(steps, values, strict=True)) == [(0, 0.0), (1, 3), (2, 3)]


def test_explicit_summary_set_replaces_and_resets_the_aggregate() -> None:
    h = handler_with([{"name": "loss", "summary": ["min"]}])
    log_all(h, [{"loss": 1.0}])
    h.apply(50, [kinds.SUMMARY, [[["loss"], 7.0]], []])
    assert h.summary["loss"] == 7.0
    log_all(h, [{"loss": 4.0}])
    assert h.summary["loss"] == {"min": 4.0}
    h.apply(60, [kinds.SUMMARY, [], [["loss"]]])
    assert "loss" not in h.summary


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(st.floats(-1e12, 1e12), st.sampled_from([math.nan, math.inf, -math.inf]), st.integers(-1000, 1000)), min_size=1, max_size=50))
def test_aggregates_match_python(values: list[float]) -> None:
    h = handler_with([{"name": "m", "summary": ["min", "max", "mean", "first", "last"]}])
    log_all(h, [{"m": v} for v in values])
    got = h.summary["m"]
    if any(isinstance(v, float) and math.isnan(v) for v in values):
        assert math.isnan(got["min"]) and math.isnan(got["max"])
    else:
        assert got["min"] == min(values) and got["max"] == max(values)
    assert got["first"] is values[0] or got["first"] == values[0] or math.isnan(got["first"])
    expected_mean = math.fsum(values) / len(values) if all(math.isfinite(v) for v in values) else None
    if expected_mean is not None:
        assert math.isclose(got["mean"], expected_mean, rel_tol=1e-9, abs_tol=1e-9)


def test_a_column_whose_sum_overflows_gives_an_infinite_mean_without_a_numpy_warning() -> None:
    """The sender's numpy sum must not print RuntimeWarnings into the training output."""
    import warnings

    import numpy as np

    from trackline.runstate.metrics import Aggregate

    agg = Aggregate()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        agg.add_many(np.array([1e308, 1e308, 5.0]))
        agg.add_many(np.array([-np.inf, np.inf]))
    assert agg.count == 5 and math.isnan(agg.total)
    assert (agg.min, agg.max) == (-math.inf, math.inf)
