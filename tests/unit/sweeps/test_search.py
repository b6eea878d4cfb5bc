"""Sweep config validation (W&B's schema) and the grid / random / bayes search methods."""

from __future__ import annotations

import copy
import math
import random
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trackline.sweeps.search import SweepConfigError, Trial, grid_size, next_params, validate

fast = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def cfg(method: str = "random", **params: Any) -> dict[str, Any]:
    return {"method": method, "metric": {"name": "loss"}, "parameters": params}


def spec_of(params_spec: dict[str, Any], method: str = "random") -> dict[str, Any]:
    out: dict[str, Any] = validate(cfg(method, p=params_spec))["parameters"]["p"]
    return out


# ---------------------------------------------------------------------------------------------
# validate: errors


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"parameters": {"x": {"value": 1}}}, r"method: missing"),
        ({"method": "hill", "parameters": {"x": {"value": 1}}}, r"unknown method 'hill'"),
        (
            {"method": "grid", "parameters": {"x": {"value": 1}}, "paramters": {}},
            r"unknown top-level key\(s\) paramters",
        ),
        ({"method": "random"}, r"parameters: missing"),
        ({"method": "random", "parameters": {}}, r"parameters: needs at least one parameter"),
        ({"method": "random", "parameters": {"1x": {"value": 1}}}, r"bad parameter name '1x'"),
        ({"method": "random", "parameters": {"a b": {"value": 1}}}, r"bad parameter name 'a b'"),
        (
            {"method": "random", "parameters": {"x": {"value": 1, "values": [1]}}},
            r"parameters\.x: key\(s\) values don't fit distribution 'constant' \(inferred\)",
        ),
        (
            {"method": "random", "parameters": {"x": {"min": 0.0, "max": 1.0, "q": 0.1}}},
            r"parameters\.x: key\(s\) q don't fit .*'uniform'.*distribution: q_uniform",
        ),
        (
            {"method": "random", "parameters": {"x": {"lo": 0}}},
            r"parameters\.x: can't tell the distribution from keys \['lo'\]",
        ),
        (
            {"method": "random", "parameters": {"x": {"min": 0}}},
            r"parameters\.x: a range needs both `min` and `max`",
        ),
        (
            {"method": "random", "parameters": {"x": {"distribution": "gamma"}}},
            r"parameters\.x: unknown distribution 'gamma'",
        ),
        (
            {"method": "random", "parameters": {"x": {"distribution": "uniform", "min": 0}}},
            r"parameters\.x: distribution 'uniform' needs `max`",
        ),
        (
            {"method": "random", "parameters": {"lr": {"min": 0.1, "max": 0.01}}},
            r"parameters\.lr: min \(0\.1\) is greater than max \(0\.01\); swap them",
        ),
        (
            {
                "method": "random",
                "parameters": {"x": {"distribution": "int_uniform", "min": 0.5, "max": 3}},
            },
            r"int_uniform needs integer `min` and `max`",
        ),
        (
            {
                "method": "random",
                "parameters": {"x": {"distribution": "log_uniform_values", "min": 0, "max": 1}},
            },
            r"log_uniform_values needs min > 0",
        ),
        (
            {"method": "random", "parameters": {"x": {"min": "a", "max": 1}}},
            r"`min` must be a finite number",
        ),
        (
            {"method": "random", "parameters": {"x": {"values": []}}},
            r"`values` must be a non-empty list",
        ),
        (
            {"method": "random", "parameters": {"x": {"values": [1, 2], "probabilities": [1.0]}}},
            r"`probabilities` must be a list with one entry per value \(2\)",
        ),
        (
            {
                "method": "random",
                "parameters": {"x": {"values": [1, 2], "probabilities": [0.5, 0.6]}},
            },
            r"`probabilities` must sum to 1",
        ),
        (
            {
                "method": "random",
                "parameters": {"x": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0}},
            },
            r"`q` must be greater than 0",
        ),
        (
            {"method": "random", "parameters": {"x": {"parameters": {}}}},
            r"parameters\.x\.parameters: needs at least one parameter",
        ),
        (
            {"method": "random", "parameters": {"x": {"parameters": {"y": {"min": 2, "max": 1}}}}},
            r"parameters\.x\.parameters\.y: min \(2\) is greater than max \(1\)",
        ),
        (
            {"method": "random", "parameters": {"x": 3}},
            r"parameters\.x: a parameter spec must be a mapping",
        ),
        (
            {"method": "random", "metric": {"goal": "minimize"}, "parameters": {"x": {"value": 1}}},
            r"metric: needs `name`",
        ),
        (
            {
                "method": "random",
                "metric": {"name": "a", "goal": "min"},
                "parameters": {"x": {"value": 1}},
            },
            r"metric\.goal: 'min' is not a goal; write minimize or maximize",
        ),
        (
            {
                "method": "random",
                "metric": {"name": "a", "gaol": "max"},
                "parameters": {"x": {"value": 1}},
            },
            r"metric: unknown key\(s\) gaol",
        ),
        (
            {"method": "bayes", "parameters": {"x": {"min": 0.0, "max": 1.0}}},
            r"method 'bayes' needs a metric",
        ),
        (
            {"method": "random", "run_cap": 0, "parameters": {"x": {"value": 1}}},
            r"run_cap: must be a positive integer",
        ),
        (
            {"method": "random", "run_cap": 2.5, "parameters": {"x": {"value": 1}}},
            r"run_cap: must be a positive integer",
        ),
        (
            {"method": "random", "run_cap": True, "parameters": {"x": {"value": 1}}},
            r"run_cap: must be a positive integer",
        ),
        (
            {"method": "grid", "parameters": {"lr": {"min": 0.0, "max": 1.0}}},
            r"parameters\.lr: method 'grid' can't enumerate a uniform distribution; list the values",
        ),
        (
            {"method": "grid", "parameters": {"n": {"parameters": {"k": {"min": 1, "max": 4}}}}},
            r"parameters\.n\.parameters\.k: method 'grid' can't enumerate a int_uniform",
        ),
        (
            {
                "method": "random",
                "metrics": [{"name": "a"}, {"name": "b"}],
                "parameters": {"x": {"value": 1}},
            },
            r"metrics: only method 'custom' takes `metrics`",
        ),
        (
            {"method": "custom", "metrics": [{"name": "a"}], "parameters": {"x": {"value": 1}}},
            r"metrics: must be a list of 2 or more",
        ),
        (
            {
                "method": "random",
                "early_terminate": {"type": "hyperband"},
                "parameters": {"x": {"value": 1}},
            },
            r"hyperband needs either `min_iter` or both `max_iter` and `s`",
        ),
        (
            {
                "method": "random",
                "early_terminate": {"type": "hyperband", "max_iter": 27},
                "parameters": {"x": {"value": 1}},
            },
            r"hyperband needs either `min_iter` or both `max_iter` and `s`",
        ),
        (
            {
                "method": "random",
                "early_terminate": {"type": "hyperband", "min_iter": 0},
                "parameters": {"x": {"value": 1}},
            },
            r"early_terminate\.min_iter: must be an integer >= 1",
        ),
        (
            {
                "method": "random",
                "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 1},
                "parameters": {"x": {"value": 1}},
            },
            r"early_terminate\.eta: must be a number greater than 1",
        ),
        (
            {
                "method": "random",
                "early_terminate": {"type": "median"},
                "parameters": {"x": {"value": 1}},
            },
            r"early_terminate\.type: only 'hyperband'",
        ),
        ("method: grid", r"must be a mapping"),
    ],
)
def test_validate_refuses(config: Any, match: str) -> None:
    with pytest.raises(SweepConfigError, match=match):
        validate(config)


def test_sweep_config_error_is_a_value_error() -> None:
    assert issubclass(SweepConfigError, ValueError)


# ---------------------------------------------------------------------------------------------
# validate: inference, defaults, copies


@pytest.mark.parametrize(
    ("spec", "dist"),
    [
        ({"value": 3}, "constant"),
        ({"value": None}, "constant"),
        ({"values": [1, 2]}, "categorical"),
        ({"values": [1, 2], "probabilities": [0.3, 0.7]}, "categorical_w_probabilities"),
        ({"min": 1, "max": 5}, "int_uniform"),
        ({"min": 1, "max": 5.0}, "uniform"),
        ({"min": 0.5, "max": 5}, "uniform"),
        ({"mu": 1.0, "sigma": 2.0}, "normal"),
        ({"sigma": 2.0}, "normal"),
        ({"a": 2, "b": 3}, "beta"),
        ({"parameters": {"y": {"value": 1}}}, "nested"),
    ],
)
def test_distribution_is_inferred(spec: dict[str, Any], dist: str) -> None:
    assert spec_of(spec)["distribution"] == dist


@pytest.mark.parametrize(
    ("spec", "filled"),
    [
        ({"distribution": "q_uniform", "min": 0, "max": 10}, {"q": 1}),
        ({"distribution": "q_log_uniform", "min": 0, "max": 3}, {"q": 1}),
        ({"distribution": "q_log_uniform_values", "min": 1, "max": 30}, {"q": 1}),
        ({"distribution": "normal"}, {"mu": 0, "sigma": 1}),
        ({"distribution": "log_normal"}, {"mu": 0, "sigma": 1}),
        ({"distribution": "q_normal"}, {"mu": 0, "sigma": 1, "q": 1}),
        ({"distribution": "q_log_normal", "mu": 2}, {"mu": 2, "sigma": 1, "q": 1}),
        ({"distribution": "beta"}, {"a": 1, "b": 1}),
        ({"distribution": "q_beta", "q": 0.1}, {"a": 1, "b": 1, "q": 0.1}),
        ({"distribution": "uniform", "min": 0, "max": 1}, {}),
    ],
)
def test_defaults_are_filled(spec: dict[str, Any], filled: dict[str, Any]) -> None:
    out = spec_of(spec)
    assert out == {**spec, **filled}


def test_metric_goal_and_hyperband_defaults() -> None:
    out = validate(
        {
            "method": "random",
            "metric": {"name": "loss"},
            "early_terminate": {"type": "hyperband", "min_iter": 3},
            "parameters": {"x": {"value": 1}},
        }
    )
    assert out["metric"] == {"name": "loss", "goal": "minimize"}
    assert out["early_terminate"] == {"type": "hyperband", "min_iter": 3, "eta": 3, "strict": True}
    maxi = validate({**out, "metric": {"name": "acc", "goal": "maximize"}})
    assert maxi["metric"]["goal"] == "maximize"


def test_accepts_the_other_top_level_keys() -> None:
    config = {
        "method": "custom",
        "metrics": [{"name": "a"}, {"name": "b", "goal": "maximize"}],
        "parameters": {"x": {"value": 1}},
        "program": "train.py",
        "command": ["${env}", "${interpreter}", "${program}", "${args}"],
        "name": "s",
        "description": "d",
        "entity": "e",
        "project": "p",
        "run_cap": 4,
        "controller": {"type": "local"},
        "early_terminate": {"type": "hyperband", "max_iter": 27, "s": 2},
        "job": "j",
        "image_uri": "img",
        "scheduler": {},
        "apiVersion": "v1",
        "kind": "Sweep",
    }
    out = validate(config)
    assert out["metrics"][0]["goal"] == "minimize"
    assert out["early_terminate"]["eta"] == 3


def test_validate_returns_a_deep_copy_and_leaves_the_input_alone() -> None:
    config = {
        "method": "random",
        "metric": {"name": "loss"},
        "parameters": {
            "lr": {"min": 0.001, "max": 0.1},
            "opt": {"values": ["adam", "sgd"]},
            "n": {"parameters": {"depth": {"values": [1, 2]}}},
        },
    }
    before = copy.deepcopy(config)
    out = validate(config)
    assert config == before
    out["parameters"]["opt"]["values"].append("x")
    out["parameters"]["n"]["parameters"]["depth"]["values"].append(3)
    assert config == before


def test_validate_is_idempotent() -> None:
    config = cfg(
        "bayes",
        lr={"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
        n={"parameters": {"k": {"min": 1, "max": 3}, "c": {"value": "x"}}},
        b={"distribution": "q_beta"},
    )
    once = validate(config)
    assert validate(once) == once


# ---------------------------------------------------------------------------------------------
# grid


def _run_grid(config: dict[str, Any], seed: list[dict[str, Any]] | None = None) -> list[Any]:
    trials = [Trial(p, None, "finished") for p in (seed or [])]
    out = []
    while (p := next_params(config, trials)) is not None:
        out.append(p)
        trials.append(Trial(p, 1.0, "finished"))
        assert len(out) <= 1000
    return out


def test_grid_order_is_config_order_last_parameter_fastest() -> None:
    config = cfg("grid", a={"values": [1, 2]}, c={"value": "k"}, b={"values": ["x", "y", "z"]})
    got = _run_grid(config)
    assert got == [
        {"a": 1, "c": "k", "b": "x"},
        {"a": 1, "c": "k", "b": "y"},
        {"a": 1, "c": "k", "b": "z"},
        {"a": 2, "c": "k", "b": "x"},
        {"a": 2, "c": "k", "b": "y"},
        {"a": 2, "c": "k", "b": "z"},
    ]
    assert grid_size(config) == 6


def test_grid_is_exhausted_after_grid_size_trials() -> None:
    config = cfg("grid", a={"values": [1, 2, 3]}, b={"values": [True, False]})
    got = _run_grid(config)
    assert len(got) == grid_size(config) == 6
    trials = [Trial(p, 0.0, "finished") for p in got]
    assert next_params(config, trials) is None


def test_grid_skips_taken_combinations_in_any_order() -> None:
    config = cfg("grid", a={"values": [1, 2]}, b={"values": ["x", "y"]})
    taken = [{"b": "y", "a": 2}, {"a": 1, "b": "x"}]  # out of order, keys reordered
    got = _run_grid(config, taken)
    assert got == [{"a": 1, "b": "y"}, {"a": 2, "b": "x"}]


def test_grid_compares_by_value_and_ignores_other_config_keys() -> None:
    config = cfg("grid", a={"values": [1.0, 2.5]})
    trials = [Trial({"a": 1, "_wandb": {"x": 1}, "extra": 3}, None, "running")]
    assert next_params(config, trials) == {"a": 2.5}


def test_grid_keeps_bools_apart_from_ints() -> None:
    config = cfg("grid", a={"values": [1, True]})
    assert next_params(config, [Trial({"a": 1}, None, "running")]) == {"a": True}


def test_grid_nested_specs_give_nested_dicts() -> None:
    config = cfg(
        "grid",
        opt={"values": ["adam", "sgd"]},
        model={"parameters": {"depth": {"values": [2, 4]}, "act": {"value": "relu"}}},
    )
    got = _run_grid(config)
    assert grid_size(config) == 4
    assert got == [
        {"opt": "adam", "model": {"depth": 2, "act": "relu"}},
        {"opt": "adam", "model": {"depth": 4, "act": "relu"}},
        {"opt": "sgd", "model": {"depth": 2, "act": "relu"}},
        {"opt": "sgd", "model": {"depth": 4, "act": "relu"}},
    ]


def test_grid_values_can_be_lists_and_dicts() -> None:
    config = cfg("grid", shape={"values": [[1, 2], [3, 4]], "distribution": "categorical"})
    got = _run_grid(config)
    assert got == [{"shape": [1, 2]}, {"shape": [3, 4]}]


def test_grid_size_is_none_for_other_methods() -> None:
    assert grid_size(cfg("random", a={"values": [1, 2]})) is None
    assert grid_size(cfg("bayes", a={"values": [1, 2]})) is None
    assert grid_size(cfg("grid", a={"value": 1})) == 1


# ---------------------------------------------------------------------------------------------
# run_cap and custom


def test_run_cap_stops_every_method() -> None:
    for method in ("grid", "random", "bayes"):
        config = {**cfg(method, a={"values": [1, 2, 3, 4]}), "run_cap": 2}
        trials = [Trial({"a": 1}, 1.0, "finished")]
        assert next_params(config, trials, random.Random(0)) is not None
        trials.append(Trial({"a": 2}, 2.0, "crashed"))
        assert next_params(config, trials, random.Random(0)) is None


def test_custom_method_needs_a_controller() -> None:
    config = {"method": "custom", "parameters": {"a": {"values": [1]}}}
    with pytest.raises(SweepConfigError, match="method 'custom' needs a controller"):
        next_params(config, [])


# ---------------------------------------------------------------------------------------------
# random: every value lies in its distribution's support

finite = st.floats(min_value=-50, max_value=50, allow_nan=False)
positive = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False)
qs = st.one_of(st.integers(1, 10), st.floats(min_value=0.01, max_value=5))


def _plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return type(value) in (int, float, str, bool, type(None))


def _multiple_of(x: float, q: float) -> bool:
    return math.isclose(x / q, round(x / q), abs_tol=1e-6)


def _sample(spec: dict[str, Any], seed: int) -> Any:
    p = next_params(cfg("random", p=spec), [], random.Random(seed))
    assert p is not None and _plain(p)
    return p["p"]


@fast
@given(lo=st.integers(-1000, 1000), width=st.integers(0, 1000), seed=st.integers(0, 2**32))
def test_int_uniform_gives_ints_in_min_max(lo: int, width: int, seed: int) -> None:
    x = _sample({"min": lo, "max": lo + width}, seed)
    assert type(x) is int and lo <= x <= lo + width


@fast
@given(lo=finite, width=st.floats(0, 100), seed=st.integers(0, 2**32))
def test_uniform_in_min_max(lo: float, width: float, seed: int) -> None:
    x = _sample({"distribution": "uniform", "min": lo, "max": lo + width}, seed)
    assert type(x) is float and lo <= x <= lo + width


@fast
@given(lo=positive, ratio=st.floats(1, 1e6), seed=st.integers(0, 2**32))
def test_log_uniform_values_in_min_max(lo: float, ratio: float, seed: int) -> None:
    hi = lo * ratio
    for dist in ("log_uniform_values", "inv_log_uniform_values"):
        x = _sample({"distribution": dist, "min": lo, "max": hi}, seed)
        assert type(x) is float and lo <= x <= hi


@fast
@given(lo=st.floats(-10, 10), width=st.floats(0, 10), seed=st.integers(0, 2**32))
def test_log_uniform_takes_exponents(lo: float, width: float, seed: int) -> None:
    hi = lo + width
    x = _sample({"distribution": "log_uniform", "min": lo, "max": hi}, seed)
    assert math.exp(lo) * (1 - 1e-9) <= x <= math.exp(hi) * (1 + 1e-9)
    y = _sample({"distribution": "inv_log_uniform", "min": lo, "max": hi}, seed)
    assert math.exp(-hi) * (1 - 1e-9) <= y <= math.exp(-lo) * (1 + 1e-9)


@fast
@given(lo=finite, width=st.floats(0, 100), q=qs, seed=st.integers(0, 2**32))
def test_q_uniform_gives_multiples_of_q(lo: float, width: float, q: Any, seed: int) -> None:
    x = _sample({"distribution": "q_uniform", "min": lo, "max": lo + width, "q": q}, seed)
    assert _multiple_of(x, q)
    assert lo - q / 2 - 1e-9 <= x <= lo + width + q / 2 + 1e-9
    assert type(x) is (int if isinstance(q, int) else float)


@fast
@given(lo=st.floats(0.5, 1000), ratio=st.floats(1, 100), q=qs, seed=st.integers(0, 2**32))
def test_q_log_uniform_gives_multiples_of_q(lo: float, ratio: float, q: Any, seed: int) -> None:
    for spec in (
        {"distribution": "q_log_uniform_values", "min": lo, "max": lo * ratio, "q": q},
        {"distribution": "q_log_uniform", "min": math.log(lo), "max": math.log(lo * ratio), "q": q},
    ):
        x = _sample(spec, seed)
        assert _multiple_of(x, q)
        assert lo - q / 2 - 1e-6 <= x <= lo * ratio + q / 2 + 1e-6
        assert type(x) is (int if isinstance(q, int) else float)


@fast
@given(mu=finite, sigma=st.floats(0, 10), q=qs, seed=st.integers(0, 2**32))
def test_normals(mu: float, sigma: float, q: Any, seed: int) -> None:
    assert type(_sample({"distribution": "normal", "mu": mu, "sigma": sigma}, seed)) is float
    assert _multiple_of(
        _sample({"distribution": "q_normal", "mu": mu, "sigma": sigma, "q": q}, seed), q
    )
    ln = _sample({"distribution": "log_normal", "mu": mu / 10, "sigma": sigma / 10}, seed)
    assert type(ln) is float and ln > 0
    qln = _sample(
        {"distribution": "q_log_normal", "mu": mu / 10, "sigma": sigma / 10, "q": q}, seed
    )
    assert qln >= 0 and _multiple_of(qln, q)


@fast
@given(
    a=st.floats(0.1, 10), b=st.floats(0.1, 10), q=st.floats(0.01, 0.5), seed=st.integers(0, 2**32)
)
def test_beta_in_unit_interval(a: float, b: float, q: float, seed: int) -> None:
    x = _sample({"distribution": "beta", "a": a, "b": b}, seed)
    assert type(x) is float and 0.0 <= x <= 1.0
    y = _sample({"distribution": "q_beta", "a": a, "b": b, "q": q}, seed)
    assert _multiple_of(y, q) and -q / 2 <= y <= 1 + q / 2


values_lists = st.lists(
    st.one_of(
        st.integers(), st.text(max_size=5), st.booleans(), st.none(), st.floats(allow_nan=False)
    ),
    min_size=1,
    max_size=6,
)


@fast
@given(values=values_lists, seed=st.integers(0, 2**32))
def test_categorical_picks_from_values(values: list[Any], seed: int) -> None:
    x = _sample({"values": values}, seed)
    assert any(x == v and type(x) is type(v) for v in values)


@fast
@given(data=st.data(), seed=st.integers(0, 2**32))
def test_categorical_w_probabilities_frequencies(data: st.DataObject, seed: int) -> None:
    weights = data.draw(st.lists(st.integers(0, 5), min_size=2, max_size=4).filter(any))
    probs = [w / sum(weights) for w in weights]
    values = [f"v{i}" for i in range(len(weights))]
    config = cfg("random", p={"values": values, "probabilities": probs})
    rng = random.Random(seed)
    n = 3000
    counts = Counter()
    for _ in range(n):
        p = next_params(config, [], rng)
        assert p is not None
        counts[p["p"]] += 1
    for v, prob in zip(values, probs, strict=True):
        # 5 standard deviations of a binomial: a false alarm is vanishingly rare
        assert abs(counts[v] / n - prob) <= 5 * math.sqrt(prob * (1 - prob) / n) + 1e-9
        if prob == 0:
            assert counts[v] == 0


def test_random_samples_every_parameter_with_constants_and_nesting() -> None:
    config = cfg(
        "random",
        lr={"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
        epochs={"value": 10},
        model={"parameters": {"depth": {"min": 1, "max": 8}, "act": {"values": ["relu", "gelu"]}}},
    )
    rng = random.Random(3)
    seen = set()
    for _ in range(50):
        p = next_params(config, [], rng)
        assert p is not None and _plain(p)
        assert set(p) == {"lr", "epochs", "model"} and p["epochs"] == 10
        assert set(p["model"]) == {"depth", "act"} and 1 <= p["model"]["depth"] <= 8
        seen.add(p["model"]["act"])
    assert seen == {"relu", "gelu"}


def test_int_uniform_includes_max_and_categorical_reaches_every_value() -> None:
    config = cfg("random", k={"min": 1, "max": 3}, c={"values": ["a", "b", "c", "d"]})
    rng = random.Random(11)
    samples = [next_params(config, [], rng) for _ in range(400)]
    assert {p["k"] for p in samples if p} == {1, 2, 3}
    assert {p["c"] for p in samples if p} == {"a", "b", "c", "d"}


def test_random_is_deterministic_with_a_seeded_rng() -> None:
    config = cfg("random", x={"min": 0.0, "max": 1.0}, k={"min": 0, "max": 100})
    a = [next_params(config, [], random.Random(7)) for _ in range(2)]
    assert a[0] == a[1]


# ---------------------------------------------------------------------------------------------
# bayes


def _optimize(config: dict[str, Any], f: Any, n: int, seed: int = 0) -> list[Trial]:
    rng = random.Random(seed)
    trials: list[Trial] = []
    for _ in range(n):
        p = next_params(config, trials, rng)
        assert p is not None and _plain(p)
        trials.append(Trial(p, f(p), "finished"))
    return trials


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bayes_minimizes_a_quadratic(seed: int) -> None:
    config = cfg("bayes", x={"min": 0.0, "max": 1.0})
    trials = _optimize(config, lambda p: (p["x"] - 0.3) ** 2, 15, seed)
    best = min(trials, key=lambda t: t.metric if t.metric is not None else math.inf)
    assert abs(best.params["x"] - 0.3) < 0.05


def test_bayes_beats_random_search_on_the_same_budget() -> None:
    f = lambda p: (p["x"] - 0.3) ** 2  # noqa: E731
    bayes = _optimize(cfg("bayes", x={"min": 0.0, "max": 1.0}), f, 15, seed=4)
    rand = _optimize(cfg("random", x={"min": 0.0, "max": 1.0}), f, 15, seed=4)
    assert min(t.metric or 0 for t in bayes) <= min(t.metric or 0 for t in rand)
    # after the random start it concentrates near the optimum
    assert sum(abs(t.params["x"] - 0.3) < 0.1 for t in bayes[5:]) >= 5


def test_bayes_is_deterministic_with_a_seeded_rng() -> None:
    config = cfg("bayes", x={"min": 0.0, "max": 1.0})
    f = lambda p: (p["x"] - 0.3) ** 2  # noqa: E731
    assert [t.params for t in _optimize(config, f, 8)] == [
        t.params for t in _optimize(config, f, 8)
    ]


def test_bayes_maximize() -> None:
    config = cfg("bayes", x={"min": 0.0, "max": 1.0})
    config["metric"] = {"name": "acc", "goal": "maximize"}
    trials = _optimize(config, lambda p: 1 - (p["x"] - 0.7) ** 2, 15)
    best = max(trials, key=lambda t: t.metric if t.metric is not None else -math.inf)
    assert abs(best.params["x"] - 0.7) < 0.05


def test_bayes_log_scale_parameter() -> None:
    config = cfg("bayes", lr={"distribution": "log_uniform_values", "min": 1e-5, "max": 1.0})
    trials = _optimize(config, lambda p: (math.log10(p["lr"]) + 3) ** 2, 15)
    best = min(trials, key=lambda t: t.metric if t.metric is not None else math.inf)
    assert abs(math.log10(best.params["lr"]) + 3) < 0.5


def test_bayes_categorical_and_float_mix() -> None:
    config = cfg(
        "bayes",
        opt={"values": ["adam", "sgd", "rms"]},
        lr={"min": 0.0, "max": 1.0},
        layers={"min": 1, "max": 4},
        act={"value": "relu"},
        model={"parameters": {"drop": {"distribution": "beta", "a": 2, "b": 2}}},
        w={"distribution": "normal"},
    )

    def f(p: dict[str, Any]) -> float:
        assert p["act"] == "relu" and 0 <= p["model"]["drop"] <= 1
        return (0 if p["opt"] == "sgd" else 1) + (p["lr"] - 0.5) ** 2 + p["layers"] * 0.01

    trials = _optimize(config, f, 12)
    assert all(1 <= t.params["layers"] <= 4 and type(t.params["layers"]) is int for t in trials)
    assert any(t.params["opt"] == "sgd" for t in trials[4:])


def test_bayes_starts_random_and_ignores_trials_without_a_metric() -> None:
    config = cfg("bayes", x={"min": 0.0, "max": 1.0})
    # fewer than 2 finite metrics: a plain random sample, the same as method random
    few = [Trial({"x": 0.5}, 0.1, "finished"), Trial({"x": 0.2}, None, "running")]
    got = next_params(config, few, random.Random(5))
    want = next_params(cfg("random", x={"min": 0.0, "max": 1.0}), [], random.Random(5))
    assert got == want
    # running trials without a metric don't change the model's proposal
    done = [Trial({"x": x}, (x - 0.3) ** 2, "finished") for x in (0.0, 0.5, 0.9, 0.15)]
    base = next_params(config, done, random.Random(9))
    running = [*done, Trial({"x": 0.31}, None, "running"), Trial({"x": 0.7}, None, "pending")]
    assert next_params(config, running, random.Random(9)) == base
    nan = [*done, Trial({"x": 0.31}, math.nan, "running")]
    assert next_params(config, nan, random.Random(9)) == base


def test_bayes_imputes_worst_for_crashed_trials() -> None:
    config = cfg("bayes", x={"min": 0.0, "max": 1.0})
    done = [Trial({"x": x}, (x - 0.3) ** 2, "finished") for x in (0.0, 0.5, 0.9, 0.15, 0.28)]
    base = next_params(config, done, random.Random(9))
    assert base is not None and 0.28 < base["x"] < 0.4  # next to the incumbent
    # runs that crashed without the metric count as the worst seen: the search leaves them
    crashed = [Trial({"x": x}, None, "crashed") for x in (0.29, 0.3, 0.31, 0.32, 0.33)]
    moved = next_params(config, done + crashed, random.Random(9))
    assert moved is not None and not 0.28 < moved["x"] < 0.4
    # the same trials still running are left out of the fit
    running = [Trial(t.params, None, "running") for t in crashed]
    assert next_params(config, done + running, random.Random(9)) == base


def test_bayes_with_only_constants_returns_them() -> None:
    config = cfg("bayes", a={"value": 1})
    trials = [Trial({"a": 1}, 1.0, "finished"), Trial({"a": 1}, 2.0, "finished")]
    assert next_params(config, trials, random.Random(0)) == {"a": 1}
