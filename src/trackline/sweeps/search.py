"""The search methods: which parameters the next trial of a sweep gets.

Pure functions: :func:`next_params` proposes the next trial from the trials so far (grid,
random or bayes), :func:`grid_size` counts a grid. The config is checked by
``config.validate`` (re-exported here). The agent wraps these with storage and processes.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from trackline.sweeps.config import SweepConfigError, _is_int, _is_number, validate

__all__ = ["SweepConfigError", "Trial", "grid_size", "next_params", "validate"]


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
