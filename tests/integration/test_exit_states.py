"""How a run ends when the program ends: exceptions, signals, sys.exit, KeyboardInterrupt."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

import trackline
from tests.conftest import PYTHON, child_env

PRELUDE = """
import os, sys, time, signal
import trackline
run = trackline.init(project="exits", id=sys.argv[1])
run.log({"a": 1})
print("ready", flush=True)
"""

CASES = {
    "clean": ("", 0, "finished", None),
    "exception": ("raise ValueError('bad value 42')", 1, "failed", "ValueError: bad value 42"),
    "sys_exit_3": ("sys.exit(3)", 3, "failed", "exit code 3"),
    "sys_exit_0": ("sys.exit(0)", 0, "finished", None),
    # Python re-raises an unhandled KeyboardInterrupt as SIGINT when it exits.
    "keyboard_interrupt": ("raise KeyboardInterrupt", -signal.SIGINT, "killed", "KeyboardInterrupt"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_exit_paths(tmp_path: Path, case: str) -> None:
    body, code, state, reason = CASES[case]
    res = subprocess.run([PYTHON, "-c", PRELUDE + body, case], cwd=tmp_path / "work",
                         env=child_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert res.returncode == code, res.stderr
    if case == "exception":
        assert "ValueError: bad value 42" in res.stderr  # the user's traceback is still printed
    run = trackline.Api().run(f"exits/{case}")
    assert run.state == state
    if reason:
        assert reason in (run.reason or "")
    assert [r["a"] for r in run.scan_history(keys=["a"])] == [1]


def _start(tmp_path: Path, run_id: str, body: str) -> subprocess.Popen:
    proc = subprocess.Popen([PYTHON, "-c", PRELUDE + body, run_id], cwd=tmp_path / "work",
                            env=child_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_sigterm_marks_the_run_killed(tmp_path: Path) -> None:
    proc = _start(tmp_path, "term", "while True:\n    run.log({'a': 2}, commit=False)\n    time.sleep(0.01)\n")
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    run = trackline.Api().run("exits/term")
    assert run.state == "killed" and run.reason == "SIGTERM"


def test_user_sigterm_handler_is_left_alone(tmp_path: Path) -> None:
    body = (
        "signal.signal(signal.SIGTERM, lambda *a: print('user handler', flush=True))\n"
        "run2 = trackline.init(project='exits', id='userterm2', reinit='create_new')\n"
        "print('handler set', flush=True)\n"
        "time.sleep(1.0)\n"
    )
    proc = _start(tmp_path, "userterm", body)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "handler set"
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert "user handler" in out
    assert proc.returncode == 0


def test_sigkill_becomes_crashed_once_the_process_is_gone(tmp_path: Path) -> None:
    proc = _start(tmp_path, "kill9", "while True:\n    time.sleep(1)\n")
    deadline = time.time() + 30
    while True:  # wait until the sender has put the run in the store
        try:
            assert trackline.Api().run("exits/kill9").state == "running"
            break
        except trackline.CommError:
            assert time.time() < deadline
            time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    run = trackline.Api().run("exits/kill9")
    assert run.state == "crashed"
