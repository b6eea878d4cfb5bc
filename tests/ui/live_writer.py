"""A run that keeps logging until a stop file appears (the live-update browser test)."""

from __future__ import annotations

import os
import sys
import time

import trackline


def main() -> None:
    stop = sys.argv[1]
    run = trackline.init(project="live", name="live-run", config={"lr": 0.1})
    step = 0
    deadline = time.monotonic() + 120
    while not os.path.exists(stop) and time.monotonic() < deadline:
        run.log({"train/loss": 1.0 / (1 + step)})
        step += 1
        time.sleep(0.02)
    run.finish()


if __name__ == "__main__":
    main()
