"""``trackline.plot`` (W&B: ``wandb.plot``): charts drawn by the UI from a logged table.

    run.log({"roc": trackline.plot.roc_curve(y_true, y_probas, labels=["cat", "dog"])})
"""

from __future__ import annotations

from trackline.plot.charts import (
    bar,
    confusion_matrix,
    histogram,
    line,
    line_series,
    plot_table,
    pr_curve,
    roc_curve,
    scatter,
)
from trackline.plot.custom_chart import CustomChart

__all__ = [
    "CustomChart",
    "bar",
    "confusion_matrix",
    "histogram",
    "line",
    "line_series",
    "plot_table",
    "pr_curve",
    "roc_curve",
    "scatter",
]
