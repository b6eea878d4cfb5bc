"""Invariant 1 for media: an image acknowledged by log() survives a SIGKILL (file and reference)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import PYTHON, child_env
from trackline.storage import open_store
from trackline.storage.base import RunKey

CHILD = r"""
import os, sys
import numpy as np, trackline
run = trackline.init(project="media-crash", id=sys.argv[1], mode=sys.argv[3])
out = os.fdopen(int(sys.argv[2]), "w", buffering=1)
step = 0
while True:
    img = np.full((8, 8, 3), step % 256, dtype=np.uint8)
    run.log({"img": trackline.Image(img), "n": step})
    out.write(f"{step}\n")
    step += 1
"""


def test_sigkilled_media_are_recovered_by_sync(isolated: Path) -> None:
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([PYTHON, "-c", CHILD, "mediakill", str(write_fd), "offline"], cwd=isolated / "work",
                            env=child_env(isolated), pass_fds=(write_fd,))
    os.close(write_fd)
    reader = os.fdopen(read_fd)
    acked = -1
    for line in reader:  # let it log a few images, then kill it mid-stream
        acked = int(line)
        if acked >= 20:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for line in reader:
        if line.strip():
            acked = int(line)
    reader.close()
    run_dir = next((isolated / "work" / "trackline").glob("*-mediakill"))
    deadline = time.monotonic() + 60
    subprocess.run([PYTHON, "-m", "trackline.cli.main", "sync", str(run_dir)], check=True, capture_output=True,
                   env=child_env(isolated), cwd=isolated / "work", timeout=max(1.0, deadline - time.monotonic()))
    store = open_store(str(isolated / "home" / "trackline.db"))
    runs = [r for r in store.find_runs("mediakill")]
    assert runs, "the run was not synced"
    assert not (run_dir / "tmp").exists()  # unused spare files are gone once sync has replayed the log
    row = store.get_run(RunKey(runs[0]["entity"], runs[0]["project"], "mediakill"))
    assert row is not None
    refs = dict(store.value_history(int(row["pk"]), ["img"])["img"])
    assert set(range(acked + 1)) <= set(refs)  # every acknowledged step has its reference...
    files = {f["path"]: f for f in store.run_files(int(row["pk"]))}
    for step in range(acked + 1):
        ref = refs[step]
        assert ref["path"] in files, step  # ...and its file, in the blob store
        assert files[ref["path"]]["sha256"] == ref["sha256"]
        assert store.blobs is not None and store.blobs.exists(ref["sha256"])


SPARES_CHILD = r"""
import glob, sys, time
import numpy as np, trackline
run = trackline.init(project="media-crash", id=sys.argv[1], mode=sys.argv[2])
for step in range(20):
    run.log({"img": trackline.Image(np.full((8, 8, 3), step, dtype=np.uint8))})
deadline = time.monotonic() + 30
while not glob.glob(f"trackline/*-{sys.argv[1]}/tmp/spare-*") and time.monotonic() < deadline:
    time.sleep(0.01)  # the spare files are made by a background thread
print("ready", flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("mode", ["online", "offline"])
def test_a_killed_runs_spare_files_are_removed(isolated: Path, mode: str) -> None:
    """Online the sender clears ``tmp/`` when it marks the run crashed; offline, ``trackline sync`` does."""
    run_id = f"spares{mode}"
    proc = subprocess.Popen([PYTHON, "-c", SPARES_CHILD, run_id, mode], cwd=isolated / "work",
                            env=child_env(isolated), stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    run_dir = next((isolated / "work" / "trackline").glob(f"*-{run_id}"))
    assert any((run_dir / "tmp").glob("spare-*"))
    proc.kill()
    proc.wait()
    proc.stdout.close()
    if mode == "offline":
        subprocess.run([PYTHON, "-m", "trackline.cli.main", "sync", str(run_dir)], check=True, capture_output=True,
                       env=child_env(isolated), cwd=isolated / "work", timeout=120)
    store = open_store(str(isolated / "home" / "trackline.db"))
    deadline = time.monotonic() + 60
    state = None
    while time.monotonic() < deadline:
        runs = list(store.find_runs(run_id))
        state = runs[0]["state"] if runs else None
        if state == "crashed" and not (run_dir / "tmp").exists():
            break
        time.sleep(0.1)
    assert state == "crashed"
    assert not (run_dir / "tmp").exists()
