"""The system-metrics sampler's lifecycle."""

from __future__ import annotations

import subprocess
import sys
import threading

from trackline.sdk.system import SystemSampler


def test_stopped_right_after_start_it_never_loads_psutil() -> None:
    # A module imported in the sampler thread while the interpreter shuts down after an
    # unhandled KeyboardInterrupt turns the SIGINT exit into status 1 (tested below).
    s = SystemSampler(lambda sample, ts: None, interval=15.0)
    s.start()
    s.stop()
    assert s._psutil is None and s._thread is not None and not s._thread.is_alive()


def test_samples_flow_after_the_setup_delay() -> None:
    got: list[dict[str, float]] = []
    done = threading.Event()

    def emit(sample: dict[str, float], ts: float) -> None:
        got.append(sample)
        done.set()

    s = SystemSampler(emit, interval=0.1)
    s.start()
    assert done.wait(30)
    s.stop()
    assert got[0]["system.proc.memory.rssMB"] > 1


def test_an_interrupted_script_still_dies_by_sigint(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = (
        "import os, tempfile, trackline\n"
        "run = trackline.init(project='p', mode='offline', dir=tempfile.mkdtemp())\n"
        "run.log({'a': 1})\n"
        "raise KeyboardInterrupt\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("WANDB_", "TRACKLINE_"))}
    env.update(TRACKLINE_HOME=str(tmp_path), TRACKLINE_SILENT="true")
    for _ in range(3):
        res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=120)
        assert res.returncode == -2, res.stderr[-500:]
