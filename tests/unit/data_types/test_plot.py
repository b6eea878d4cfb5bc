"""trackline.plot: W&B's spec names, table columns, fields and errors."""

from __future__ import annotations

import numpy as np
import pytest

import trackline
from trackline.errors import Error


def test_simple_charts_use_wandb_specs() -> None:
    t = trackline.Table(columns=["a", "b"], data=[[1, 2]])
    assert trackline.plot.line(t, "a", "b").spec_name == "wandb/line/v0"
    assert trackline.plot.scatter(t, "a", "b").fields == {"x": "a", "y": "b"}
    assert trackline.plot.bar(t, "a", "b").fields == {"label": "a", "value": "b"}
    assert trackline.plot.histogram(t, "a", title="h").string_fields == {"title": "h"}
    with pytest.raises(Error, match=r"Expected `data_table` to be `trackline\.Table`"):
        trackline.plot_table("x/y", [[1]], {})  # type: ignore[arg-type]


def test_line_series_table_and_errors() -> None:
    chart = trackline.plot.line_series([0, 1], [[1, 2], [3, 4]], keys=["a", "b"], xname="epoch")
    assert chart.spec_name == "wandb/lineseries/v0"
    assert chart.table.columns == ["step", "lineKey", "lineVal"]
    assert chart.table.data == [[0, "a", 1], [1, "a", 2], [0, "b", 3], [1, "b", 4]]
    assert chart.string_fields["xname"] == "epoch"
    default = trackline.plot.line_series([[0, 1], [5]], [[1, 2], [3]])
    assert {r[1] for r in default.table.data} == {"line_0", "line_1"}
    with pytest.raises(ValueError, match="must match"):
        trackline.plot.line_series([0, 1], [[1, 2, 3]])
    with pytest.raises(ValueError, match="Number of keys"):
        trackline.plot.line_series([0], [[1]], keys=["a", "b"])


def test_confusion_matrix() -> None:
    cm = trackline.plot.confusion_matrix(y_true=[0, 1, 1], preds=[0, 1, 0], class_names=["cat", "dog"])
    assert cm.spec_name == "wandb/confusion_matrix/v1"
    assert cm.table.columns == ["Actual", "Predicted", "nPredictions"]
    assert cm.table.data == [["cat", "cat", 1.0], ["cat", "dog", 0.0], ["dog", "cat", 1.0], ["dog", "dog", 1.0]]
    from_probs = trackline.plot.confusion_matrix(probs=[[0.9, 0.1], [0.2, 0.8]], y_true=[0, 1])
    assert [r[:2] for r in from_probs.table.data if r[2]] == [["Class_1", "Class_1"], ["Class_2", "Class_2"]]
    with pytest.raises(ValueError, match="Only one of `probs` or `preds`"):
        trackline.plot.confusion_matrix(probs=[[1.0]], preds=[0], y_true=[0])
    with pytest.raises(ValueError, match="must be equal"):
        trackline.plot.confusion_matrix(preds=[0, 1], y_true=[0])


def test_roc_and_pr_curves_of_a_perfect_classifier() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.1, 0.9]])
    roc = trackline.plot.roc_curve(y, p, labels=["neg", "pos"])
    assert roc.spec_name == "wandb/area-under-curve/v0" and roc.table.columns == ["class", "fpr", "tpr"]
    pos = [(f, t) for c, f, t in roc.table.data if c == "pos"]
    assert (0.0, 1.0) in pos and pos[0] == (0.0, 0.0) and pos[-1] == (1.0, 1.0)
    pr = trackline.plot.pr_curve(y, p, classes_to_plot=[1], interp_size=5)
    assert pr.table.columns == ["class", "precision", "recall"] and len(pr.table.data) == 5
    assert all(row[0] == 1 and row[1] == 1.0 for row in pr.table.data)  # perfect: precision 1 everywhere
    assert pr.fields == {"x": "recall", "y": "precision", "class": "class"}
    with pytest.raises(ValueError, match="one row per label"):
        trackline.plot.roc_curve([0, 1], [[0.5, 0.5]])
