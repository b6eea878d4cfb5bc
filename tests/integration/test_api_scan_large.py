"""scan_history is exact over 1M points and streams in constant memory."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import trackline
from tests.unit.api.seeding import make_run

STEPS = 100_000
KEYS = [f"m{k}" for k in range(10)]  # 10 keys x 100k steps = 1M points


def value(k: int, step: int) -> float:
    # Distinct per key and step, exact in float64, a few not float32-exact (stored as f8).
    return step * (k + 1) + (0.1 if k == 9 else 0.5)


@pytest.mark.slow
def test_scan_history_is_exact_for_a_million_points(isolated: Path) -> None:
    def rows() -> Iterator[dict[str, Any]]:
        for s in range(STEPS):
            row = {name: value(k, s) for k, name in enumerate(KEYS)}
            if s % 1000 == 0:
                row["checkpoint"] = f"ckpt-{s}"  # a sparse text key in the same rows
            yield row

    make_run("big", "million", rows=rows())
    run = trackline.Api().run("big/million")
    count = points = 0
    for row in run.scan_history(keys=KEYS):
        s = row["_step"]
        assert s == count
        for k, name in enumerate(KEYS):
            assert row[name] == value(k, s)
        points += len(KEYS)
        count += 1
    assert count == STEPS and points == 1_000_000
    texts = [(r["_step"], r["checkpoint"]) for r in run.scan_history(keys=["checkpoint"])]
    assert texts == [(s, f"ckpt-{s}") for s in range(0, STEPS, 1000)]

    # Constant memory: the peak while streaming every row stays far below what the rows
    # would take if they were all held at once.
    gc.collect()
    tracemalloc.start()
    scan = run.scan_history(keys=KEYS[:2], min_step=0, max_step=40_000)
    held = sum(1 for _ in scan)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert held == 40_000
    all_rows = list(run.scan_history(keys=KEYS[:2], min_step=0, max_step=40_000))
    tracemalloc.start()
    import copy

    copy.deepcopy(all_rows[:10_000])
    _, per_10k = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < per_10k * 4 / 2  # streaming 40k rows peaks below half of holding them
