"""Invariant 1: a SIGKILLed process loses nothing that log() acknowledged."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import trackline
from tests.conftest import PYTHON, child_env

CHILD = r"""
import os, sys, time
import trackline
mode = sys.argv[1]
run = trackline.init(project="crash", id=sys.argv[2], mode=mode)
out = os.fdopen(int(sys.argv[3]), "w", buffering=1)
step = 0
while True:
    run.log({"loss": 1.0 / (step + 1), "step_copy": step, "text": f"s{step}"})
    out.write(f"{step}\n")
    step += 1
    if step % 50 == 0:
        time.sleep(0.001)
"""


def run_and_kill(tmp_path: Path, run_id: str, mode: str, delay: float, sender: str = "process") -> tuple[int, Path]:
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [PYTHON, "-c", CHILD, mode, run_id, str(write_fd)],
        cwd=tmp_path / "work",
        env=child_env(tmp_path, TRACKLINE_X_SENDER=sender),
        pass_fds=(write_fd,),
    )
    os.close(write_fd)
    reader = os.fdopen(read_fd)
    acked = -1
    deadline = time.monotonic() + 60
    # Wait until the child is logging, then kill it at a random moment.
    first = reader.readline()
    assert first, "child did not start logging"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for line in [first, *reader]:
        if line.strip():
            acked = int(line)
        if time.monotonic() > deadline:
            break
    reader.close()
    run_dir = next((tmp_path / "work" / "trackline").glob(f"*-{run_id}"))
    return acked, run_dir


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(20))
def test_sigkill_loses_no_acknowledged_step(tmp_path: Path, trial: int) -> None:
    rng = random.Random(trial)
    mode = "offline" if trial % 2 == 0 else "online"
    run_id = f"crash{trial:03d}"
    acked, run_dir = run_and_kill(tmp_path, run_id, mode, rng.uniform(0.05, 0.6))
    assert acked >= 0
    res = subprocess.run(
        [PYTHON, "-m", "trackline.cli.main", "sync", str(run_dir)],
        env=child_env(tmp_path), capture_output=True, text=True, check=True,
    )
    assert "Synced" in res.stdout
    run = trackline.Api().run(f"crash/{run_id}")
    steps = [row["_step"] for row in run.scan_history(keys=["step_copy"])]
    # Every acknowledged step is there; a step logged but not yet acknowledged may be too.
    assert steps[: acked + 1] == list(range(acked + 1))
    assert len(steps) <= acked + 2
    rows = {row["_step"]: row for row in run.scan_history(keys=["step_copy", "text"])}
    assert rows[acked]["text"] == f"s{acked}" and rows[acked]["step_copy"] == acked
    assert run.state == "crashed"
    # It ran until its last row (not "no runtime", as a crashed run had).
    last = max(row["_runtime"] for row in run.scan_history(keys=["_runtime"]))
    assert run.runtime == pytest.approx(last, abs=1e-6)


@pytest.mark.parametrize("sender", ["process", "thread"])
def test_online_crash_is_marked_crashed_without_sync(tmp_path: Path, sender: str) -> None:
    """The sender process outlives a SIGKILLed training process and completes the store;
    with the thread sender, readers mark the run crashed (the tail needs `trackline sync`)."""
    acked, _ = run_and_kill(tmp_path, "livecrash", "online", 2.0, sender=sender)
    deadline = time.time() + 90  # generous: CI machines can be busy
    while True:
        try:
            run = trackline.Api().run("crash/livecrash")
            if run.state == "crashed" and (sender == "thread" or (run.last_step is not None and run.last_step >= acked)):
                break
        except trackline.CommError:
            pass
        assert time.time() < deadline, "the run never showed up as crashed"
        time.sleep(0.1)
    if sender == "process":
        # The sender process marks it, unless a reader saw the dead pid first.
        assert run.reason in ("the process stopped without finishing the run",
                              f"process {run.metadata['pid']} on {run.metadata['host']} exited without finishing the run")
        steps = [row["_step"] for row in run.scan_history(keys=["step_copy"])]
        assert steps[: acked + 1] == list(range(acked + 1))
    else:
        assert "exited without finishing" in (run.reason or "")
    assert sys.platform.startswith("linux")
