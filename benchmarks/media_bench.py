"""Media benchmark: trackline side by side with W&B (offline) and trackio, same machine, same run.

    .venv/bin/python benchmarks/media_bench.py                   # everything (a few minutes)
    .venv/bin/python benchmarks/media_bench.py --quick           # 1/10 of every workload
    .venv/bin/python benchmarks/media_bench.py --tools trackline,wandb --workloads images

Workloads (each in a fresh process of the tool's own venv, fresh temporary directory):

* ``images``: N (1,000) distinct 224x224 RGB uint8 images, one ``log({"img": Image(a)})``
  per step; the array is made outside the timed call, the ``Image`` inside it. The picture
  is a smooth pattern plus a hash pattern that repeats, so zlib's LZ77 finds long matches
  (PNGs of ~6-9 KB, 5% of the pixels): easy for every PNG encoder.
* ``photos``: the same with photo-like pictures: crops of a blurred scene (soft shapes,
  smooth gradients) with Gaussian sensor noise (sigma 4), which compress like a camera photo
  (~85 KB PNGs, 55% of the pixels, where zlib's search finds little).
* ``table_100k`` / ``table_1m``: a DataFrame (int, float, float, string columns) logged once
  as ``Table(dataframe=df)``. W&B caps tables at 200,000 rows; its caps are raised for
  the 1M run (``MAX_ROWS``/``MAX_ARTIFACT_ROWS``) so it can take part.
* ``histograms``: 1,000 steps of ``log({"h": Histogram(x)})`` with x 1,000,000 float64
  values (made outside the timed call).

Measured: the time in the training thread per ``log()`` call (p50, p99, total), the time
of ``finish()``, and the disk used by everything the tool wrote (apparent sizes), twice:
right when ``finish()`` returns, and once the tool's background processes have exited (a
SQLite write-ahead log, up to ~4 MB, is then folded into its database and removed). For
trackline also the time to read the table back through ``trackline.Api``. Results are
printed as a table (ratios: peer / trackline, above 1 means trackline is faster or
smaller) and written to ``benchmarks/results/media-<UTC time>.json``.

The tools' venvs come from ``benchmarks/setup_venvs.sh``; this script needs numpy, pandas
and Pillow in them (and pyarrow for trackline): ``--install`` pip-installs what is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
TOOLS = ("trackline", "wandb", "trackio")
WORKLOADS = ("images", "photos", "table_100k", "table_1m", "histograms")
NEEDS = {"trackline": ["numpy", "pandas", "Pillow", "pyarrow"], "wandb": ["numpy", "pandas", "Pillow"],
         "trackio": ["numpy", "pandas", "Pillow"]}
IMPORT_NAMES = {"Pillow": "PIL"}


# -- child side: runs inside the tool's venv ----------------------------------------------


def _configure(tool: str, work: Path) -> None:
    if tool == "trackline":
        os.environ["TRACKLINE_HOME"] = str(work / "home")
        os.environ["TRACKLINE_STORE"] = str(work / "home" / "store.db")
        os.environ["TRACKLINE_SILENT"] = "true"
    elif tool == "wandb":
        os.environ.update(WANDB_MODE="offline", WANDB_DIR=str(work), WANDB_SILENT="true",
                          WANDB_CONSOLE="off", WANDB_DISABLE_GIT="true", WANDB_CACHE_DIR=str(work / "cache"),
                          WANDB_CONFIG_DIR=str(work / "config"), WANDB_DATA_DIR=str(work / "data"))
    elif tool == "trackio":
        os.environ.update(TRACKIO_DIR=str(work / "trackio"), HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1",
                          GRADIO_ANALYTICS_ENABLED="False")


def _init(tool: str, work: Path) -> Any:
    if tool == "trackline":
        import trackline

        return trackline, trackline.init(project="media-bench", dir=str(work / "runs"), mode="online")
    if tool == "wandb":
        import wandb

        return wandb, wandb.init(project="media-bench", dir=str(work), mode="offline")
    import trackio

    return trackio, trackio.init(project="media-bench", embed=False)


def _log(tool: str, mod: Any, run: Any) -> Any:
    return mod.log if tool == "trackio" else run.log


def _finish(tool: str, mod: Any, run: Any) -> None:
    if tool == "trackio":
        mod.finish()
    else:
        run.finish()


def _settled_disk(path: Path, limit_s: float = 15.0) -> int:
    """The disk used once the tool's background processes have let go of their files: a
    SQLite write-ahead log (trackline's store, trackio's) is folded into its database and
    removed when the last connection closes, shortly after ``finish()`` returns. Waits until
    no ``-wal`` file is left and two readings 0.2 s apart agree (at most ``limit_s``)."""
    deadline = time.monotonic() + limit_s
    last = -1
    while True:
        size = _disk(path)
        wal = any(f.endswith("-wal") for _root, _dirs, files in os.walk(path) for f in files)
        if (size == last and not wal) or time.monotonic() > deadline:
            return size
        last = size
        time.sleep(0.2)


def _disk(path: Path) -> int:
    """Apparent size of every file under ``path``; a file with several names (hard links,
    as trackline's run media and their blobs) counts once, as ``du`` counts it."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for root, _dirs, files in os.walk(path):
        for f in files:
            p = Path(root, f)
            if not p.is_symlink() and not f.endswith("-shm"):
                try:
                    st = p.stat()
                except OSError:
                    continue
                if (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    total += st.st_size
    return total


def _stats(ns: list[int]) -> dict[str, float]:
    ordered = sorted(ns)
    return {
        "calls": len(ns),
        "p50_ms": statistics.median(ordered) / 1e6,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1e6,
        "total_s": sum(ns) / 1e9,
    }


def _image(np: Any, base: Any, i: int) -> Any:
    # A smooth picture that moves with the step, plus a little noise: PNG-compressible like a photo.
    shifted = np.roll(base, i % 224, axis=1)
    noise = ((np.arange(224 * 224 * 3, dtype=np.uint32) * (2654435761 + i)) >> 27).astype(np.uint8)
    return shifted + noise.reshape(224, 224, 3)


def _scene(np: Any) -> Any:
    """A 288x288 blurred scene: low-frequency waves and soft-edged ellipses (no sharp detail)."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:288, 0:288] / 288.0
    img = np.zeros((288, 288, 3))
    for c in range(3):
        for _ in range(6):
            fx, fy = rng.uniform(0.5, 4, 2)
            img[..., c] += rng.uniform(10, 30) * np.cos(2 * np.pi * (fx * xx + fy * yy) + rng.uniform(0, 2 * np.pi))
    for _ in range(12):
        cy, cx = rng.uniform(0, 1, 2)
        ry, rx = rng.uniform(0.03, 0.2, 2)
        inside = np.clip(1.5 - ((yy - cy) / ry) ** 2 - ((xx - cx) / rx) ** 2, 0, 1)[..., None]
        img = img * (1 - inside) + inside * rng.uniform(0, 255, 3)
    return img + 128 - img.mean()


def _photo(np: Any, scene: Any, i: int) -> Any:
    # A 224x224 crop that moves with the step, plus sensor noise: compresses like a camera photo.
    y, x = (i * 7) % 64, (i * 13) % 64
    noise = np.random.default_rng(i).normal(0, 4, (224, 224, 3))
    return np.clip(scene[y : y + 224, x : x + 224] + noise, 0, 255).astype(np.uint8)


def child(tool: str, workload: str, work: Path, scale: float) -> dict[str, Any]:
    _configure(tool, work)
    import numpy as np

    mod, run = _init(tool, work)
    log = _log(tool, mod, run)
    out: dict[str, Any] = {"tool": tool, "workload": workload}
    times: list[int] = []
    perf = time.perf_counter_ns
    if workload in ("images", "photos"):
        n = max(1, int(1000 * scale))
        yy, xx = np.mgrid[0:224, 0:224]
        base = np.stack([(xx + yy) % 256, (xx * 2) % 256, (yy * 3) % 256], axis=-1).astype(np.uint8)
        scene = _scene(np) if workload == "photos" else None
        Image = mod.Image
        for i in range(n):
            arr = _image(np, base, i) if scene is None else _photo(np, scene, i)
            t0 = perf()
            log({"img": Image(arr)})
            times.append(perf() - t0)
        out["n"] = n
    elif workload.startswith("table_"):
        import pandas as pd

        rows = int((1_000_000 if workload == "table_1m" else 100_000) * scale)
        rng = np.random.default_rng(0)
        df = pd.DataFrame({
            "id": np.arange(rows), "x": rng.normal(size=rows), "score": rng.random(rows),
            "label": np.array([f"class_{i}" for i in range(10)])[rng.integers(0, 10, rows)],
        })
        if tool == "wandb":  # W&B caps tables; raise the caps so it can log the same table
            mod.Table.MAX_ROWS = max(mod.Table.MAX_ROWS, rows)
            mod.Table.MAX_ARTIFACT_ROWS = max(mod.Table.MAX_ARTIFACT_ROWS, rows)
        t0 = perf()
        log({"table": mod.Table(dataframe=df)})
        times.append(perf() - t0)
        out["rows"] = rows
    elif workload == "histograms":
        steps = max(1, int(1000 * scale))
        base = np.random.default_rng(0).normal(size=1_000_000)
        Histogram = mod.Histogram
        for i in range(steps):
            x = base + i * 0.001
            t0 = perf()
            log({"h": Histogram(x)})
            times.append(perf() - t0)
        out["n"] = steps
    else:
        raise SystemExit(f"unknown workload {workload!r}")
    out.update(_stats(times))
    t0 = perf()
    _finish(tool, mod, run)
    out["finish_s"] = (perf() - t0) / 1e9
    if tool == "trackline" and workload.startswith("table_"):
        t0 = perf()
        api_run = mod.Api().run(run.path)
        frame = api_run.summary["table"].get_dataframe()
        out["load_s"] = (perf() - t0) / 1e9
        out["loaded_rows"] = len(frame)
    out["disk_bytes"] = _disk(work)
    out["disk_settled_bytes"] = _settled_disk(work)
    out["version"] = getattr(mod, "__version__", "?")
    return out


# -- driver side ------------------------------------------------------------------------


def venv_python(tool: str) -> Path:
    return HERE / ".venvs" / tool / "bin" / "python"


def missing(tool: str) -> list[str]:
    py = venv_python(tool)
    out = []
    for dist in NEEDS[tool]:
        name = IMPORT_NAMES.get(dist, dist)
        if subprocess.run([str(py), "-c", f"import {name}"], capture_output=True).returncode != 0:
            out.append(dist)
    return out


def run_one(tool: str, workload: str, scale: float, timeout: float) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"media-{tool}-"))
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "TRACKLINE_", "TRACKIO_"))}
        if tool == "trackline":
            env["PYTHONPATH"] = str(REPO / "src")
        proc = subprocess.run(
            [str(venv_python(tool)), str(Path(__file__).resolve()), "--child", "--tool", tool, "--workload", workload,
             "--workdir", str(work), "--scale", str(scale)],
            capture_output=True, text=True, timeout=timeout, env=env, cwd=str(work),
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            return {"tool": tool, "workload": workload, "error": " | ".join(tail) or f"exit {proc.returncode}"}
        result: dict[str, Any] = json.loads(lines[-1][len("RESULT "):])
        return result
    except subprocess.TimeoutExpired:
        return {"tool": tool, "workload": workload, "error": f"timed out after {timeout:.0f} s"}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def fmt(v: Any, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "MB":
        return f"{v / 1e6:,.1f}"
    if unit == "ms":
        return f"{v:,.3f}" if v < 10 else f"{v:,.1f}"
    return f"{v:,.2f}"


def report(results: list[dict[str, Any]], tools: list[str], workloads: list[str]) -> str:
    rows = [("log() p50", "p50_ms", "ms"), ("log() p99", "p99_ms", "ms"), ("log() total", "total_s", "s"),
            ("finish()", "finish_s", "s"), ("disk at finish()", "disk_bytes", "MB"),
            ("disk after exit", "disk_settled_bytes", "MB")]
    by = {(r["tool"], r["workload"]): r for r in results}
    peers = [t for t in tools if t != "trackline"]
    head = ["workload", "measure", *[f"{t}" for t in tools], *[f"{p}/trackline" for p in peers]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w in workloads:
        for label, field, unit in rows:
            cells = [w, f"{label} ({unit})"]
            for t in tools:
                r = by.get((t, w), {})
                cells.append("error" if "error" in r else fmt(r.get(field), unit))
            base = by.get(("trackline", w), {}).get(field)
            for p in peers:
                v = by.get((p, w), {}).get(field)
                cells.append(f"{v / base:,.1f}x" if isinstance(v, (int, float)) and base else "-")
            lines.append("| " + " | ".join(cells) + " |")
        load = by.get(("trackline", w), {}).get("load_s")
        if load is not None:
            lines.append(f"| {w} | trackline Api read-back (s) | {load:.3f} |" + " |" * (len(head) - 3))
    errors = [r for r in results if "error" in r]
    for r in errors:
        lines.append(f"\n{r['tool']} {r['workload']}: {r['error']}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tool", default="trackline")
    ap.add_argument("--workload", default="images")
    ap.add_argument("--workdir", default="")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every workload's size (0.1 = --quick)")
    ap.add_argument("--quick", action="store_true", help="a tenth of every workload")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--install", action="store_true", help="pip-install numpy/pandas/Pillow/pyarrow into the venvs")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    if args.child:
        result = child(args.tool, args.workload, Path(args.workdir), args.scale)
        print("RESULT " + json.dumps(result))
        return
    scale = 0.1 if args.quick else args.scale
    tools = [t for t in args.tools.split(",") if t]
    workloads = [w for w in args.workloads.split(",") if w]
    for t in tools:
        if not venv_python(t).exists():
            sys.exit(f"no venv for {t}: run benchmarks/setup_venvs.sh {t}")
        need = missing(t)
        if need and args.install:
            subprocess.run([str(venv_python(t)), "-m", "pip", "install", "-q", *need], check=True)
        elif need:
            sys.exit(f"{t}'s venv lacks {', '.join(need)}: rerun with --install")
    results = []
    for w in workloads:
        for t in tools:
            print(f"media_bench: {t} {w} ...", file=sys.stderr, flush=True)
            results.append(run_one(t, w, scale, args.timeout))
    text = report(results, tools, workloads)
    print(text)
    doc = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "scale": scale,
        "results": results,
    }
    out = Path(args.out) if args.out else HERE / "results" / f"media-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2))
    print(f"\nwritten: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
