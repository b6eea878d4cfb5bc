"""A Bayesian sweep over a synthetic training loop, as a W&B user writes it.

    .venv/bin/python examples/sweep.py          # 12 trials, then the best run
    .venv/bin/trackline ui                      # http://127.0.0.1:7878/<you>/trackline-sweep-demo/sweeps
"""

from __future__ import annotations

import math
import random

import trackline as wandb

SWEEP = {
    "method": "bayes",
    "metric": {"name": "val/loss", "goal": "minimize"},
    "parameters": {
        "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
        "batch_size": {"values": [16, 32, 64, 128]},
        "dropout": {"min": 0.0, "max": 0.5},
    },
    "run_cap": 12,
}


def train() -> None:
    run = wandb.init(tags=["sweep-demo"])
    cfg = run.config
    rng = random.Random(hash((cfg.lr, cfg.batch_size, cfg.dropout)))
    # A made-up loss surface: best near lr 3e-3, batch 64, dropout 0.1.
    floor = (math.log10(cfg.lr) + 2.5) ** 2 * 0.3 + abs(math.log2(cfg.batch_size / 64)) * 0.05 + (cfg.dropout - 0.1) ** 2
    loss = 2.0
    for epoch in range(20):
        loss = floor + (loss - floor) * 0.8 + rng.gauss(0, 0.01)
        run.log({"epoch": epoch, "train/loss": loss + 0.05, "val/loss": loss})
    run.finish()


def main() -> None:
    sweep_id = wandb.sweep(SWEEP, project="trackline-sweep-demo")
    wandb.agent(sweep_id, function=train)
    best = wandb.Api().sweep(f"trackline-sweep-demo/{sweep_id}").best_run()
    if best is not None:
        print(f"best run {best.id}: val/loss {best.summary['val/loss']:.4f} with {dict(best.config)}")


if __name__ == "__main__":
    main()
