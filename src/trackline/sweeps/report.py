"""One sweep as plain data: its config and state, and each trial's parameters and result.

The same dict answers the server's ``/sweeps`` endpoints (the UI's sweep pages), ``trackline
sweep --show`` and ``Api().sweep(path)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trackline.sweeps.agent import metric_value


def _names(parameters: Mapping[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for name, spec in parameters.items():
        if isinstance(spec, Mapping) and isinstance(spec.get("parameters"), Mapping):
            out += _names(spec["parameters"], f"{prefix}{name}.")
        else:
            out.append(prefix + name)
    return out


def _flat(params: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in (params or {}).items():
        if isinstance(v, Mapping):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def expected_run_count(config: Mapping[str, Any]) -> int | None:
    """Grid: its number of points (capped by ``run_cap``); otherwise ``run_cap`` or None."""
    from trackline.sweeps.config import SweepConfigError, validate
    from trackline.sweeps.search import grid_size

    cap = config.get("run_cap")
    try:
        size = grid_size(validate(dict(config))) if config.get("method") == "grid" else None
    except SweepConfigError:
        size = None
    if size is not None and isinstance(cap, int):
        return min(size, cap)
    return size if size is not None else (cap if isinstance(cap, int) else None)


def describe(sweep: dict[str, Any], trials: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``sweep`` (a ``SweepDB`` row) as the API's JSON; with ``trials``, its runs and best run."""
    config = sweep["config"] or {}
    metric = config.get("metric") if isinstance(config.get("metric"), Mapping) else None
    name, goal = (metric or {}).get("name"), (metric or {}).get("goal", "minimize")
    out: dict[str, Any] = {
        "id": sweep["sweep_id"],
        "name": sweep.get("name") or sweep["sweep_id"],
        "entity": sweep["entity"],
        "project": sweep["project"],
        "state": sweep["state"],
        "method": config.get("method"),
        "metric": {"name": name, "goal": goal} if name else None,
        "created_at": sweep["created_at"],
        "updated_at": sweep["updated_at"],
        "run_count": int(sweep.get("run_count") or 0),
        "expected_run_count": expected_run_count(config),
    }
    if trials is None:
        return out
    runs = []
    for trial in trials:
        value = metric_value(trial.get("summary"), name, goal) if name else None
        runs.append({"id": trial["run_id"], "name": trial.get("name") or trial["run_id"],
                     "state": trial.get("state") or "pending", "created_at": trial["created_at"],
                     "params": _flat(trial["params"]), "metric": value})
    scored = [r for r in runs if r["metric"] is not None]
    best = None
    if scored:
        best = (max if goal == "maximize" else min)(scored, key=lambda r: r["metric"])
    out.update(config=config, parameters=_names(config.get("parameters") or {}), runs=runs,
               best_run=best["id"] if best else None,
               best={"run_id": best["id"], "value": best["metric"]} if best else None)
    return out


def sweeps_of(store: Any, entity: str, project: str) -> list[dict[str, Any]]:
    """Every sweep of a project, newest first, each :func:`describe`d with its runs."""
    from trackline.storage.sql.sweeps import SweepDB

    db = SweepDB(store)
    return [describe(row, db.trials(row)) for row in db.in_project(entity, project)]


def sweep_of(store: Any, entity: str, project: str, sweep_id: str) -> dict[str, Any] | None:
    from trackline.storage.sql.sweeps import SweepDB

    db = SweepDB(store)
    row = db.get(entity, project, sweep_id)
    return None if row is None else describe(row, db.trials(row))
