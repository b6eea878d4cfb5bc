"""The sweep config: W&B's schema, checked and normalized (every parameter spec gets its
distribution and defaults). The search methods (``search.py``) take what :func:`validate` returns.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any

__all__ = ["SweepConfigError", "validate"]


class SweepConfigError(ValueError):
    """A sweep config that W&B's schema refuses; the message names the key and says what to
    write instead."""


# ---------------------------------------------------------------------------------------------
# Schema

_METHODS = ("grid", "random", "bayes", "custom")
_TOP_KEYS = frozenset(
    {
        "method", "metric", "metrics", "parameters", "program", "command", "name",
        "description", "entity", "project", "run_cap", "controller", "early_terminate", "job",
        "image_uri", "scheduler", "apiVersion", "kind",
    }
)  # fmt: skip
_STRING_KEYS = ("program", "name", "description", "entity", "project", "job", "image_uri")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_GOALS = ("minimize", "maximize")
_IMPUTE = ("latest", "best", "worst")

_MINMAX = ("min", "max")
# distribution -> (required keys, optional keys with their defaults)
_DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "constant": (("value",), {}),
    "categorical": (("values",), {}),
    "categorical_w_probabilities": (("values", "probabilities"), {}),
    "int_uniform": (_MINMAX, {}),
    "uniform": (_MINMAX, {}),
    "log_uniform": (_MINMAX, {}),
    "log_uniform_values": (_MINMAX, {}),
    "inv_log_uniform": (_MINMAX, {}),
    "inv_log_uniform_values": (_MINMAX, {}),
    "q_uniform": (_MINMAX, {"q": 1}),
    "q_log_uniform": (_MINMAX, {"q": 1}),
    "q_log_uniform_values": (_MINMAX, {"q": 1}),
    "normal": ((), {"mu": 0, "sigma": 1}),
    "log_normal": ((), {"mu": 0, "sigma": 1}),
    "q_normal": ((), {"mu": 0, "sigma": 1, "q": 1}),
    "q_log_normal": ((), {"mu": 0, "sigma": 1, "q": 1}),
    "beta": ((), {"a": 1, "b": 1}),
    "q_beta": ((), {"a": 1, "b": 1, "q": 1}),
    "nested": (("parameters",), {}),
}
# min/max are actual values, so they must be positive
_POSITIVE_RANGE = ("log_uniform_values", "inv_log_uniform_values", "q_log_uniform_values")
_GRID_OK = ("constant", "categorical", "categorical_w_probabilities", "nested")


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _infer(where: str, spec: dict[str, Any]) -> str:
    """The distribution W&B infers for a spec without ``distribution``."""
    if "parameters" in spec:
        return "nested"
    if "value" in spec:
        return "constant"
    if "values" in spec:
        return "categorical_w_probabilities" if "probabilities" in spec else "categorical"
    if "min" in spec or "max" in spec:
        if "min" not in spec or "max" not in spec:
            raise SweepConfigError(f"{where}: a range needs both `min` and `max`")
        lo, hi = spec["min"], spec["max"]
        return "int_uniform" if _is_int(lo) and _is_int(hi) else "uniform"
    if "mu" in spec or "sigma" in spec:
        return "normal"
    if "a" in spec or "b" in spec:
        return "beta"
    raise SweepConfigError(
        f"{where}: can't tell the distribution from keys {sorted(spec)}; write `value: x`, "
        "`values: [...]`, `min`/`max`, `mu`/`sigma`, `parameters: {...}` or a `distribution`"
    )


def _check_spec(where: str, spec: object, method: str) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise SweepConfigError(
            f"{where}: a parameter spec must be a mapping such as {{values: [...]}} "
            f"or {{value: x}}, not {spec!r}"
        )
    spec = dict(spec)
    dist = spec.get("distribution")
    inferred = dist is None
    if inferred:
        dist = _infer(where, spec)
    elif dist not in _DISTRIBUTIONS:
        raise SweepConfigError(
            f"{where}: unknown distribution {dist!r}; use one of {', '.join(_DISTRIBUTIONS)}"
        )
    required, defaults = _DISTRIBUTIONS[dist]
    how = " (inferred)" if inferred else ""
    allowed = {"distribution", *required, *defaults}
    extra = sorted(set(spec) - allowed)
    if extra:
        hint = ""
        if "q" in extra and f"q_{dist}" in _DISTRIBUTIONS:
            hint = f"; to round to multiples of q write `distribution: q_{dist}`"
        raise SweepConfigError(
            f"{where}: key(s) {', '.join(extra)} don't fit distribution {dist!r}{how}, "
            f"which takes {', '.join(sorted(allowed - {'distribution'}))}{hint}"
        )
    missing = [k for k in required if k not in spec]
    if missing:
        raise SweepConfigError(
            f"{where}: distribution {dist!r} needs {', '.join(f'`{k}`' for k in missing)}"
        )
    if method == "grid" and dist not in _GRID_OK:
        raise SweepConfigError(
            f"{where}: method 'grid' can't enumerate a {dist} distribution; list the values to "
            "try (`values: [...]`) or use method 'random' or 'bayes'"
        )
    for key, default in defaults.items():
        spec.setdefault(key, default)
    spec["distribution"] = dist

    if dist == "nested":
        spec["parameters"] = _check_parameters(f"{where}.parameters", spec["parameters"], method)
    elif dist in ("categorical", "categorical_w_probabilities"):
        values = spec["values"]
        if not isinstance(values, (list, tuple)) or not values:
            raise SweepConfigError(f"{where}: `values` must be a non-empty list, not {values!r}")
        spec["values"] = list(values)
        if dist == "categorical_w_probabilities":
            _check_probabilities(where, spec["probabilities"], len(values))
            spec["probabilities"] = list(spec["probabilities"])
    else:
        _check_numbers(where, dist, spec)
    return spec


def _check_probabilities(where: str, probs: object, n: int) -> None:
    if not isinstance(probs, (list, tuple)) or len(probs) != n:
        raise SweepConfigError(
            f"{where}: `probabilities` must be a list with one entry per value ({n})"
        )
    if not all(_is_number(p) and p >= 0 for p in probs):
        raise SweepConfigError(f"{where}: `probabilities` must be non-negative numbers")
    if abs(sum(probs) - 1.0) > 1e-6:
        raise SweepConfigError(f"{where}: `probabilities` must sum to 1, not {sum(probs)}")


def _check_numbers(where: str, dist: str, spec: dict[str, Any]) -> None:
    for key in ("min", "max", "q", "mu", "sigma", "a", "b"):
        if key in spec and not _is_number(spec[key]):
            raise SweepConfigError(f"{where}: `{key}` must be a finite number, not {spec[key]!r}")
    if dist == "int_uniform" and not (_is_int(spec["min"]) and _is_int(spec["max"])):
        raise SweepConfigError(
            f"{where}: int_uniform needs integer `min` and `max` (got {spec['min']!r}, "
            f"{spec['max']!r}); use distribution 'uniform' for a float range"
        )
    if "min" in spec and spec["min"] > spec["max"]:
        raise SweepConfigError(
            f"{where}: min ({spec['min']}) is greater than max ({spec['max']}); swap them"
        )
    if dist in _POSITIVE_RANGE and spec["min"] <= 0:
        raise SweepConfigError(
            f"{where}: {dist} needs min > 0 (min and max are the values themselves); got "
            f"min {spec['min']}"
        )
    for key in ("q", "a", "b"):
        if key in spec and spec[key] <= 0:
            raise SweepConfigError(f"{where}: `{key}` must be greater than 0, not {spec[key]}")
    if "sigma" in spec and spec["sigma"] < 0:
        raise SweepConfigError(f"{where}: `sigma` must be 0 or more, not {spec['sigma']}")


def _check_parameters(where: str, params: object, method: str) -> dict[str, Any]:
    if not isinstance(params, dict) or not params:
        raise SweepConfigError(
            f"{where}: needs at least one parameter, e.g. `{where}: {{lr: {{values: [0.1, 0.01]}}}}`"
        )
    out: dict[str, Any] = {}
    for name, spec in params.items():
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise SweepConfigError(
                f"{where}: bad parameter name {name!r}; names start with a letter or _ and hold "
                "only letters, digits, _, . and -"
            )
        out[name] = _check_spec(f"{where}.{name}", spec, method)
    return out


def _check_metric(where: str, metric: object) -> dict[str, Any]:
    if not isinstance(metric, dict):
        raise SweepConfigError(f"{where}: must be a mapping such as {{name: loss, goal: minimize}}")
    metric = dict(metric)
    extra = sorted(set(metric) - {"name", "goal", "target", "impute", "impute_while_running"})
    if extra:
        raise SweepConfigError(
            f"{where}: unknown key(s) {', '.join(extra)}; a metric takes name, goal, target, "
            "impute, impute_while_running"
        )
    name = metric.get("name")
    if not isinstance(name, str) or not name:
        raise SweepConfigError(f"{where}: needs `name`, the summary key to optimize (e.g. loss)")
    metric.setdefault("goal", "minimize")
    if metric["goal"] not in _GOALS:
        raise SweepConfigError(
            f"{where}.goal: {metric['goal']!r} is not a goal; write minimize or maximize"
        )
    if "target" in metric and not _is_number(metric["target"]):
        raise SweepConfigError(f"{where}.target: must be a number, not {metric['target']!r}")
    if "impute" in metric and metric["impute"] not in _IMPUTE:
        raise SweepConfigError(f"{where}.impute: write latest, best or worst")
    iwr = metric.get("impute_while_running", False)
    if iwr is not False and iwr not in _IMPUTE:
        raise SweepConfigError(f"{where}.impute_while_running: write latest, best, worst or false")
    return metric


def _check_early_terminate(et: object) -> dict[str, Any]:
    where = "early_terminate"
    if not isinstance(et, dict):
        raise SweepConfigError(
            f"{where}: must be a mapping such as {{type: hyperband, min_iter: 3}}"
        )
    et = dict(et)
    if et.get("type") != "hyperband":
        raise SweepConfigError(
            f"{where}.type: only 'hyperband' is supported, not {et.get('type')!r}"
        )
    extra = sorted(set(et) - {"type", "min_iter", "max_iter", "s", "eta", "strict"})
    if extra:
        raise SweepConfigError(
            f"{where}: unknown key(s) {', '.join(extra)}; hyperband takes min_iter or "
            "max_iter + s, eta, strict"
        )
    for key in ("min_iter", "max_iter", "s"):
        if key in et and not (_is_int(et[key]) and et[key] >= 1):
            raise SweepConfigError(f"{where}.{key}: must be an integer >= 1, not {et[key]!r}")
    by_min = "min_iter" in et
    by_max = "max_iter" in et or "s" in et
    if by_min == by_max or (by_max and not ("max_iter" in et and "s" in et)):
        raise SweepConfigError(
            f"{where}: hyperband needs either `min_iter` or both `max_iter` and `s`, not "
            f"{sorted(k for k in et if k in ('min_iter', 'max_iter', 's'))}"
        )
    et.setdefault("eta", 3)
    if not (_is_number(et["eta"]) and et["eta"] > 1):
        raise SweepConfigError(f"{where}.eta: must be a number greater than 1, not {et['eta']!r}")
    et.setdefault("strict", True)
    if not isinstance(et["strict"], bool):
        raise SweepConfigError(f"{where}.strict: must be true or false")
    return et


def validate(config: dict[str, Any]) -> dict[str, Any]:
    """Check ``config`` against W&B's sweep schema and return a normalized deep copy.

    Every parameter spec gets its ``distribution`` (inferred as W&B does) and its defaults
    (``q=1``, ``mu=0``, ``sigma=1``, ``a=1``, ``b=1``); ``metric.goal`` defaults to minimize,
    ``early_terminate`` gets ``eta=3`` and ``strict=true``. Raises :class:`SweepConfigError`.
    """
    if not isinstance(config, dict):
        raise SweepConfigError(f"a sweep config must be a mapping, not {type(config).__name__}")
    cfg = copy.deepcopy(config)
    extra = sorted(str(k) for k in set(cfg) - _TOP_KEYS)
    if extra:
        raise SweepConfigError(
            f"unknown top-level key(s) {', '.join(extra)}; a sweep config takes "
            f"{', '.join(sorted(_TOP_KEYS))} (parameters go under `parameters`)"
        )
    method = cfg.get("method")
    if method is None:
        raise SweepConfigError("method: missing; write `method: grid`, random, bayes or custom")
    if method not in _METHODS:
        raise SweepConfigError(
            f"method: unknown method {method!r}; write grid, random, bayes or custom"
        )
    if "parameters" not in cfg:
        raise SweepConfigError(
            "parameters: missing; e.g. `parameters: {lr: {values: [0.1, 0.01]}}`"
        )
    cfg["parameters"] = _check_parameters("parameters", cfg["parameters"], method)
    if "metric" in cfg:
        cfg["metric"] = _check_metric("metric", cfg["metric"])
    elif method == "bayes":
        raise SweepConfigError(
            "metric: method 'bayes' needs a metric to optimize; write `metric: {name: loss}`"
        )
    if "metrics" in cfg:
        if method != "custom":
            raise SweepConfigError(
                f"metrics: only method 'custom' takes `metrics`; with {method!r} write one "
                "`metric: {name: ..., goal: ...}`"
            )
        ms = cfg["metrics"]
        if not isinstance(ms, list) or len(ms) < 2:
            raise SweepConfigError("metrics: must be a list of 2 or more metrics")
        cfg["metrics"] = [_check_metric(f"metrics[{i}]", m) for i, m in enumerate(ms)]
    if "run_cap" in cfg and not (_is_int(cfg["run_cap"]) and cfg["run_cap"] > 0):
        raise SweepConfigError(f"run_cap: must be a positive integer, not {cfg['run_cap']!r}")
    if "early_terminate" in cfg:
        cfg["early_terminate"] = _check_early_terminate(cfg["early_terminate"])
    if "controller" in cfg:
        ctl = cfg["controller"]
        if not isinstance(ctl, dict) or ctl.get("type") not in ("local", "cloud"):
            raise SweepConfigError("controller: write `controller: {type: local}` or cloud")
    if "command" in cfg and not (
        isinstance(cfg["command"], list) and all(isinstance(t, str) for t in cfg["command"])
    ):
        raise SweepConfigError(
            "command: must be a list of strings, e.g. [${env}, ${interpreter}, ${program}, ${args}]"
        )
    for key in _STRING_KEYS:
        if key in cfg and not isinstance(cfg[key], str):
            raise SweepConfigError(f"{key}: must be a string, not {cfg[key]!r}")
    return cfg
