"""The sweep config (W&B's schema) and the search methods: which parameters the next trial gets.

Pure functions: :func:`validate` checks and normalizes a config, :func:`next_params` proposes
the next trial from the trials so far (grid, random or bayes), :func:`grid_size` counts a grid.
The controller and agent wrap these with storage and processes.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["SweepConfigError", "Trial", "grid_size", "next_params", "validate"]


class SweepConfigError(ValueError):
    """A sweep config that W&B's schema refuses; the message names the key and says what to
    write instead."""


@dataclass
class Trial:
    """One run of a sweep, as the search methods see it."""

    params: dict[str, Any]
    """The parameter values the trial got (nested specs -> nested dicts)."""
    metric: float | None
    """The run's summary value of ``config["metric"]["name"]``; None if not logged yet."""
    state: str
    """Run state: running, finished, crashed, failed, killed, preempted or pending."""


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


# ---------------------------------------------------------------------------------------------
# Grid


def _spec_choices(spec: dict[str, Any]) -> list[Any]:
    dist = spec["distribution"]
    if dist == "constant":
        return [spec["value"]]
    if dist == "nested":
        return list(_grid_combos(spec["parameters"]))
    return list(spec["values"])


def _grid_combos(params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every combination, parameters in config order, the last one varying fastest."""
    names = list(params)
    for combo in itertools.product(*(_spec_choices(params[n]) for n in names)):
        yield dict(zip(names, combo, strict=True))


def _spec_count(spec: dict[str, Any]) -> int:
    dist = spec["distribution"]
    if dist == "constant":
        return 1
    if dist == "nested":
        return math.prod(_spec_count(s) for s in spec["parameters"].values())
    return len(spec["values"])


def grid_size(config: dict[str, Any]) -> int | None:
    """For method grid, the number of combinations; None for other methods."""
    cfg = validate(config)
    if cfg["method"] != "grid":
        return None
    return math.prod(_spec_count(s) for s in cfg["parameters"].values())


def _canonical(value: Any) -> Any:
    # 1 and 1.0 are one grid value (a run's config may round-trip through JSON); bools stay bools
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


_MISSING = "\x00missing"


def _project(params: dict[str, Any], specs: dict[str, Any]) -> dict[str, Any]:
    """The values of ``params`` for the config's parameters only (extra config keys ignored)."""
    out: dict[str, Any] = {}
    for name, spec in specs.items():
        value = params.get(name, _MISSING) if isinstance(params, dict) else _MISSING
        if spec["distribution"] == "nested" and isinstance(value, dict):
            value = _project(value, spec["parameters"])
        out[name] = value
    return out


def _key(params: dict[str, Any]) -> str:
    return json.dumps(_canonical(params), sort_keys=True, default=repr)


def _next_grid(cfg: dict[str, Any], trials: list[Trial]) -> dict[str, Any] | None:
    specs = cfg["parameters"]
    taken = {_key(_project(t.params, specs)) for t in trials}
    for combo in _grid_combos(specs):
        if _key(combo) not in taken:
            return copy.deepcopy(combo)
    return None


# ---------------------------------------------------------------------------------------------
# Random


def _quantize(x: float, q: float) -> float | int:
    r = round(x / q) * q
    return int(r) if _is_int(q) else float(r)


def _sample_spec(spec: dict[str, Any], rng: random.Random) -> Any:
    d = spec["distribution"]
    if d == "constant":
        return copy.deepcopy(spec["value"])
    if d == "categorical":
        return copy.deepcopy(rng.choice(spec["values"]))
    if d == "categorical_w_probabilities":
        return copy.deepcopy(rng.choices(spec["values"], weights=spec["probabilities"])[0])
    if d == "nested":
        return _sample_params(spec["parameters"], rng)
    if d == "int_uniform":
        return rng.randint(spec["min"], spec["max"])
    if d in ("normal", "q_normal"):
        x = rng.gauss(spec["mu"], spec["sigma"])
    elif d in ("log_normal", "q_log_normal"):
        x = rng.lognormvariate(spec["mu"], spec["sigma"])
    elif d in ("beta", "q_beta"):
        x = rng.betavariate(spec["a"], spec["b"])
    else:
        lo, hi = float(spec["min"]), float(spec["max"])
        if d in ("uniform", "q_uniform"):
            x = rng.uniform(lo, hi)
        elif d in ("log_uniform", "q_log_uniform"):
            x = math.exp(rng.uniform(lo, hi))
        elif d in ("log_uniform_values", "q_log_uniform_values"):
            # exp(log(max)) can land one ulp past max
            x = min(max(math.exp(rng.uniform(math.log(lo), math.log(hi))), lo), hi)
        elif d == "inv_log_uniform":
            x = math.exp(-rng.uniform(lo, hi))
        elif d == "inv_log_uniform_values":
            x = min(max(math.exp(-rng.uniform(-math.log(hi), -math.log(lo))), lo), hi)
        else:  # pragma: no cover - validate() admits only known distributions
            raise SweepConfigError(f"unknown distribution {d!r}")
    if d.startswith("q_"):
        return _quantize(x, spec["q"])
    return float(x)


def _sample_params(params: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    return {name: _sample_spec(spec, rng) for name, spec in params.items()}


# ---------------------------------------------------------------------------------------------
# Bayes: a Gaussian process on parameters mapped to [0, 1], Expected Improvement over samples

_N_CANDIDATES = 1500
_LENGTH_SCALES = (0.05, 0.1, 0.2, 0.35, 0.6, 1.0, 2.0)
_NOISES = (1e-6, 1e-4, 1e-2, 1e-1)
_XI = 0.01  # exploration margin, in standard deviations of the observed metric
_TERMINAL = frozenset({"finished", "crashed", "failed", "killed", "preempted"})

Array = npt.NDArray[np.float64]


def _searchable(
    params: dict[str, Any], prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    out: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    for name, spec in params.items():
        if spec["distribution"] == "nested":
            out += _searchable(spec["parameters"], (*prefix, name))
        elif spec["distribution"] != "constant":
            out.append(((*prefix, name), spec))
    return out


def _lookup(params: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(params, dict) or part not in params:
            return _MISSING
        params = params[part]
    return params


def _phi_cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _unit(spec: dict[str, Any], x: Any) -> float:
    """A numeric value mapped to [0, 1] on the scale its distribution samples on."""
    if not _is_number(x):
        return 0.5
    d = spec["distribution"]
    if d in ("normal", "q_normal"):
        return _phi_cdf((x - spec["mu"]) / spec["sigma"]) if spec["sigma"] > 0 else 0.5
    if d in ("log_normal", "q_log_normal"):
        if x <= 0 or spec["sigma"] <= 0:
            return 0.0
        return _phi_cdf((math.log(x) - spec["mu"]) / spec["sigma"])
    if d in ("beta", "q_beta"):
        return min(max(float(x), 0.0), 1.0)
    lo, hi = float(spec["min"]), float(spec["max"])
    if d in ("log_uniform", "q_log_uniform", "inv_log_uniform"):
        if x <= 0:
            return 0.0
        v = math.log(x) if d != "inv_log_uniform" else -math.log(x)
    elif d in ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"):
        if x <= 0:
            return 0.0
        v, lo, hi = math.log(x), math.log(lo), math.log(hi)
    else:
        v = float(x)
    return min(max((v - lo) / (hi - lo), 0.0), 1.0) if hi > lo else 0.5


def _encode(
    params: dict[str, Any], space: list[tuple[tuple[str, ...], dict[str, Any]]]
) -> list[float]:
    row: list[float] = []
    for path, spec in space:
        x = _lookup(params, path)
        if spec["distribution"] in ("categorical", "categorical_w_probabilities"):
            key = _key(x)
            # one-hot: categories have no order; an unknown value is all zeros
            row += [1.0 if _key(v) == key else 0.0 for v in spec["values"]]
        else:
            row.append(_unit(spec, x))
    return row


def _matern52(a: Array, b: Array, length: float) -> Array:
    d2 = np.maximum(
        np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2.0 * a @ b.T, 0.0
    )
    r = np.sqrt(5.0 * d2) / length
    k: Array = (1.0 + r + r * r / 3.0) * np.exp(-r)
    return k


def _fit(x: Array, y: Array) -> tuple[float, Array, Array]:
    """The (length scale, Cholesky factor, alpha) with the best log marginal likelihood."""
    n, dims = x.shape
    best: tuple[float, float, Array, Array] | None = None
    for base in _LENGTH_SCALES:
        length = base * math.sqrt(dims)
        k = _matern52(x, x, length)
        for noise in _NOISES:
            try:
                chol = np.asarray(
                    np.linalg.cholesky(k + (noise + 1e-9) * np.eye(n)), dtype=np.float64
                )
            except np.linalg.LinAlgError:
                continue
            alpha = np.asarray(np.linalg.solve(chol.T, np.linalg.solve(chol, y)), dtype=np.float64)
            lml = -0.5 * float(y @ alpha) - float(np.sum(np.log(np.diag(chol))))
            if best is None or lml > best[0]:
                best = (lml, length, chol, alpha)
    if best is None:  # pragma: no cover - the largest noise term always factorizes
        raise np.linalg.LinAlgError("no kernel fitted")
    return best[1], best[2], best[3]


def _observations(cfg: dict[str, Any], trials: list[Trial]) -> list[tuple[dict[str, Any], float]]:
    """(params, metric) pairs for the fit: finite metrics, plus imputed ones for runs that ended
    (or, with ``impute_while_running``, still run) without the metric."""
    metric = cfg["metric"]
    sign = -1.0 if metric["goal"] == "maximize" else 1.0  # the fit always minimizes
    known = [
        (t.params, sign * float(t.metric))
        for t in trials
        if t.metric is not None and _is_number(t.metric)
    ]
    if not known:
        return known
    values = [v for _, v in known]
    fill = {"worst": max(values), "best": min(values), "latest": values[-1]}
    impute = metric.get("impute", "worst")
    while_running = metric.get("impute_while_running", False)
    for t in trials:
        if t.metric is not None and _is_number(t.metric):
            continue
        if t.state in _TERMINAL:
            known.append((t.params, fill[impute]))
        elif while_running:
            known.append((t.params, fill[while_running]))
    return known


def _expected_improvement(mu: Array, sd: Array, best: float) -> Array:
    imp = best - mu - _XI
    z = imp / sd
    cdf = np.array([_phi_cdf(v) for v in z])
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    ei: Array = imp * cdf + sd * pdf
    return ei


def _next_bayes(cfg: dict[str, Any], trials: list[Trial], rng: random.Random) -> dict[str, Any]:
    finite = sum(1 for t in trials if t.metric is not None and _is_number(t.metric))
    space = _searchable(cfg["parameters"])
    if finite < 2 or not space:
        return _sample_params(cfg["parameters"], rng)
    obs = _observations(cfg, trials)
    x = np.array([_encode(p, space) for p, _ in obs], dtype=np.float64)
    y_raw = np.array([v for _, v in obs], dtype=np.float64)
    scale = float(np.std(y_raw)) or 1.0
    y = (y_raw - float(np.mean(y_raw))) / scale
    length, chol, alpha = _fit(x, y)

    candidates = [_sample_params(cfg["parameters"], rng) for _ in range(_N_CANDIDATES)]
    xc = np.array([_encode(c, space) for c in candidates], dtype=np.float64)
    k_star = _matern52(xc, x, length)
    mu = k_star @ alpha
    v = np.linalg.solve(chol, k_star.T)
    var = np.maximum(1.0 - np.sum(v * v, axis=0), 1e-12)
    ei = _expected_improvement(mu, np.sqrt(var), float(np.min(y)))
    return candidates[int(np.argmax(ei))]


# ---------------------------------------------------------------------------------------------


def next_params(
    config: dict[str, Any], trials: list[Trial], rng: random.Random | None = None
) -> dict[str, Any] | None:
    """The parameters of the next trial, or None when the sweep has nothing more to run.

    None once ``run_cap`` trials exist; grid: the first combination not yet in ``trials``
    (None when all are taken); random: a fresh sample of every parameter; bayes: random until
    two trials have a metric, then a Gaussian process with Expected Improvement. Constants are
    always included; nested specs give nested dicts.
    """
    cfg = validate(config)
    rng = rng if rng is not None else random.Random()
    if "run_cap" in cfg and len(trials) >= cfg["run_cap"]:
        return None
    method = cfg["method"]
    if method == "custom":
        raise SweepConfigError(
            "method 'custom' needs a controller that proposes runs; trackline's local controller "
            "can't, so use method grid, random or bayes"
        )
    if method == "grid":
        return _next_grid(cfg, trials)
    if method == "random":
        return _sample_params(cfg["parameters"], rng)
    return _next_bayes(cfg, trials, rng)
