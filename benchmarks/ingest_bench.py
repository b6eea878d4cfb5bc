"""Sustained ingest on one core: how fast the sender turns a record log into the store.

    .venv/bin/python benchmarks/ingest_bench.py [--steps 100000] [--repeats 3]

DESIGN.md's target is ">= 1,000,000 scalar points/s sustained on one core". ``run.py``
measures ingest end to end (first log() to the last point readable, sender start-up
included, next to W&B, MLflow and trackio); this script isolates the sender's own rate
and its start-up, with the benchmark workload (10 scalars per step):

1. an offline run writes ``--steps`` steps into its record log (no sender running);
2. in a fresh process, the replay that the sender child and ``trackline sync`` share
   (``Pump``: read frames, check CRCs, decode, build columns, write chunks, commit)
   turns the log into a new SQLite store; reported: points/s of the replay alone, and
   the process's CPU time to import the sender and open the store;
3. ``finish()`` after ``--steps`` steps of an online run whose loop also does W us of
   work per step (W = 0, 5, 20; the work is a busy wait), each in a fresh process: with
   W = 0 the loop logs faster than the sender indexes (``run.py``'s flat-out case) and
   ``finish()`` waits for the backlog; with a few microseconds of work per step the
   sender keeps up and ``finish()`` only waits for the last batch.

Prints a table and the JSON (also written to ``benchmarks/results/ingest-<UTC>.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

_REPLAY = r"""
import json, os, resource, sys, time, types
cpu = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
c0 = cpu()
pkg = types.ModuleType("trackline"); pkg.__path__ = [sys.argv[1]]; sys.modules["trackline"] = pkg
from trackline.sender.sender import Pump
from trackline.storage import open_store
store = open_store("sqlite:///" + sys.argv[3])
c1 = cpu()
pump = Pump(sys.argv[2], store, dedicated=True)
t0 = time.perf_counter(); c2 = cpu()
frames = 0
while True:
    n = pump.pump()
    if not n:
        break
    frames += n
t1 = time.perf_counter(); c3 = cpu()
print(json.dumps({"startup_cpu_s": c1 - c0, "replay_wall_s": t1 - t0, "replay_cpu_s": c3 - c2,
                  "frames": frames, "points": pump.points_total}))
"""


_FINISH = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
from workload import Workload
import trackline
steps, work_us = int(sys.argv[2]), float(sys.argv[3])
wl = Workload(steps)
run = trackline.init(project="finish", dir=sys.argv[4], mode="online")
log, pc = run.log, time.perf_counter
t0 = pc()
for i in range(steps):
    if work_us:
        end = pc() + work_us * 1e-6
        while pc() < end:
            pass
    log(wl.step(i))
t1 = pc()
run.finish()
t2 = pc()
print(t1 - t0, t2 - t1)
"""


def _finish_after(steps: int, work_us: float, tmp: Path, repeats: int) -> dict[str, float]:
    env = dict(os.environ, TRACKLINE_SILENT="true")
    loops, finishes = [], []
    for i in range(repeats):
        d = tmp / f"finish-{work_us}-{i}"
        d.mkdir()
        env["TRACKLINE_STORE"] = str(d / "store.db")
        out = subprocess.run([sys.executable, "-c", _FINISH, str(HERE), str(steps), str(work_us), str(d)],
                             env=env, capture_output=True, text=True, check=True)
        loop_s, finish_s = map(float, out.stdout.split()[-2:])
        loops.append(loop_s)
        finishes.append(finish_s)
    return {"work_us_per_step": work_us, "loop_s_median": statistics.median(loops),
            "finish_ms_median": statistics.median(finishes) * 1e3, "finish_ms_best": min(finishes) * 1e3}


def _write_log(steps: int, work: Path) -> str:
    sys.path.insert(0, str(HERE))
    import trackline
    from workload import Workload

    os.environ["TRACKLINE_SILENT"] = "true"
    wl = Workload(steps)
    run = trackline.init(project="ingest", dir=str(work), mode="offline")
    for i in range(steps):
        run.log(wl.step(i))
    run.finish()
    return str(run.settings.sync_file)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import trackline

    pkg_dir = str(Path(trackline.__file__).parent)
    with tempfile.TemporaryDirectory(prefix="trackline-ingest-") as tmp:
        work = Path(tmp)
        log_path = _write_log(args.steps, work)
        runs = []
        for i in range(args.repeats):
            out = subprocess.run(
                [sys.executable, "-c", _REPLAY, pkg_dir, log_path, str(work / f"store{i}.db")],
                capture_output=True, text=True, check=True,
            )
            runs.append(json.loads(out.stdout))
        finish = [_finish_after(args.steps, w, work, args.repeats) for w in (0.0, 5.0, 20.0)]
    best = min(runs, key=lambda r: r["replay_wall_s"])
    # Points the user logged (10 per step); the store also keeps _timestamp and _runtime.
    user_points = args.steps * 10
    rate = [user_points / r["replay_wall_s"] for r in runs]
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": sys.version.split()[0], "cpus": os.cpu_count(),
                    "loadavg_1m": os.getloadavg()[0]},
        "steps": args.steps,
        "points": user_points,
        "points_stored": best["points"],
        "log_bytes": os.path.getsize(log_path) if os.path.exists(log_path) else None,
        "replay_points_per_s_best": max(rate),
        "replay_points_per_s_median": statistics.median(rate),
        "replay_cpu_s_best": min(r["replay_cpu_s"] for r in runs),
        "sender_startup_cpu_s_median": statistics.median(r["startup_cpu_s"] for r in runs),
        "target_points_per_s": 1_000_000,
        "runs": runs,
        "finish_after_loop": finish,
        "finish_target_ms": 200,
    }
    print(f"{'replay (sustained, one core)':32} {report['replay_points_per_s_best'] / 1e6:6.2f} M points/s best, "
          f"{report['replay_points_per_s_median'] / 1e6:.2f} median (target >= 1.00)")
    print(f"{'sender start-up (imports+store)':32} {report['sender_startup_cpu_s_median'] * 1e3:6.0f} ms CPU")
    for f in finish:
        print(f"{'finish() after ' + format(f['work_us_per_step'], 'g') + ' us/step loop':32} "
              f"{f['finish_ms_median']:6.0f} ms median, {f['finish_ms_best']:.0f} best "
              f"(loop {f['loop_s_median']:.2f} s; target <= 200)")
    print(f"{'points logged (stored)':32} {user_points:>9,} ({best['points']:,})   load average {report['machine']['loadavg_1m']:.2f}")
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"ingest-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
