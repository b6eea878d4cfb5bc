"""The ``trackline.plot`` chart functions, with W&B's spec names, table columns and fields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from trackline.data_types.table import Table
from trackline.errors import Error
from trackline.plot.custom_chart import CustomChart


def plot_table(
    vega_spec_name: str,
    data_table: Table,
    fields: Mapping[str, Any],
    string_fields: Mapping[str, Any] | None = None,
    split_table: bool = False,
) -> CustomChart:
    """A custom chart from a table and a Vega spec name (W&B: ``wandb.plot_table``)."""
    if not isinstance(data_table, Table):
        raise Error(f"Expected `data_table` to be `trackline.Table` type, instead got {type(data_table).__name__}")
    return CustomChart(data_table, vega_spec_name, fields, string_fields, split_table)


def line(table: Table, x: str, y: str, stroke: str | None = None, title: str = "", split_table: bool = False) -> CustomChart:
    return plot_table("wandb/line/v0", table, {"x": x, "y": y, "stroke": stroke}, {"title": title}, split_table)


def scatter(table: Table, x: str, y: str, title: str = "", split_table: bool = False) -> CustomChart:
    return plot_table("wandb/scatter/v0", table, {"x": x, "y": y}, {"title": title}, split_table)


def bar(table: Table, label: str, value: str, title: str = "", split_table: bool = False) -> CustomChart:
    return plot_table("wandb/bar/v0", table, {"label": label, "value": value}, {"title": title}, split_table)


def histogram(table: Table, value: str, title: str = "", split_table: bool = False) -> CustomChart:
    return plot_table("wandb/histogram/v0", table, {"value": value}, {"title": title}, split_table)


def line_series(
    xs: Iterable[Any],
    ys: Iterable[Iterable[Any]],
    keys: Iterable[str] | None = None,
    title: str = "",
    xname: str = "x",
    split_table: bool = False,
) -> CustomChart:
    """Several lines on one chart: one ``xs`` for all, or one per line in ``ys``."""
    xs_list: list[Any] = [list(x) for x in xs] if _nested(xs) else list(xs)
    y_lists = [list(y) for y in ys]
    x_lists: list[list[Any]]
    if not y_lists:
        raise ValueError("ys: give at least one line (a list of y values)")
    if xs_list and isinstance(xs_list[0], list):
        if len(xs_list) != len(y_lists):
            raise ValueError(f"Number of x-series ({len(xs_list)}) must match number of y-series ({len(y_lists)}).")
        x_lists = xs_list
    else:
        x_lists = [xs_list] * len(y_lists)
    for i, (x, y) in enumerate(zip(x_lists, y_lists, strict=False)):
        if len(x) != len(y):
            raise ValueError(f"Number of x values ({len(x)}) and y values ({len(y)}) of line {i} must match.")
    names = list(keys) if keys is not None else [f"line_{i}" for i in range(len(y_lists))]
    if len(names) != len(y_lists):
        raise ValueError(f"Number of keys ({len(names)}) must match number of y-series ({len(y_lists)}).")
    data = [[x, names[i], y] for i, (xl, yl) in enumerate(zip(x_lists, y_lists, strict=False)) for x, y in zip(xl, yl, strict=False)]
    table = Table(columns=["step", "lineKey", "lineVal"], data=data, allow_mixed_types=True)
    return plot_table(
        "wandb/lineseries/v0", table, {"step": "step", "lineKey": "lineKey", "lineVal": "lineVal"},
        {"title": title, "xname": xname}, split_table,
    )


def _nested(xs: Any) -> bool:
    if not isinstance(xs, (list, tuple)) and not hasattr(xs, "ndim"):
        return False
    try:
        first = next(iter(xs))
    except StopIteration:
        return False
    return isinstance(first, (list, tuple)) or getattr(first, "ndim", 0) >= 1


def confusion_matrix(
    probs: Sequence[Sequence[float]] | None = None,
    y_true: Sequence[Any] | None = None,
    preds: Sequence[Any] | None = None,
    class_names: Sequence[str] | None = None,
    title: str = "Confusion Matrix Curve",
    split_table: bool = False,
) -> CustomChart:
    import numpy as np

    if probs is not None and preds is not None:
        raise ValueError("Only one of `probs` or `preds` should be provided, not both.")
    if y_true is None:
        raise ValueError("y_true: give the true labels")
    if probs is not None:
        preds = np.argmax(np.asarray(probs), axis=1).tolist()
    if preds is None:
        raise ValueError("give `probs` or `preds`")
    preds = [p.item() if hasattr(p, "item") else p for p in preds]
    y_true = [y.item() if hasattr(y, "item") else y for y in y_true]
    if len(preds) != len(y_true):
        raise ValueError("The number of predictions and true labels must be equal.")
    if class_names is not None:
        n = len(class_names)
        class_idx: Any = list(range(n))
        if len(set(preds)) > n:
            raise ValueError("The number of unique predicted classes exceeds the number of class names.")
        if len(set(y_true)) > n:
            raise ValueError("The number of unique true labels exceeds the number of class names.")
    else:
        class_idx = set(preds).union(set(y_true))
        n = len(class_idx)
        class_names = [f"Class_{i + 1}" for i in range(n)]
    mapping = {v: i for i, v in enumerate(sorted(class_idx))}
    counts = np.zeros((n, n))
    for t, p in zip(y_true, preds, strict=False):
        if t not in mapping or p not in mapping:
            raise ValueError(f"label {t if t not in mapping else p!r} is not a class index 0..{n - 1}")
        counts[mapping[t], mapping[p]] += 1
    data = [[class_names[i], class_names[j], float(counts[i, j])] for i in range(n) for j in range(n)]
    table = Table(columns=["Actual", "Predicted", "nPredictions"], data=data)
    return plot_table(
        "wandb/confusion_matrix/v1", table,
        {"Actual": "Actual", "Predicted": "Predicted", "nPredictions": "nPredictions"}, {"title": title}, split_table,
    )


def _binary_counts(y: Any, scores: Any) -> tuple[Any, Any, Any]:
    """Cumulative true/false positives at each distinct score threshold (descending), as sklearn."""
    import numpy as np

    order = np.argsort(scores, kind="mergesort")[::-1]
    s, yy = scores[order], y[order]
    distinct = np.where(np.diff(s))[0]
    idx = np.r_[distinct, yy.size - 1]
    tps = np.cumsum(yy)[idx]
    fps = 1 + idx - tps
    return fps, tps, s[idx]


def _check_curve_inputs(y_true: Any, y_probas: Any) -> tuple[Any, Any]:
    import numpy as np

    if y_true is None or y_probas is None:
        raise ValueError("y_true and y_probas are both required")
    yt = np.asarray(y_true)
    yp = np.asarray(y_probas, dtype=np.float64)
    if yp.ndim != 2 or yp.shape[0] != yt.shape[0]:
        raise ValueError(f"y_probas must be (samples, classes) with one row per label; got {list(yp.shape)} for {yt.shape[0]} labels")
    if not np.isfinite(yp).all():
        raise ValueError("y_probas contains NaN or infinite values")
    return yt, yp


def _class_label(classes: Any, i: int, labels: Sequence[str] | None) -> Any:
    import numpy as np

    c = classes[i]
    if labels is not None and isinstance(c, (int, np.integer)):
        return labels[int(c)]
    return c.item() if hasattr(c, "item") else c


def pr_curve(
    y_true: Any = None,
    y_probas: Any = None,
    labels: Sequence[str] | None = None,
    classes_to_plot: Sequence[Any] | None = None,
    interp_size: int = 21,
    title: str = "Precision-Recall Curve",
    split_table: bool = False,
) -> CustomChart:
    import numpy as np

    yt, yp = _check_curve_inputs(y_true, y_probas)
    classes = np.unique(yt)
    to_plot = classes if classes_to_plot is None else classes_to_plot
    interp_recall = np.linspace(0, 1, interp_size)[::-1]
    rows: list[list[Any]] = []
    for i in np.where(np.isin(classes, to_plot))[0]:
        fps, tps, _ = _binary_counts((yt == classes[i]).astype(np.int64), yp[:, i])
        precision = tps / np.maximum(tps + fps, 1)
        recall = tps / tps[-1] if tps[-1] else np.zeros_like(tps, dtype=np.float64)
        precision = np.r_[precision[::-1], 1.0]
        recall = np.r_[recall[::-1], 0.0]
        precision = np.maximum.accumulate(precision)[::-1]  # W&B's _step, then reversed
        recall = recall[::-1]
        pick = np.minimum(np.searchsorted(recall, interp_recall, side="left"), len(precision) - 1)
        label = _class_label(classes, int(i), labels)
        for p, r in zip(precision[pick], interp_recall, strict=False):
            rows.append([label, round(float(p), 3), round(float(r), 3)])
    table = Table(columns=["class", "precision", "recall"], data=rows)
    return plot_table(
        "wandb/area-under-curve/v0", table, {"x": "recall", "y": "precision", "class": "class"},
        {"title": title, "x-axis-title": "Recall", "y-axis-title": "Precision"}, split_table,
    )


def roc_curve(
    y_true: Any = None,
    y_probas: Any = None,
    labels: Sequence[str] | None = None,
    classes_to_plot: Sequence[Any] | None = None,
    title: str = "ROC Curve",
    split_table: bool = False,
) -> CustomChart:
    import numpy as np

    yt, yp = _check_curve_inputs(y_true, y_probas)
    classes = np.unique(yt)
    to_plot = classes if classes_to_plot is None else classes_to_plot
    rows: list[list[Any]] = []
    for i in np.where(np.isin(classes, to_plot))[0]:
        fps, tps, _ = _binary_counts((yt == classes[i]).astype(np.int64), yp[..., i])
        fpr = np.r_[0.0, fps / fps[-1]] if fps[-1] else np.r_[0.0, np.zeros(len(fps))]
        tpr = np.r_[0.0, tps / tps[-1]] if tps[-1] else np.r_[0.0, np.zeros(len(tps))]
        label = _class_label(classes, int(i), labels)
        for f, t in zip(fpr, tpr, strict=False):
            rows.append([label, round(float(f), 3), round(float(t), 3)])
    table = Table(columns=["class", "fpr", "tpr"], data=rows)
    return plot_table(
        "wandb/area-under-curve/v0", table, {"x": "fpr", "y": "tpr", "class": "class"},
        {"title": title, "x-axis-title": "False positive rate", "y-axis-title": "True positive rate"}, split_table,
    )
