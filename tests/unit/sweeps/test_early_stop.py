"""Hyperband brackets and the stop rule, by hand-computed cases."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from trackline.sweeps.early_stop import brackets, stopped_at

HB = {"type": "hyperband", "min_iter": 3, "eta": 3}


def test_brackets_from_min_iter_and_from_max_iter_and_s() -> None:
    assert brackets(HB)[:4] == [3, 9, 27, 81]
    assert brackets({"type": "hyperband", "min_iter": 2, "eta": 2})[:3] == [2, 4, 8]
    assert brackets({"type": "hyperband", "max_iter": 27, "s": 2, "eta": 3}) == [3, 9]


def test_a_run_worse_than_the_best_third_at_a_bracket_is_stopped() -> None:
    good = [[1.0] * 10, [1.1] * 10]
    assert stopped_at(HB, "minimize", [5.0, 5.0, 5.0], good) == 3  # ranked 3rd of 3: keep ceil(3/3) = 1
    assert stopped_at(HB, "minimize", [0.5, 0.5, 0.5], good) is None  # the best goes on
    assert stopped_at(HB, "minimize", [5.0, 5.0], good) is None  # not at a bracket yet
    assert stopped_at(HB, "maximize", [5.0, 5.0, 5.0], good) is None  # a high value is good here
    assert stopped_at(HB, "maximize", [0.5] * 3, good) == 3
    # At the second bracket (9) it is compared with the runs that reached 9.
    assert stopped_at(HB, "minimize", [0.5] * 3 + [9.0] * 6, good) == 9


def test_no_peers_no_hyperband_and_nan() -> None:
    assert stopped_at(HB, "minimize", [5.0] * 5, []) is None  # the first run has nothing to lose to
    assert stopped_at(HB, "minimize", [5.0] * 5, [[1.0, 1.0]]) is None  # the peer has not reached 3
    assert stopped_at(None, "minimize", [5.0] * 5, [[1.0] * 5]) is None
    assert stopped_at(HB, "minimize", [1.0, 1.0, math.nan], [[1.0] * 5]) == 3  # diverged


def test_strict_false_ranks_against_the_others_only() -> None:
    lenient = {**HB, "strict": False}
    peers = [[1.0] * 3, [2.0] * 3, [3.0] * 3]
    assert stopped_at(lenient, "minimize", [1.5] * 3, peers) == 3  # worse than the best of ceil(3/3) = 1
    assert stopped_at(lenient, "minimize", [0.9] * 3, peers) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=12), min_size=1, max_size=8),
       st.sampled_from(["minimize", "maximize"]))
def test_the_best_run_at_every_bracket_is_never_stopped(runs: list[list[float]], goal: str) -> None:
    best = min if goal == "minimize" else max
    for i, series in enumerate(runs):
        others = runs[:i] + runs[i + 1 :]
        at = stopped_at(HB, goal, series, others)
        if at is not None:  # stopped: someone who reached that bracket did strictly better there
            peers = [o[at - 1] for o in others if len(o) >= at]
            assert best([*peers, series[at - 1]]) != series[at - 1] or any(p == series[at - 1] for p in peers)
