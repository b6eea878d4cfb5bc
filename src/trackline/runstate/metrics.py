"""Metric definitions (``define_metric``) and the summary aggregates they ask for.

W&B accepts ``summary="best"`` and ``goal=`` but computes nothing for them; trackline
computes ``best`` (the minimum or maximum, by ``goal``; minimize when no goal is given).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

SUMMARY_CHOICES = ("min", "max", "mean", "first", "last", "best", "copy", "none")


@dataclass
class MetricDef:
    """One ``define_metric`` definition (a concrete name or a ``prefix*`` glob)."""

    name: str
    step_metric: str | None = None
    step_sync: bool = False
    hidden: bool = False
    summary: tuple[str, ...] = ()
    goal: str | None = None  # "minimize" | "maximize"

    @property
    def is_glob(self) -> bool:
        return self.name.endswith("*")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "step_metric": self.step_metric,
            "step_sync": self.step_sync,
            "hidden": self.hidden,
            "summary": list(self.summary),
            "goal": self.goal,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MetricDef:
        return cls(
            name=d["name"],
            step_metric=d.get("step_metric"),
            step_sync=bool(d.get("step_sync")),
            hidden=bool(d.get("hidden")),
            summary=tuple(d.get("summary") or ()),
            goal=d.get("goal"),
        )

    def merged(self, other: MetricDef) -> MetricDef:
        """W&B's merge (overwrite=False): flags are ORed, summary sets are united."""
        summary = tuple(dict.fromkeys(self.summary + other.summary))
        return MetricDef(
            name=self.name,
            step_metric=other.step_metric or self.step_metric,
            step_sync=self.step_sync or other.step_sync,
            hidden=self.hidden or other.hidden,
            summary=summary,
            goal=other.goal or self.goal,
        )


def _is_number(v: Any) -> bool:
    return (type(v) is float or type(v) is int) and type(v) is not bool


@dataclass
class Aggregate:
    """Running min/max/mean/first/last of one metric. NaN propagates into min and max."""

    count: int = 0
    total: float = 0.0
    min: float | None = None
    max: float | None = None
    first: Any = None
    has_first: bool = False
    last: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, value: Any) -> None:
        if not self.has_first:
            self.first = value
            self.has_first = True
        self.last = value
        if not _is_number(value):
            return
        self.count += 1
        self.total += value
        if self.min is None:
            self.min = self.max = value
            return
        if math.isnan(value) or (self.min is not None and math.isnan(self.min)):
            self.min = math.nan
        elif value < self.min:
            self.min = value
        if math.isnan(value) or (self.max is not None and math.isnan(self.max)):
            self.max = math.nan
        elif self.max is None or value > self.max:
            self.max = value

    def add_many(self, values: Any) -> None:
        """Add a column at once (a numeric numpy array, or any sequence)."""
        import numpy as np

        if not isinstance(values, np.ndarray) or values.dtype.kind not in "if" or len(values) == 0:
            for v in values:
                self.add(v)
            return
        if not self.has_first:
            self.first = values[0].item()
            self.has_first = True
        self.last = values[-1].item()
        self.count += len(values)
        with np.errstate(over="ignore", invalid="ignore"):  # inf / NaN, as Python's own sum gives, silently
            self.total += float(values.sum(dtype=np.float64))
        lo, hi = values.min().item(), values.max().item()
        if self.min is None or self.max is None:
            self.min, self.max = lo, hi
            return
        self.min = math.nan if (lo != lo or self.min != self.min) else min(self.min, lo)
        self.max = math.nan if (hi != hi or self.max != self.max) else max(self.max, hi)

    def value(self, kinds: tuple[str, ...], goal: str | None) -> Any:
        """The summary entry for ``kinds``: a dict of aggregates, or ``None`` to drop it."""
        if "none" in kinds:
            return None
        out: dict[str, Any] = {}
        for kind in kinds:
            if kind == "min" and self.min is not None:
                out["min"] = self.min
            elif kind == "max" and self.max is not None:
                out["max"] = self.max
            elif kind == "mean" and self.count:
                out["mean"] = self.total / self.count
            elif kind == "first" and self.has_first:
                out["first"] = self.first
            elif kind in ("last", "copy") and self.has_first:
                out["last"] = self.last
            elif kind == "best":
                best = self.max if goal == "maximize" else self.min
                if best is not None:
                    out["best"] = best
        return out

    def to_list(self) -> list[Any]:
        return [self.count, self.total, self.min, self.max, self.first, self.has_first, self.last]

    @classmethod
    def from_list(cls, v: list[Any]) -> Aggregate:
        return cls(v[0], v[1], v[2], v[3], v[4], v[5], v[6])


class MetricRegistry:
    """Definitions by name and glob; resolves each new metric name to its definition once."""

    def __init__(self) -> None:
        self.defs: dict[str, MetricDef] = {}
        self._globs: list[MetricDef] = []
        self._resolved: dict[str, MetricDef | None] = {}

    def define(self, d: MetricDef, overwrite: bool = False) -> MetricDef:
        old = self.defs.get(d.name)
        new = d if (old is None or overwrite) else old.merged(d)
        self.defs[d.name] = new
        self._globs = [m for m in self.defs.values() if m.is_glob]
        self._globs.sort(key=lambda m: -len(m.name))  # the longest prefix wins
        self._resolved.clear()
        return new

    def lookup(self, name: str) -> MetricDef | None:
        try:
            return self._resolved[name]
        except KeyError:
            pass
        found = self.defs.get(name)
        if found is None and self._globs and not name.startswith("_"):
            for g in self._globs:
                if name.startswith(g.name[:-1]):
                    found = g
                    break
        self._resolved[name] = found
        return found

    def step_metrics(self) -> set[str]:
        return {d.step_metric for d in self.defs.values() if d.step_metric}
