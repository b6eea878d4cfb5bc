"""Run one measurement of one tool, inside that tool's virtualenv; print JSON.

    benchmarks/.venvs/<tool>/bin/python benchmarks/run_one.py \\
        --tool wandb --measure log --workdir /tmp/x [--steps N] [--out result.json]

Measures:
  import  median wall time of ``import <tool>`` in fresh interpreters
  log     init, the timed log() loop, finish, read-back, disk use, peak RSS
  crash   log in a child, SIGKILL it ~0.5 s in, count acknowledged points recovered

Standard library only (this file runs in every tool's venv).  The result is
written to ``--out`` (if given) and printed as the last line of stdout, prefixed
with ``RESULT ``; a failure becomes ``{"error": "..."}`` with exit status 1.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import math
import os
import platform
import random
import resource
import select
import signal
import statistics
import subprocess
import sys
import time
import traceback
from array import array
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from adapters.base import Adapter, path_bytes  # noqa: E402
from workload import DEFAULT_SEED, DEFAULT_STEPS, POINTS_PER_STEP, Workload  # noqa: E402

TOOLS = {
    "trackline": "adapters.for_trackline",
    "wandb": "adapters.for_wandb",
    "mlflow": "adapters.for_mlflow",
    "trackio": "adapters.for_trackio",
}

#: When this file appears in the workdir, the timed workload is over; the
#: parent's RSS sampler stops there so read-back memory is not counted.
PHASE_FILE = ".workload-done"


def load_adapter(tool: str, workdir: Path) -> Adapter:
    module = importlib.import_module(TOOLS[tool])
    adapter: Adapter = module.ADAPTER(workdir)
    return adapter


def versions(adapter: Adapter) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in adapter.dists:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def percentile(sorted_values: array, q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(q / 100.0 * len(sorted_values)) - 1))
    return float(sorted_values[k])


# -- import ------------------------------------------------------------------


def measure_import(adapter: Adapter, repeats: int) -> dict[str, Any]:
    adapter.configure_env()
    code = (
        f"import time;t=time.perf_counter();import {adapter.module};"
        "print('IMPORT_S', time.perf_counter()-t)"
    )
    samples = []
    # One untimed warm-up run: it writes .pyc files and warms the page cache.
    for i in range(repeats + 1):
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=adapter.workdir,
            timeout=300,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"import {adapter.module} failed: {proc.stderr.strip()[-500:]}")
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("IMPORT_S ")][-1]
        if i > 0:
            samples.append(float(line.split()[1]))
    return {
        "import_s": statistics.median(samples),
        "import_samples_s": samples,
    }


# -- log ---------------------------------------------------------------------


def measure_log(adapter: Adapter, steps: int, seed: int) -> dict[str, Any]:
    adapter.configure_env()
    wl = Workload(steps, seed)
    t = time.perf_counter()
    adapter.import_tool()
    import_inproc_s = time.perf_counter() - t

    durations = array("q", bytes(8 * steps))
    perf_ns = time.perf_counter_ns
    perf = time.perf_counter
    step = wl.step

    t_init0 = perf()
    adapter.init()
    t_init1 = perf()
    ctx = adapter.context()
    fn = adapter.log_callable()

    d = step(0)
    t_first0 = perf()
    if adapter.log_takes_step:
        s = perf_ns()
        fn(d, step=0)
        durations[0] = perf_ns() - s
        t_first1 = perf()
        for i in range(1, steps):
            d = step(i)
            s = perf_ns()
            fn(d, step=i)
            durations[i] = perf_ns() - s
    else:
        s = perf_ns()
        fn(d)
        durations[0] = perf_ns() - s
        t_first1 = perf()
        for i in range(1, steps):
            d = step(i)
            s = perf_ns()
            fn(d)
            durations[i] = perf_ns() - s
    t_loop1 = perf()
    adapter.finish()
    t_fin1 = perf()
    rss_self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    (adapter.workdir / PHASE_FILE).touch()

    # Read back until every point is there (tools that finish before the
    # store is complete pay for it in the ingest rate).
    expected = wl.points
    found = sum(adapter.read_points(ctx).values())
    t_durable = t_fin1
    deadline = t_fin1 + 120.0
    polls = 0
    while found < expected and perf() < deadline:
        time.sleep(0.05)
        polls += 1
        found = sum(adapter.read_points(ctx).values())
        t_durable = perf()
    t_read1 = perf()

    sd = sorted(durations)
    log_total_s = sum(durations) / 1e9
    loop_s = t_loop1 - t_first0
    window_s = max(t_durable, t_fin1) - t_first0
    store_paths, dir_paths = adapter.storage_paths(ctx)
    store_bytes = path_bytes(store_paths)
    total_bytes = path_bytes(_dedupe(store_paths + dir_paths))
    return {
        "steps": steps,
        "points": expected,
        "import_inprocess_s": import_inproc_s,
        "init_s": t_init1 - t_init0,
        "init_to_first_log_s": t_first1 - t_init0,
        "log_p50_us": percentile(sd, 50) / 1e3,
        "log_p99_us": percentile(sd, 99) / 1e3,
        "log_max_us": float(sd[-1]) / 1e3,
        "log_mean_us": log_total_s / steps * 1e6,
        "log_total_s": log_total_s,
        "loop_s": loop_s,
        # Time the loop spent outside log(): building the metrics dicts and timers.
        "loop_overhead_s": loop_s - log_total_s,
        "finish_s": t_fin1 - t_loop1,
        "durable_after_finish_s": max(0.0, t_durable - t_fin1),
        "readback_polls": polls,
        "readback_s": t_read1 - t_fin1,
        "ingest_window_s": window_s,
        "ingest_points_per_s": expected / window_s if found >= expected else None,
        # Same, minus the workload's own dict-building time inside the window.
        "ingest_points_per_s_excl_workload": (
            expected / (window_s - (loop_s - log_total_s)) if found >= expected else None
        ),
        "points_read_back": found,
        "readback_complete": found == expected,
        "store_bytes": store_bytes,
        "total_bytes": total_bytes,
        "store_files": [str(p) for p in store_paths],
        "run_dir_paths": [str(p) for p in dir_paths],
        "bytes_per_point_store": store_bytes / expected,
        "bytes_per_point_total": total_bytes / expected,
        "peak_rss_self_mb": rss_self_kb / 1024.0,
        "context": ctx,
    }


def _dedupe(paths: list[Path]) -> list[Path]:
    """Drop paths that lie inside another listed folder, so nothing counts twice."""
    resolved = sorted({p.resolve() for p in paths}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for p in resolved:
        if not any(p == k or k in p.parents for k in kept):
            kept.append(p)
    return kept


# -- crash -------------------------------------------------------------------


def crash_child(adapter: Adapter, ack_fd: int, seed: int) -> None:
    """Log forever, writing each step number to ``ack_fd`` after log() returns."""
    adapter.configure_env()
    adapter.import_tool()
    adapter.init()
    ctx = adapter.context()
    tmp = adapter.workdir / "ctx.json.tmp"
    tmp.write_text(json.dumps(ctx))
    tmp.replace(adapter.workdir / "ctx.json")
    wl = Workload(DEFAULT_STEPS, seed)
    fn = adapter.log_callable()
    write = os.write
    os.write(ack_fd, b"READY\n")
    i = 0
    while True:
        d = wl.step(i)
        if adapter.log_takes_step:
            fn(d, step=i)
        else:
            fn(d)
        write(ack_fd, b"%d\n" % i)
        i += 1


def _children(pid: int) -> set[int]:
    """All descendants of ``pid``, from /proc (no psutil in the tools' venvs)."""
    by_parent: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        by_parent.setdefault(ppid, []).append(int(entry))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for c in by_parent.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3] != b"Z"


def measure_crash(adapter: Adapter, seed: int, kill_after_s: float | None) -> dict[str, Any]:
    rng = random.Random(seed ^ 0x5EED)
    kill_after = kill_after_s if kill_after_s is not None else rng.uniform(0.3, 0.7)
    read_fd, write_fd = os.pipe()
    log_path = adapter.workdir / "crash-child.log"
    with open(log_path, "wb") as child_log:
        child = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--tool",
                adapter.name,
                "--measure",
                "crash-child",
                "--workdir",
                str(adapter.workdir),
                "--seed",
                str(seed),
                "--ack-fd",
                str(write_fd),
            ],
            pass_fds=(write_fd,),
            stdin=subprocess.DEVNULL,
            stdout=child_log,
            stderr=subprocess.STDOUT,
            cwd=adapter.workdir,
        )
    os.close(write_fd)

    buf = b""
    started: float | None = None
    last_ack = -1
    killed_at: float | None = None
    descendants: set[int] = set()
    deadline = time.monotonic() + 180.0
    while True:
        now = time.monotonic()
        if started is not None and killed_at is None and now - started >= kill_after:
            descendants = _children(child.pid)
            os.kill(child.pid, signal.SIGKILL)
            killed_at = now
        if killed_at is None and now > deadline:
            child.kill()
            raise RuntimeError("crash child never became ready (see crash-child.log)")
        ready, _, _ = select.select([read_fd], [], [], 0.01)
        if not ready:
            if child.poll() is not None and killed_at is None:
                tail = log_path.read_text(errors="replace").strip().splitlines()[-1:]
                raise RuntimeError(f"crash child exited {child.returncode} early: {tail}")
            continue
        chunk = os.read(read_fd, 1 << 16)
        if not chunk:
            break  # the pipe closed: the child is dead and everything it wrote is read
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            if line == b"READY":
                started = time.monotonic()
            elif line:
                last_ack = int(line)
    os.close(read_fd)
    child.wait()
    if started is None:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-1:]
        raise RuntimeError(f"crash child exited {child.returncode} before logging: {tail}")
    acked_steps = last_ack + 1

    # Helper processes (W&B's wandb-core) may still be writing what they got
    # from the dead process; give them time to finish, as a user's disk would.
    wait_deadline = time.monotonic() + 60.0
    while any(_alive(p) for p in descendants) and time.monotonic() < wait_deadline:
        time.sleep(0.05)
    helpers_still_alive = [p for p in descendants if _alive(p)]
    for p in helpers_still_alive:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass

    ctx_file = adapter.workdir / "ctx.json"
    if not ctx_file.exists():
        raise RuntimeError("crash child died before writing its run context")
    ctx = json.loads(ctx_file.read_text())
    adapter.configure_env()
    adapter.import_tool()
    t = time.perf_counter()
    recover_info = adapter.recover(ctx)
    recover_s = time.perf_counter() - t
    counts = adapter.read_points(ctx)
    recovered_acked = sum(n for s, n in counts.items() if s < acked_steps)
    acked_points = acked_steps * POINTS_PER_STEP
    return {
        "kill_after_s": kill_after,
        "acked_steps": acked_steps,
        "acked_points": acked_points,
        "recovered_acked_points": recovered_acked,
        "recovered_unacked_points": sum(n for s, n in counts.items() if s >= acked_steps),
        "recovered_fraction": recovered_acked / acked_points if acked_points else None,
        "lost_acked_points": acked_points - recovered_acked,
        "helpers_waited_for": len(descendants),
        "helpers_killed_after_60s": len(helpers_still_alive),
        "recover_s": recover_s,
        **recover_info,
    }


# -- main --------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tool", required=True, choices=sorted(TOOLS))
    p.add_argument("--measure", required=True, choices=["import", "log", "crash", "crash-child"])
    p.add_argument("--workdir", required=True, type=Path)
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--import-repeats", type=int, default=7)
    p.add_argument("--kill-after", type=float, default=None, help="seconds (default 0.3-0.7)")
    p.add_argument("--ack-fd", type=int, default=None)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)

    args.workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(args.workdir)  # tools that drop files in the cwd drop them here
    adapter = load_adapter(args.tool, args.workdir.resolve())

    if args.measure == "crash-child":
        crash_child(adapter, args.ack_fd, args.seed)
        return 0

    result: dict[str, Any] = {"tool": args.tool, "measure": args.measure}
    code = 0
    try:
        if args.measure == "import":
            result.update(measure_import(adapter, args.import_repeats))
        elif args.measure == "log":
            result.update(measure_log(adapter, args.steps, args.seed))
        else:
            result.update(measure_crash(adapter, args.seed, args.kill_after))
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
        code = 1
    result["versions"] = versions(adapter)
    text = json.dumps(result, default=str)
    if args.out:
        args.out.write_text(text)
    sys.stdout.write("RESULT " + text + "\n")
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    # os._exit: skip interpreter teardown, where some tools' atexit hooks can
    # hang after the numbers are already written.
    rc = main()
    sys.stdout.flush()
    os._exit(rc)
