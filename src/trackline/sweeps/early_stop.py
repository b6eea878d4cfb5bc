"""Hyperband early termination (W&B's ``early_terminate: {type: hyperband, ...}``).

A run is compared with the sweep's other runs at fixed iteration counts, the brackets: the
number of times it has logged the metric. With ``min_iter`` they are ``min_iter * eta**k``;
with ``max_iter`` and ``s``, ``max_iter / eta**k`` for k = s .. 1. At each bracket a run has
reached, its value there is ranked with every run's value at that same bracket: only the best
``ceil(n / eta)`` go on, so a run worse than that is stopped (for ``goal: minimize``, a larger
value is worse). With ``strict: false`` the threshold is taken from the runs that finished
the bracket before it only (its own value is left out), which is more lenient.

The agent asks :func:`stopped_at` for the trial it is running while it runs (every
``POLL_S`` seconds, from the store), and stops it: in-process by raising :class:`EarlyStop`
in the trial's thread, as W&B's agent does; a program by SIGTERM. A stopped trial is a
normal, finished run: its history so far is what the sweep learned from it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

POLL_S = 0.5
_MAX_BRACKETS = 32


class EarlyStop(Exception):
    """Raised in a trial's thread when hyperband stops it."""


def brackets(early_terminate: Mapping[str, Any]) -> list[int]:
    """The iteration counts at which runs are compared, ascending."""
    eta = float(early_terminate.get("eta", 3))
    if early_terminate.get("min_iter") is not None:
        first = int(early_terminate["min_iter"])
        out = [round(first * eta**k) for k in range(_MAX_BRACKETS)]
    else:
        top, s = float(early_terminate["max_iter"]), int(early_terminate["s"])
        out = [round(top / eta**k) for k in range(s, 0, -1)]
    return sorted({b for b in out if b >= 1})


def stopped_at(early_terminate: Mapping[str, Any] | None, goal: str, series: Sequence[float],
               others: Sequence[Sequence[float]]) -> int | None:
    """The bracket at which a run with metric values ``series`` (in logging order) is stopped,
    given the other runs' series; None if it goes on (or there is no hyperband)."""
    if not early_terminate or early_terminate.get("type") != "hyperband":
        return None
    eta = float(early_terminate.get("eta", 3))
    strict = early_terminate.get("strict", True)
    worse = (lambda a, b: a < b) if goal == "maximize" else (lambda a, b: a > b)
    for bracket in brackets(early_terminate):
        if bracket > len(series):
            break
        mine = series[bracket - 1]
        if not math.isfinite(mine):
            return bracket  # NaN or inf at a bracket: it diverged
        peers = [s[bracket - 1] for s in others if len(s) >= bracket and math.isfinite(s[bracket - 1])]
        if not peers:
            continue
        ranked = sorted([*peers, mine] if strict else peers, reverse=goal == "maximize")
        keep = max(1, math.ceil(len(ranked) / eta))
        if worse(mine, ranked[keep - 1]):
            return bracket
    return None
