"""The data every tool is seeded with, and the queries every tool answers.

Values are a deterministic function of (seed, key, run, step): smooth decaying curves plus
seeded noise, rounded to float32 (what logging ``tensor.item()`` gives), so the stores do
not compress them unrealistically and every tool holds exactly the same numbers. numpy's
``default_rng`` is the same in every venv, so the data is identical across tools.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ENTITY = "bench"
#: The 20 keys of the scan data set (a): a typical training run's scalars.
SCAN_KEYS = ["loss", "acc", "lr", *[f"train/l{i:02d}" for i in range(17)]]
#: The one key of the history data set (b).
HIST_KEY = "loss"
#: Listing (c): runs whose config has optimizer "adam" and whose summary acc > 0.5, best acc first.
TL_FILTER: dict[str, Any] = {"config.optimizer": "adam", "summary_metrics.acc": {"$gt": 0.5}}
TL_ORDER = "-summary_metrics.acc"
MLFLOW_FILTER = "params.optimizer = 'adam' and metrics.acc > 0.5"
MLFLOW_ORDER = ["metrics.acc DESC"]
OPTIMIZERS = ("adam", "sgd", "adamw")
PAGE = 50  # the first page a listing returns (W&B's and trackline's per_page default)
T0 = 1_750_000_000.0  # seeded runs' start time (epoch seconds)
STEP_SECONDS = 0.01  # seeded time between steps


def series(steps: int, key_index: int, run_index: int = 0, seed: int = 1234) -> np.ndarray:
    """One metric's values at steps 0..steps-1 (float64 holding float32-exact numbers)."""
    rng = np.random.default_rng([seed, key_index, run_index])
    x = np.arange(steps, dtype=np.float64)
    tau = max(steps, 1) * (0.1 + 0.4 * rng.random())
    curve = (1.0 + 0.1 * key_index) * np.exp(-x / tau) + 0.05 * np.sin(x / 97.0 + key_index)
    return (curve + rng.normal(0.0, 0.02, steps)).astype(np.float32).astype(np.float64)


def run_table(runs: int, seed: int = 1234) -> dict[str, list[Any]]:
    """Per-run config and summary of the listing data set (c), as plain Python lists."""
    rng = np.random.default_rng([seed, 99])
    acc = rng.random(runs).astype(np.float32).astype(np.float64)
    loss = (1.0 - acc + rng.normal(0, 0.05, runs)).astype(np.float32).astype(np.float64)
    return {
        "acc": acc.tolist(),
        "loss": loss.tolist(),
        "lr": (10.0 ** rng.uniform(-5, -2, runs)).tolist(),
        "batch_size": (2 ** rng.integers(4, 9, runs)).tolist(),
        "optimizer": [OPTIMIZERS[i % 3] for i in range(runs)],
    }


def expected_listing(runs: int, seed: int = 1234) -> dict[str, Any]:
    """What the filtered, ordered listing must return: the match count and the first page's acc."""
    tab = run_table(runs, seed)
    hits = sorted(
        (a for a, o in zip(tab["acc"], tab["optimizer"], strict=True) if o == "adam" and a > 0.5),
        reverse=True,
    )
    return {"matches": len(hits), "first_page_acc": hits[:PAGE]}


def run_id(dataset: str, i: int) -> str:
    """Run ids: the same in every tool (MLflow makes its own; its run *name* is this)."""
    return f"{dataset.replace('-', '')[:6]}{i:06d}"
