"""Artifact logging side by side: trackline, W&B (offline) and MLflow (``log_artifacts``),
against ``cp -r`` and ``sha256sum`` on the same data, on the same machine, in one invocation.

    .venv/bin/python benchmarks/artifact_bench.py                     # 2 GB in 10,000 files
    .venv/bin/python benchmarks/artifact_bench.py --size-mb 256 --files 2000 --tools trackline
    .venv/bin/python benchmarks/artifact_bench.py --before-src /tmp/old/src   # + "trackline-before"

The data is written once (incompressible bytes, file sizes spread log-uniformly from
4 KB to 2 MB, scaled to the total) and then read warm from the page cache by every
measurement, so the numbers compare the work each tool does, not the disk. Writes
are not fsync-ed by any of them (cp neither); ``sync`` runs before each measurement, so
none pays for the write-back of the one before. Every tool runs in a fresh process of
its own virtualenv (``benchmarks/.venvs/<tool>``, made by ``setup_venvs.sh``); trackline
falls back to this repository's ``.venv``.

Per tool:

* ``log``: from building the artifact to the version being durable locally (trackline:
  committed in the store, ``wait()``; W&B offline: ``log_artifact`` + ``finish()``;
  MLflow: ``log_artifacts``), MB/s of the data.
* ``relog``: the same directory again, unchanged, in a new process: time, ratio to the
  first log, and bytes added to the tool's storage (goal for trackline: 0 bytes, < 10 %
  of the first time).
* ``download``: the version into a fresh folder (trackline: from the local blob store,
  the cache; MLflow: ``download_artifacts``; W&B offline cannot download without a
  server).

The worker half of this file (``--worker``) uses only the standard library plus the
tool, so it runs in every tool's venv. Results: a table on stdout and JSON in
``benchmarks/results/artifacts-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENVS = HERE / ".venvs"
TOOLS = ("trackline", "wandb", "mlflow")
BEFORE = "trackline-before"  # trackline from another source tree (--before-src), in the same run


# -- helpers (both halves) -------------------------------------------------------------------


def tree_bytes(path: Path) -> tuple[int, int]:
    """(apparent bytes, files) under ``path``."""
    total = files = 0
    for dirpath, _, names in os.walk(path):
        for n in names:
            try:
                total += os.lstat(os.path.join(dirpath, n)).st_size
                files += 1
            except OSError:
                pass
    return total, files


def proc_write_bytes() -> int | None:
    try:
        with open("/proc/self/io") as f:
            for line in f:
                if line.startswith("write_bytes:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_cpu() -> tuple[float, float]:
    """(user, system) CPU seconds of finished child processes: unlike wall time, barely moved by
    other load on the machine, so the JSON keeps them beside every time."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime, r.ru_stime


# -- the worker: one measurement in the tool's own venv ---------------------------------------


def _trackline(measure: str, data: Path, work: Path) -> dict[str, Any]:
    import trackline

    settings = trackline.Settings(silent=True, console="off", x_disable_stats=True)
    if measure == "download":
        api = trackline.Api({"project": "bench"})
        art = api.artifact("data:latest")
        _ = art.manifest  # reading the manifest is not downloading
        t0 = time.perf_counter()
        art.download(str(work / "download"))
        return {"seconds": time.perf_counter() - t0, "version": art.version}
    run = trackline.init(project="bench", settings=settings, reinit="create_new")
    dict(run.summary)  # the sender process is up (as wandb-core is when W&B's init returns)
    t0 = time.perf_counter()
    art = trackline.Artifact("data", "dataset")
    art.add_dir(str(data))
    t_added = time.perf_counter()
    logged = run.log_artifact(art).wait()
    t1 = time.perf_counter()
    run.finish()
    return {"seconds": t1 - t0, "add_dir_seconds": t_added - t0, "version": logged.version,
            "finish_seconds": time.perf_counter() - t1}


def _wandb(measure: str, data: Path, work: Path) -> dict[str, Any]:
    import wandb

    if measure == "download":
        return {"error": "W&B offline cannot download an artifact without a server"}
    run = wandb.init(project="bench", mode="offline", dir=str(work), settings=wandb.Settings(silent=True))
    t0 = time.perf_counter()
    art = wandb.Artifact("data", "dataset")
    art.add_dir(str(data))
    t_added = time.perf_counter()
    run.log_artifact(art)
    run.finish()
    return {"seconds": time.perf_counter() - t0, "add_dir_seconds": t_added - t0}


def _mlflow(measure: str, data: Path, work: Path) -> dict[str, Any]:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{work / 'mlflow.db'}")
    exp_name = "bench"
    if mlflow.get_experiment_by_name(exp_name) is None:
        mlflow.create_experiment(exp_name, artifact_location=(work / "mlartifacts").as_uri())
    mlflow.set_experiment(exp_name)
    if measure == "download":
        runs = mlflow.search_runs(experiment_names=[exp_name], order_by=["start_time DESC"], max_results=1)
        run_id = runs.iloc[0]["run_id"]
        t0 = time.perf_counter()
        mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="data", dst_path=str(work / "download"))
        return {"seconds": time.perf_counter() - t0}
    with mlflow.start_run():
        t0 = time.perf_counter()
        mlflow.log_artifacts(str(data), artifact_path="data")
        return {"seconds": time.perf_counter() - t0}


def worker(tool: str, measure: str, data: Path, work: Path) -> None:
    fn = {"trackline": _trackline, BEFORE: _trackline, "wandb": _wandb, "mlflow": _mlflow}[tool]
    before = proc_write_bytes()
    out = fn(measure, data, work)
    after = proc_write_bytes()
    if before is not None and after is not None:
        out["process_write_bytes"] = after - before
    out["peak_rss_mb"] = rss_mb()
    print("RESULT " + json.dumps(out), flush=True)


# -- the driver ---------------------------------------------------------------------------------


def make_data(root: Path, total_mb: int, files: int, seed: int) -> int:
    """``files`` files of incompressible bytes totalling about ``total_mb`` MB, in nested folders."""
    rng = random.Random(seed)
    weights = [math.exp(rng.uniform(math.log(4096), math.log(2 << 20))) for _ in range(files)]
    scale = total_mb * (1 << 20) / sum(weights)
    total = 0
    for i, w in enumerate(weights):
        size = max(1, int(w * scale))
        folder = root / f"shard{i % 20:02d}" / f"part{(i // 20) % 25:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"file{i:05d}.bin", "wb") as f:
            f.write(os.urandom(size))
        total += size
    return total


def python_for(tool: str) -> str | None:
    if tool == BEFORE:
        tool = "trackline"
    exe = VENVS / tool / "bin" / "python"
    if exe.exists():
        return str(exe)
    if tool == "trackline":
        return str(REPO / ".venv" / "bin" / "python")
    return None


def storage_of(tool: str, work: Path) -> Path:
    """Everything the tool writes lives under its work folder (store, blobs, staging, caches, run dirs)."""
    return work


def run_worker(tool: str, measure: str, data: Path, work: Path, timeout: float,
               before_src: str | None = None) -> dict[str, Any]:
    exe = python_for(tool)
    if exe is None:
        return {"error": f"no venv for {tool}: run benchmarks/setup_venvs.sh {tool}"}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "TRACKLINE_", "MLFLOW_"))}
    if tool in ("trackline", BEFORE):
        src = before_src if tool == BEFORE and before_src else str(REPO / "src")
        env.update(TRACKLINE_HOME=str(work / "home"), TRACKLINE_SILENT="true", PYTHONPATH=src)
    elif tool == "wandb":
        env.update(WANDB_SILENT="true", WANDB_MODE="offline", WANDB_DIR=str(work),
                   WANDB_CACHE_DIR=str(work / "wandb-home" / "cache"), WANDB_DATA_DIR=str(work / "wandb-home" / "data"),
                   WANDB_CONFIG_DIR=str(work / "wandb-home" / "config"),
                   WANDB_ARTIFACT_DIR=str(work / "wandb-home" / "artifacts"))
    else:
        env.update(MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false")
    if measure == "log":
        warm(data)
    os.sync()  # start every measurement with no dirty pages from the one before
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run([exe, str(Path(__file__).resolve()), "--worker", tool, measure, str(data), str(work)],
                          cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    cpu1 = children_cpu()
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT "):])
    result["process_wall_seconds"] = wall
    result["process_user_seconds"], result["process_system_seconds"] = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    return result


def warm(data: Path) -> None:
    """Read every data file, so each measurement starts with the data in the page cache.

    The VM pages out memory idle for a minute (DAMON ``pageout``), so data read by an
    earlier measurement is not necessarily still cached when the next one starts.
    """
    buf = bytearray(1 << 20)
    for dirpath, _, names in os.walk(data):
        for n in names:
            with open(os.path.join(dirpath, n), "rb", buffering=0) as f:
                while f.readinto(buf):
                    pass


def timed_command(cmd: list[str] | str, shell: bool = False, data: Path | None = None) -> dict[str, float]:
    if data is not None:
        warm(data)
    os.sync()
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    subprocess.run(cmd, shell=shell, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    cpu1 = children_cpu()
    return {"seconds": wall, "user_seconds": cpu1[0] - cpu0[0], "system_seconds": cpu1[1] - cpu0[1]}


def baselines(data: Path, scratch: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    dest = scratch / "cp-copy"
    out["cp"] = timed_command(["cp", "-r", str(data), str(dest)], data=data)
    out["sha256sum"] = timed_command(f"find {data} -type f -print0 | xargs -0 sha256sum > /dev/null", shell=True,
                                     data=data)
    out["md5sum"] = timed_command(f"find {data} -type f -print0 | xargs -0 md5sum > /dev/null", shell=True, data=data)
    return out


def settle(seconds: float) -> None:
    """Let recently deleted files age before measuring anything that creates files.

    ext4 without a journal (as on the VM these numbers come from) skips inodes deleted in
    the last 60 s (300 s while their table block is dirty) when it creates a file, so
    after thousands of deletions every file creation scans them and costs up to ~1 ms
    (``perf``: ``recently_deleted`` under ``__ext4_new_inode``). Deleting between
    measurements made whichever ran next pay for it; now a repetition deletes nothing
    until it ends, and the next one starts after ``sync`` and this pause.
    """
    if seconds > 0:
        os.sync()
        print(f"settling {seconds:.0f} s after deletions ...", file=sys.stderr)
        time.sleep(seconds)


def fmt(v: Any, unit: str = "", digits: int = 2) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}{unit}"
    return f"{v}{unit}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=2048)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--repeat", type=int, default=3, help="runs of everything; medians are reported")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--settle", type=float, default=65.0,
                    help="seconds to wait after deletions before each repetition (see settle(); 0 to skip)")
    ap.add_argument("--before-src", metavar="DIR",
                    help="also run trackline from this src/ folder as 'trackline-before' (e.g. an older commit "
                         "unpacked with `git archive <commit> src | tar -x -C /tmp/old`)")
    ap.add_argument("--out", help="write the JSON here (default benchmarks/results/artifacts-<time>.json)")
    args = ap.parse_args()
    tools = [t for t in args.tools.split(",") if t]
    if args.before_src:
        if not os.path.isdir(os.path.join(args.before_src, "trackline")):
            ap.error(f"--before-src {args.before_src}: no trackline package in it")
        tools.insert(tools.index("trackline") + 1 if "trackline" in tools else 0, BEFORE)
    unknown = set(tools) - set(TOOLS) - {BEFORE}
    if unknown:
        ap.error(f"unknown tools {sorted(unknown)}; choose from {', '.join(TOOLS)}")

    base = Path(tempfile.mkdtemp(prefix="trackline-artifact-bench-"))
    data = base / "data"
    print(f"writing {args.files} files, {args.size_mb} MB, into {data} ...", file=sys.stderr)
    total = make_data(data, args.size_mb, args.files, args.seed)
    os.sync()
    mb = total / (1 << 20)
    report: dict[str, Any] = {
        "data": {"bytes": total, "files": args.files, "path": str(data)},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_at_start": os.getloadavg()},
        "before_src": args.before_src, "settle_seconds": args.settle,
        "baselines": {}, "tools": {},
    }
    raw_base: dict[str, list[float]] = {}
    raw_base_cpu: dict[str, list[dict[str, float]]] = {}
    raw_tools: dict[str, dict[str, list[dict[str, Any]]]] = {t: {} for t in tools}
    try:
        for rep in range(args.repeat):
            settle(args.settle)
            rep_dir = base / f"rep{rep}"
            rep_dir.mkdir()
            # Interleaved, so drifting machine load touches every tool alike.
            print(f"[{rep + 1}/{args.repeat}] baselines: cp -r, sha256sum, md5sum ...", file=sys.stderr)
            for name, r in baselines(data, rep_dir).items():
                raw_base.setdefault(name, []).append(r["seconds"])
                raw_base_cpu.setdefault(name, []).append(r)
            for tool in tools:
                work = rep_dir / f"work-{tool}"
                work.mkdir()
                for measure in ("log", "relog", "download"):
                    print(f"[{rep + 1}/{args.repeat}] {tool}: {measure} ...", file=sys.stderr)
                    store = storage_of(tool, work)
                    before = tree_bytes(store)
                    r = run_worker(tool, "log" if measure == "relog" else measure, data, work, args.timeout,
                                   args.before_src)
                    after = tree_bytes(store)
                    if measure != "download":
                        r["storage_bytes_added"] = after[0] - before[0]
                        r["storage_files_added"] = after[1] - before[1]
                    raw_tools[tool].setdefault(measure, []).append(r)
            # Nothing is deleted during a repetition: see settle().
            shutil.rmtree(rep_dir, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    report["baselines"] = {n: {"seconds": statistics.median(v), "all": v, "all_cpu": raw_base_cpu[n]}
                           for n, v in raw_base.items()}
    for tool, measures in raw_tools.items():
        res: dict[str, Any] = {}
        for measure, runs in measures.items():
            ok = [r for r in runs if "seconds" in r]
            if not ok:
                res[measure] = runs[-1]
                continue
            med = sorted(ok, key=lambda r: r["seconds"])[len(ok) // 2]
            # Each run against the cp of its own repetition: load drifts, so pairs compare better.
            paired = [r["seconds"] / cp for r, cp in zip(runs, raw_base["cp"], strict=True) if "seconds" in r]
            res[measure] = {**med, "seconds": statistics.median(r["seconds"] for r in ok),
                            "best_seconds": min(r["seconds"] for r in ok),
                            "all_seconds": [r["seconds"] for r in ok],
                            "all_cpu_seconds": [r["process_user_seconds"] + r["process_system_seconds"] for r in ok],
                            "mb_per_s": mb / statistics.median(
                                r["seconds"] for r in ok),
                            "vs_cp_paired": paired, "vs_cp_paired_median": statistics.median(paired),
                            "vs_cp_paired_best": min(paired)}
        if "seconds" in res.get("log", {}) and "seconds" in res.get("relog", {}):
            res["relog"]["ratio_to_first"] = res["relog"]["seconds"] / res["log"]["seconds"]
        report["tools"][tool] = res

    b = report["baselines"]
    print(f"\nArtifact logging: {args.files} files, {mb:.0f} MB, warm page cache, {os.cpu_count()} CPUs, "
          f"median of {args.repeat}\n")
    print(f"{'':<28}{'seconds':>10}{'MB/s':>10}")
    for name in ("cp", "sha256sum", "md5sum"):
        s = b[name]["seconds"]
        print(f"{name:<28}{s:>10.2f}{mb / s:>10.0f}")
    print()
    head = (f"{'tool / measure':<28}{'median s':>10}{'best s':>9}{'MB/s':>8}{'vs cp':>8}{'paired':>8}{'best':>7}"
            f"{'vs sha256':>11}{'stored +MB':>12}{'relog/log':>11}")
    print(head)
    for tool, res in report["tools"].items():
        for measure, r in res.items():
            label = f"{tool} {measure}"
            if "error" in r:
                print(f"{label:<28}  {r['error'][:90]}")
                continue
            s = r["seconds"]
            added = r.get("storage_bytes_added")
            print(f"{label:<28}{s:>10.2f}{r['best_seconds']:>9.2f}{mb / s:>8.0f}{s / b['cp']['seconds']:>7.2f}x"
                  f"{r['vs_cp_paired_median']:>7.2f}x{r['vs_cp_paired_best']:>6.2f}x{s / b['sha256sum']['seconds']:>10.2f}x"
                  f"{fmt(None if added is None else added / (1 << 20), '', 1):>12}{fmt(r.get('ratio_to_first'), '', 3):>11}")
    print("\nvs cp: median / median cp; paired: median (and best) of each run / the cp of its repetition")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = Path(args.out) if args.out else HERE / "results" / f"artifacts-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"\nJSON: {out}")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], Path(sys.argv[4]), Path(sys.argv[5]))
    else:
        main()
