"""Seed the store the browser tests look at, through the SDK (run as a script, in its own process).

Six runs of project "vision" in two optimizer groups: train/* logged every step (a spike in
resnet-0 at step 1234), val/* every 200 steps against the "epoch" step metric, pinned config
keys, console output, and one failed run with a reason.
"""

from __future__ import annotations

import math
import random
import sys

import trackline


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    for i in range(6):
        lr = [3e-3, 1e-3, 3e-4][i % 3]
        opt = "adam" if i < 3 else "sgd"
        run = trackline.init(
            project="vision",
            name=f"resnet-{i}",
            config={"lr": lr, "optimizer": opt, "batch_size": 32 * (1 + i % 2), "model": {"depth": 18 if i % 2 else 50}},
            tags=["baseline"] if i < 2 else ["sweep"],
            group=opt,
            job_type="train",
            notes="the reference run" if i == 0 else None,
        )
        if hasattr(run, "pin_config_keys"):
            run.pin_config_keys(["lr", "optimizer"])
        run.define_metric("epoch")
        run.define_metric("val/*", step_metric="epoch")
        rng = random.Random(i)
        loss = 2.5
        for s in range(steps):
            loss = loss * (1 - lr * 0.9) + 0.01 * rng.gauss(0, 1)
            spike = 3.0 if (i == 0 and s == 1234) else 0.0
            run.log({
                "train/loss": loss + spike,
                "train/acc": 1 - loss / 3,
                "train/lr": lr * 0.5 * (1 + math.cos(math.pi * s / steps)),
                "grad_norm": abs(rng.gauss(1, 0.2)),
            })
            if s % 200 == 199:
                run.log({"val/loss": loss + 0.1, "val/acc": 1 - loss / 2.8, "epoch": s // 200}, commit=False)
        print(f"epoch done: loss {loss:.4f} for {run.name}")
        print("WARNING: learning rate schedule finished", file=sys.stderr)
        run.summary["best_val_acc"] = 1 - loss / 2.8
        run.finish(exit_code=1 if i == 5 else 0)
        print(run.id, flush=True)


if __name__ == "__main__":
    main()
