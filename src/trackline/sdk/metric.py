"""``define_metric``: argument validation (W&B's messages) and the returned Metric."""

from __future__ import annotations

from typing import Any

from trackline.errors import Error
from trackline.runstate.metrics import SUMMARY_CHOICES


class Metric:
    """A defined metric (W&B: ``wandb.Metric``); read-only properties."""

    def __init__(
        self,
        name: str,
        step_metric: str | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: tuple[str, ...] | None = None,
        goal: str | None = None,
    ) -> None:
        self._name = name
        self._step_metric = step_metric
        self._step_sync = step_sync
        self._hidden = hidden
        self._summary = summary
        self._goal = goal

    @property
    def name(self) -> str:
        return self._name

    @property
    def step_metric(self) -> str | None:
        return self._step_metric

    @property
    def step_sync(self) -> bool | None:
        return self._step_sync

    @property
    def hidden(self) -> bool | None:
        return self._hidden

    @property
    def summary(self) -> tuple[str, ...] | None:
        return self._summary

    @property
    def goal(self) -> str | None:
        return self._goal

    def __repr__(self) -> str:
        return f"Metric(name={self._name!r}, step_metric={self._step_metric!r}, summary={self._summary!r})"


def _check_type(arg: str, value: Any, types: tuple[type, ...]) -> None:
    if value is not None and not isinstance(value, types):
        raise Error(f"Unhandled define_metric() arg: {arg} type: {type(value)}")


def build_definition(
    name: Any,
    step_metric: Any = None,
    step_sync: Any = None,
    hidden: Any = None,
    summary: Any = None,
    goal: Any = None,
    overwrite: Any = None,
) -> tuple[dict[str, Any], list[str]]:
    """Validate the arguments; return the definition record and deprecation warnings."""
    warnings: list[str] = []
    if not name:
        raise Error("define_metric() requires non-empty name argument")
    if isinstance(step_metric, Metric):
        step_metric = step_metric.name
    for arg, value, types in (
        ("name", name, (str,)),
        ("step_metric", step_metric, (str,)),
        ("step_sync", step_sync, (bool,)),
        ("hidden", hidden, (bool,)),
        ("summary", summary, (str,)),
        ("goal", goal, (str,)),
        ("overwrite", overwrite, (bool,)),
    ):
        _check_type(arg, value, types)
    if "*" in name[:-1]:
        raise Error(f"Unhandled define_metric() arg: name (glob suffixes only): {name}")
    summaries: list[str] = []
    if summary:
        for part in summary.split(","):
            kind = part.strip().lower()
            if kind not in SUMMARY_CHOICES:
                raise Error(f"Unhandled define_metric() arg: summary op: {part.strip()}")
            if kind in ("best", "copy"):
                warnings.append(
                    f"define_metric(summary='{kind}') is deprecated in W&B (which ignores it); "
                    "trackline computes it" + (" from goal=" if kind == "best" else "")
                )
            if kind not in summaries:
                summaries.append(kind)
    goal_norm = None
    if goal is not None:
        g = goal.lower()[:3]
        if g not in ("min", "max"):
            raise Error(f"Unhandled define_metric() arg: goal: {goal}")
        goal_norm = "minimize" if g == "min" else "maximize"
    if step_sync is None and step_metric:
        step_sync = True
    definition = {
        "name": name,
        "step_metric": step_metric,
        "step_sync": bool(step_sync),
        "hidden": bool(hidden),
        "summary": summaries,
        "goal": goal_norm,
        "overwrite": bool(overwrite),
    }
    return definition, warnings
