"""A small training-like script: what a W&B user would write, with `import trackline as wandb`.

Run it with ./scripts/demo (or .venv/bin/python examples/demo_train.py).
"""

from __future__ import annotations

import math
import random

import numpy as np

import trackline as wandb


def main() -> None:
    config = {"lr": 3e-3, "batch_size": 64, "epochs": 5, "optimizer": "adamw", "model": {"layers": 4, "width": 256}}
    run = wandb.init(project="trackline-demo", config=config, tags=["demo"], notes="A synthetic training run")
    wandb.define_metric("epoch")
    wandb.define_metric("val/*", step_metric="epoch")
    wandb.define_metric("val/loss", summary="min,last", goal="minimize")
    wandb.define_metric("val/acc", summary="max", goal="maximize")

    rng = random.Random(0)
    steps_per_epoch = 400
    loss = 2.5
    for epoch in range(run.config.epochs):
        for i in range(steps_per_epoch):
            step = epoch * steps_per_epoch + i
            loss = loss * 0.9985 + 0.002 * rng.gauss(0, 1)
            spike = 1.5 if step == 1234 else 0.0  # a spike the charts must not hide
            lr = run.config.lr * 0.5 * (1 + math.cos(math.pi * step / (steps_per_epoch * run.config.epochs)))
            wandb.log({"train/loss": loss + spike, "train/lr": lr, "train/grad_norm": abs(rng.gauss(1, 0.2))})
        val_loss = loss + 0.05 + 0.01 * rng.random()
        # Media: a "prediction" image that sharpens as training goes on, and the weights' histogram
        # (the run page's Media tab has a step slider for both).
        yy, xx = np.mgrid[0:64, 0:64] / 64.0
        noise = np.random.default_rng(100 + epoch).normal(0, 0.6 / (epoch + 1), (64, 64))
        pattern = np.clip(0.5 + 0.5 * np.sin(12 * xx + 6 * yy) + noise, 0, 1)
        image = (np.stack([pattern, pattern ** 2, 1 - pattern], axis=-1) * 255).astype(np.uint8)
        weights = np.random.default_rng(epoch).normal(0, 1.0 / (epoch + 1), 10_000)
        wandb.log({"epoch": epoch, "val/loss": val_loss, "val/acc": 1 - val_loss / 3,
                   "val/prediction": wandb.Image(image, caption=f"epoch {epoch}"),
                   "val/weights": wandb.Histogram(weights)})
    run.summary["final_note"] = "done"
    run.finish()

    api = wandb.Api()
    stored = api.run(run.path)
    points = sum(1 for _ in stored.scan_history(keys=["train/loss"]))
    print()
    print(f"Run {stored.name} ({stored.state}) is in the store: {stored.url}")
    print(f"  {points} train/loss points, summary val/loss = {stored.summary['val/loss']}")
    print(f"  read it back:  .venv/bin/python -c \"import trackline; print(trackline.Api().run('{run.path}').summary)\"")
    print(f"  record log:    {run.settings.sync_file}")


if __name__ == "__main__":
    main()
