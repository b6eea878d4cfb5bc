"""The one workload every adapter logs: N steps of 10 scalar metrics.

Values are a deterministic function of (seed, step), so every tool receives
byte-for-byte the same numbers.  Standard library only: this module is imported
inside each tool's own virtualenv.
"""

from __future__ import annotations

import math
import random
from array import array
from collections.abc import Iterator

DEFAULT_STEPS = 100_000
DEFAULT_SEED = 1234

#: The 10 scalar keys logged at every step.
KEYS: tuple[str, ...] = ("loss", "acc", "lr", *(f"train/l{i}" for i in range(7)))
POINTS_PER_STEP = len(KEYS)


class Workload:
    """Produces the metrics dict for each step, cheaply (about 1 us), outside any timing.

    The smooth curves are precomputed once per workload; per-step noise comes
    from a seeded table, so values look like real, incompressible training
    metrics and are identical for every tool.
    """

    _NOISE = 4099  # prime, so the noise pattern does not line up with the steps

    def __init__(self, steps: int = DEFAULT_STEPS, seed: int = DEFAULT_SEED) -> None:
        self.steps = steps
        self.seed = seed
        rng = random.Random(seed)
        self._noise = array("d", (rng.gauss(0.0, 1.0) for _ in range(self._NOISE + 16)))
        n = max(steps, 1)
        self._loss = array(
            "d",
            (2.5 * math.exp(-3.0 * i / n) + 0.05 * self._noise[i % self._NOISE] for i in range(n)),
        )
        self._acc = array(
            "d",
            (
                1.0 - 0.9 * math.exp(-4.0 * i / n) + 0.01 * self._noise[(i + 7) % self._NOISE]
                for i in range(n)
            ),
        )
        self._lr = array("d", (1e-3 * 0.5 * (1.0 + math.cos(math.pi * i / n)) for i in range(n)))

    @property
    def points(self) -> int:
        return self.steps * POINTS_PER_STEP

    def step(self, i: int) -> dict[str, float]:
        """Metrics for step ``i`` (a fresh dict each call, as a training loop builds).

        ``i`` past ``steps`` wraps around, so an open-ended loop (the SIGKILL
        test) can keep calling it.
        """
        i %= self.steps
        loss = self._loss[i]
        z = self._noise
        j = (i * 13) % self._NOISE
        return {
            "loss": loss,
            "acc": self._acc[i],
            "lr": self._lr[i],
            "train/l0": loss + 0.02 * z[j],
            "train/l1": loss * 1.1 + 0.02 * z[j + 1],
            "train/l2": loss * 1.2 + 0.02 * z[j + 2],
            "train/l3": loss * 1.3 + 0.02 * z[j + 3],
            "train/l4": loss * 1.4 + 0.02 * z[j + 4],
            "train/l5": loss * 1.5 + 0.02 * z[j + 5],
            "train/l6": loss * 1.6 + 0.02 * z[j + 6],
        }

    def __iter__(self) -> Iterator[dict[str, float]]:
        for i in range(self.steps):
            yield self.step(i)
