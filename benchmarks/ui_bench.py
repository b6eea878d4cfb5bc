"""Web UI and series benchmarks (issue 5), with MLflow's UI on the same data where feasible.

Seeds a store directly through the store's stream writer (one batch per run: what the sender's
Pump writes after a run), then measures:

* series: one key of 100 runs x 100k steps reduced to 1,000 buckets: the server's compute
  time in-process, and the HTTP round trip to a real `trackline ui`;
* workspace first paint in headless Chromium: 1,000 runs x 20 metrics x 10k steps, 100 runs
  drawn (``n=100``): navigation to every chart on screen drawn, and to all 20 panels drawn;
* runs table over 10,000 runs: frame times while scrolling, time for a filter to apply;
* MLflow (benchmarks/.venvs/mlflow, if set up): the same series read through its REST API
  (``metrics/get-history-bulk-interval``, what its charts call) and its UI's first paint, on a
  smaller project MLflow can ingest in minutes (MLflow writes ~10k points/s).

Usage::

    .venv/bin/python benchmarks/ui_bench.py                 # full sizes (~10 min, ~2 GB)
    .venv/bin/python benchmarks/ui_bench.py --scale 0.1     # quick
    .venv/bin/python benchmarks/ui_bench.py --skip-mlflow --keep /tmp/uibench

Prints a table and writes JSON to benchmarks/results/ui-<timestamp>.json. Timings are
medians of several repeats; machine details go into the JSON.
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

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
ENTITY = "bench"


# -- seeding -----------------------------------------------------------------------------------


def seed_project(store: Any, project: str, runs: int, metrics: int, steps: int, seed: int = 0,
                 history: bool = True) -> list[str]:
    """``runs`` finished runs with ``metrics`` float32 metrics of ``steps`` steps each."""
    from trackline.runstate.changes import Changes
    from trackline.storage.base import RunKey

    rng = np.random.default_rng(seed)
    ids = []
    t0 = time.time() - runs * 60
    step_arr = np.arange(steps, dtype=np.int64)
    for r in range(runs):
        run_id = f"{project[:4]}{r:06d}"
        ids.append(run_id)
        lr = float(10 ** rng.uniform(-5, -2))
        created = t0 + r * 60
        points: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        summary: dict[str, Any] = {"_step": steps - 1}
        if history:
            decay = np.exp(-step_arr / (steps * rng.uniform(0.1, 0.5)))
            for m in range(metrics):
                name = f"{['train', 'val', 'eval', 'opt'][m % 4]}/metric_{m:02d}"
                vals = (decay * (1 + 0.1 * m) + rng.normal(0, 0.02, steps)).astype(np.float32)
                points[name] = (step_arr, vals)
                summary[name] = float(vals[-1])
            points["_timestamp"] = (step_arr, created + step_arr * 0.01)
            points["_runtime"] = (step_arr, (step_arr * 0.01).astype(np.float32))
        else:
            for m in range(metrics):
                summary[f"metric_{m:02d}"] = float(rng.normal())
        ch = Changes(stream_id=r.to_bytes(16, "big"), first_seq=1, last_seq=1, ended=True)  # with its exit
        ch.run = {
            "name": f"run-{r}", "start_time": created, "tags": ["a" if r % 3 else "b"],
            "group": f"g{r % 5}", "job_type": "train",
            "config": {"lr": lr, "batch_size": int(2 ** rng.integers(4, 9)), "optimizer": ["adam", "sgd"][r % 2],
                       "layers": int(rng.integers(2, 12))},
            "metadata": {"host": "bench"},
        }
        ch.summary = summary
        ch.points = points
        ch.rows = steps if history else 0
        ch.run_fields = {"state": "finished", "exit_code": 0, "finished_at": created + steps * 0.01,
                         "runtime": steps * 0.01}
        store.stream_writer(RunKey(ENTITY, project, run_id), ch.stream_id).apply(ch)
    return ids


# -- measuring -----------------------------------------------------------------------------------


def median_ms(fn: Any, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), times


class Server:
    def __init__(self, home: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKLINE_", "WANDB_"))}
        env.update(TRACKLINE_HOME=str(home), TRACKLINE_SILENT="true", PYTHONPATH=str(REPO / "src"))
        self.proc = subprocess.Popen([sys.executable, "-m", "trackline.cli.main", "ui", "--port", "0"],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().split()[2]

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def bench_series(store: Any, home: Path, project: str, ids: list[str], key: str, repeats: int) -> dict[str, Any]:
    import httpx

    from trackline.server import series_query as sq

    req = sq.parse_request({"runs": ids, "keys": [key], "buckets": 1000})
    ans = sq.compute(store, ENTITY, project, req)
    points = sum(s["points"] for s in ans["series"])
    compute_ms, raw = median_ms(lambda: sq.compute(store, ENTITY, project, req), repeats)
    srv = Server(home)
    try:
        body = {"runs": ids, "keys": [key], "buckets": 1000}
        url = f"{srv.url}/api/v1/projects/{ENTITY}/{project}/series"
        with httpx.Client(timeout=120) as c:
            c.post(url, json=body)
            http_ms, raw_http = median_ms(lambda: c.post(url, json=body).raise_for_status(), repeats)
            size = len(c.post(url, json=body).content)
    finally:
        srv.close()
    return {"runs": len(ids), "points": points, "compute_ms": compute_ms, "http_ms": http_ms,
            "response_bytes": size, "raw_compute_ms": raw, "raw_http_ms": raw_http}


def _browser() -> Any:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    return pw, pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def bench_workspace(home: Path, project: str, n: int, repeats: int) -> dict[str, Any]:
    srv = Server(home)
    pw, browser = _browser()
    out: dict[str, Any] = {}
    try:
        for label, height in (("viewport", 900), ("all_panels", 6000)):
            times = []
            charts = 0
            for _ in range(repeats):
                ctx = browser.new_context(viewport={"width": 1600, "height": height})
                page = ctx.new_page()
                page.goto(f"{srv.url}/{ENTITY}/{project}?n={n}", wait_until="commit")
                # the page notes the first frame in which every chart on screen is drawn
                # (measured in the page: Playwright's own round trips are not counted)
                page.wait_for_function(
                    """() => { const cs = [...document.querySelectorAll('[data-testid=chart]')];
                      const shown = cs.filter(c => { const r = c.getBoundingClientRect(); return r.top < innerHeight && r.bottom > 0; });
                      const ok = shown.length > 0 && shown.every(c => c.dataset.status === 'ready' && c.querySelector('canvas'));
                      if (ok && !window.__painted) window.__painted = performance.now();
                      return ok; }""",
                    timeout=120_000, polling="raf",
                )
                times.append(page.evaluate("() => window.__painted"))
                charts = page.evaluate(
                    "() => [...document.querySelectorAll('[data-testid=chart]')].filter(c => c.querySelector('canvas')).length"
                )
                ctx.close()
            out[label] = {"first_full_paint_ms": statistics.median(times), "raw_ms": times, "charts_drawn": charts}
    finally:
        browser.close()
        pw.stop()
        srv.close()
    return out


def bench_table(home: Path, project: str, runs: int) -> dict[str, Any]:
    srv = Server(home)
    pw, browser = _browser()
    try:
        ctx = browser.new_context(viewport={"width": 1600, "height": 900})
        page = ctx.new_page()
        t = time.perf_counter()
        page.goto(f"{srv.url}/{ENTITY}/{project}")
        page.wait_for_function(f"() => document.querySelector('[data-testid=run-count]')?.innerText === '{runs} runs'", timeout=300_000)
        load_ms = (time.perf_counter() - t) * 1000
        frames = page.evaluate(
            """() => new Promise(done => {
                const el = document.querySelector('[data-testid=runs-table]');
                const times = []; let last = performance.now(); let i = 0;
                function step(now) { times.push(now - last); last = now; el.scrollTop += 90;
                  if (++i < 300) requestAnimationFrame(step); else done(times.slice(1)); }
                requestAnimationFrame(step); })"""
        )
        filter_ms = page.evaluate(
            """() => new Promise(done => {
                const input = document.querySelector('input[aria-label="Add a filter"]');
                const form = input.form;
                input.value = 'config.lr > 0.001'; input.dispatchEvent(new Event('input', {bubbles: true}));
                const t = performance.now();
                form.requestSubmit();
                requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - t))); })"""
        )
        shown = page.evaluate("() => document.querySelector('[data-testid=run-count]').innerText")
        search_ms = page.evaluate(
            """() => new Promise(done => {
                const input = document.querySelector('input[aria-label="Search runs"]');
                const t = performance.now();
                input.value = 'run-1'; input.dispatchEvent(new Event('input', {bubbles: true}));
                requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - t))); })"""
        )
        ctx.close()
    finally:
        browser.close()
        pw.stop()
        srv.close()
    f = sorted(frames)
    return {"runs": runs, "load_ms": load_ms, "scroll_frames": len(f), "frame_p50_ms": f[len(f) // 2],
            "frame_p95_ms": f[int(len(f) * 0.95)], "frame_max_ms": f[-1], "filter_apply_ms": filter_ms,
            "filter_result": shown, "search_apply_ms": search_ms}


# -- MLflow ------------------------------------------------------------------------------------------

MLFLOW_SEED = r"""
import sys, time, numpy as np, mlflow
from mlflow.entities import Metric
uri, runs, metrics, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
mlflow.set_tracking_uri(uri)
client = mlflow.tracking.MlflowClient()
exp = client.create_experiment("bench")
rng = np.random.default_rng(0)
ids = []
t = time.perf_counter()
for r in range(runs):
    run = client.create_run(exp, run_name=f"run-{r}")
    client.log_param(run.info.run_id, "lr", float(10 ** rng.uniform(-5, -2)))
    decay = np.exp(-np.arange(steps) / (steps * 0.3))
    batch = []
    for m in range(metrics):
        vals = decay * (1 + 0.1 * m) + rng.normal(0, 0.02, steps)
        name = f"metric_{m:02d}"
        batch += [Metric(name, float(v), 0, int(s)) for s, v in enumerate(vals)]
    for i in range(0, len(batch), 1000):
        client.log_batch(run.info.run_id, metrics=batch[i:i + 1000])
    client.set_terminated(run.info.run_id)
    ids.append(run.info.run_id)
print("SEEDED", exp, time.perf_counter() - t, " ".join(ids))
"""


def bench_mlflow(base: Path, runs: int, metrics: int, steps: int, repeats: int) -> dict[str, Any]:
    import httpx

    py = REPO / "benchmarks" / ".venvs" / "mlflow" / "bin" / "python"
    if not py.exists():
        return {"error": "benchmarks/.venvs/mlflow is missing (run benchmarks/setup_venvs.sh mlflow)"}
    db = base / "mlflow.db"
    uri = f"sqlite:///{db}"
    marker = base / f"mlflow-seeded-{runs}-{metrics}-{steps}.txt"
    if not marker.exists():  # MLflow ingests slowly: a kept folder reuses its seeded store
        db.unlink(missing_ok=True)
        seeded = subprocess.run([str(py), "-c", MLFLOW_SEED, uri, str(runs), str(metrics), str(steps)],
                                capture_output=True, text=True, timeout=7200)
        if seeded.returncode != 0:
            return {"error": "seeding failed: " + seeded.stderr[-2000:]}
        marker.write_text(next(x for x in seeded.stdout.splitlines() if x.startswith("SEEDED")))
    _, exp, seed_s, *ids = marker.read_text().split()
    port = _free_port()
    proc = subprocess.Popen([str(py), "-m", "mlflow", "server", "--backend-store-uri", uri, "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=base)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        with httpx.Client(timeout=600) as c:
            def bulk() -> None:
                # what MLflow's run-comparison charts request: sampled history of many runs
                r = c.get(url + "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval",
                          params=[("run_ids", i) for i in ids[:100]] + [("metric_key", "metric_00"), ("max_results", "1000")])
                r.raise_for_status()

            def full() -> None:
                for i in ids[:100]:
                    c.get(url + "/api/2.0/mlflow/metrics/get-history", params={"run_id": i, "metric_key": "metric_00",
                                                                               "max_results": 25000}).raise_for_status()
            bulk_ms, _ = median_ms(bulk, repeats)
            full_ms, _ = median_ms(full, 1)
        paint = _mlflow_paint(url, exp, repeats)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"runs": runs, "metrics": metrics, "steps": steps, "seed_s": float(seed_s),
            "bulk_interval_ms": bulk_ms, "full_history_100_runs_ms": full_ms, **paint}


def _mlflow_paint(url: str, exp: str, repeats: int) -> dict[str, Any]:
    """MLflow's run-comparison charts (Model training view, its default of 10 runs drawn):
    navigation to every chart on screen holding a plotted trace, timed in the page."""
    pw, browser = _browser()
    try:
        times = []
        charts = 0
        for _ in range(repeats):
            ctx = browser.new_context(viewport={"width": 1600, "height": 900})
            page = ctx.new_page()
            page.goto(f"{url}/#/experiments/{exp}/runs?workflowType=machine_learning&compareRunsMode=CHART",
                      wait_until="commit")
            try:
                page.wait_for_function(
                    """() => { const plots = [...document.querySelectorAll('.js-plotly-plot')].filter(p => {
                          const r = p.getBoundingClientRect(); return r.top < innerHeight && r.bottom > 0; });
                      const ok = plots.length >= 3 && plots.every(p => p.querySelector('.scatterlayer .trace'));
                      if (ok && !window.__painted) { window.__painted = performance.now(); window.__charts = plots.length; }
                      return ok; }""",
                    timeout=120_000, polling="raf",
                )
                times.append(page.evaluate("() => window.__painted"))
                charts = page.evaluate("() => window.__charts")
            except Exception as exc:  # its UI changes between versions; say so rather than guess
                return {"ui_error": f"{type(exc).__name__}: {exc}"[:300]}
            finally:
                ctx.close()
        return {"ui_first_chart_paint_ms": statistics.median(times), "ui_raw_ms": times, "ui_charts": charts}
    finally:
        browser.close()
        pw.stop()


def _free_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


# -- main ------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply run counts and steps (0.1: quick)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--keep", help="use (and keep) this folder for the stores; reuses a seeded one")
    ap.add_argument("--skip-mlflow", action="store_true")
    ap.add_argument("--only", choices=["series", "workspace", "table", "mlflow"], action="append",
                    help="run only these parts (repeatable)")
    ap.add_argument("--mlflow-runs", type=int, default=100)
    ap.add_argument("--mlflow-steps", type=int, default=1000)
    args = ap.parse_args()
    s = args.scale
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="uibench-"))
    base.mkdir(parents=True, exist_ok=True)
    home = base / "home"
    from trackline.storage import open_store

    store = open_store(str(home / "trackline.db"))
    sizes = {
        "workspace": (max(1, int(1000 * s)), 20, max(10, int(10_000 * s))),
        "series": (max(1, int(100 * s)), 1, max(10, int(100_000 * s))),
        "table": (max(1, int(10_000 * s)), 10, 0),
    }
    marker = base / f"seeded-{s}.json"
    if marker.exists():
        seeded = json.loads(marker.read_text())
    else:
        seeded = {}
        for project, (runs, metrics, steps) in sizes.items():
            t = time.perf_counter()
            ids = seed_project(store, project, runs, metrics, max(steps, 1), history=steps > 0)
            seeded[project] = {"ids": ids, "seconds": time.perf_counter() - t}
            print(f"seeded {project}: {runs} runs x {metrics} metrics x {steps} steps in {seeded[project]['seconds']:.1f} s",
                  file=sys.stderr)
        marker.write_text(json.dumps(seeded))
    results: dict[str, Any] = {"sizes": sizes, "machine": {"python": platform.python_version(),
                               "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()}}
    only = set(args.only or ["series", "workspace", "table", "mlflow"])
    if "series" in only:
        print("series ...", file=sys.stderr)
        results["series"] = bench_series(store, home, "series", seeded["series"]["ids"], "train/metric_00", args.repeats)
    if "workspace" in only:
        print("workspace ...", file=sys.stderr)
        results["workspace"] = bench_workspace(home, "workspace", 100, max(3, args.repeats // 2))
    if "table" in only:
        print("table ...", file=sys.stderr)
        results["table"] = bench_table(home, "table", sizes["table"][0])
    if "mlflow" in only and not args.skip_mlflow:
        print("mlflow (seeding takes a while) ...", file=sys.stderr)
        results["mlflow"] = bench_mlflow(base, int(args.mlflow_runs * max(s, 0.1)), 20, args.mlflow_steps, 3)
        print("trackline on the MLflow-sized project ...", file=sys.stderr)
        m = results["mlflow"]
        if "error" not in m:
            if "mlflow-size" not in seeded:
                seeded["mlflow-size"] = {"ids": seed_project(store, "mlflow-size", m["runs"], 20, m["steps"], seed=1)}
                marker.write_text(json.dumps(seeded))
            ids = seeded["mlflow-size"]["ids"]
            results["trackline_mlflow_size"] = {
                "series": bench_series(store, home, "mlflow-size", ids, "train/metric_00", 3),
                # MLflow draws its first 10 runs by default: draw 10 too
                "workspace": bench_workspace(home, "mlflow-size", 10, 3)["viewport"],
            }
    store.close()
    report(results)
    out = REPO / "benchmarks" / "results" / time.strftime("ui-%Y%m%dT%H%M%SZ.json", time.gmtime())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"\nJSON: {out}", file=sys.stderr)
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)


def report(r: dict[str, Any]) -> None:
    rows: list[tuple[str, str, str]] = []
    if "series" in r:
        sr = r["series"]
        rows.append((f"series: 1 key, {sr['runs']} runs x {r['sizes']['series'][2]} steps -> 1000 buckets, server compute",
                     f"{sr['compute_ms']:.0f} ms", "<= 100 ms"))
        rows.append((f"series: same, HTTP round trip ({sr['response_bytes'] / 1e6:.1f} MB JSON)", f"{sr['http_ms']:.0f} ms", ""))
    if "workspace" in r:
        ws, w = r["workspace"], r["sizes"]["workspace"]
        rows.append((f"workspace {w[0]} runs x {w[1]} metrics x {w[2]} steps, 100 runs drawn: first full paint (screen)",
                     f"{ws['viewport']['first_full_paint_ms']:.0f} ms ({ws['viewport']['charts_drawn']} charts)", "<= 1 s"))
        rows.append(("  ... all 20 panels drawn (6000 px tall window)",
                     f"{ws['all_panels']['first_full_paint_ms']:.0f} ms ({ws['all_panels']['charts_drawn']} charts)", ""))
    if "table" in r:
        tb = r["table"]
        rows.append((f"runs table, {tb['runs']} runs: load", f"{tb['load_ms']:.0f} ms", ""))
        rows.append(("  scroll frame time p50 / p95 / max",
                     f"{tb['frame_p50_ms']:.1f} / {tb['frame_p95_ms']:.1f} / {tb['frame_max_ms']:.1f} ms", "interactive"))
        rows.append(("  filter applied / search applied", f"{tb['filter_apply_ms']:.0f} / {tb['search_apply_ms']:.0f} ms", ""))
    m = r.get("mlflow")
    if m and "error" not in m:
        t = r.get("trackline_mlflow_size", {})
        ts, tw = t.get("series", {}), t.get("workspace", {})
        rows.append((f"MLflow, {m['runs']} runs x 20 metrics x {m['steps']} steps: seed", f"{m['seed_s']:.0f} s", ""))
        rows.append(("  one key of 100 runs: MLflow get-history-bulk-interval", f"{m['bulk_interval_ms']:.0f} ms",
                     f"trackline series {ts.get('http_ms', float('nan')):.0f} ms"))
        rows.append(("  one key of 100 runs: MLflow get-history per run", f"{m['full_history_100_runs_ms']:.0f} ms", ""))
        if "ui_first_chart_paint_ms" in m:
            rows.append((f"  UI first paint, 10 runs drawn: MLflow ({m.get('ui_charts')} charts on screen)",
                         f"{m['ui_first_chart_paint_ms']:.0f} ms",
                         f"trackline {tw.get('first_full_paint_ms', float('nan')):.0f} ms ({tw.get('charts_drawn')} charts)"))
        else:
            rows.append(("  MLflow UI", m.get("ui_error", "?"), ""))
    elif m:
        rows.append(("MLflow", m["error"], ""))
    width = max(len(a) for a, _, _ in rows)
    for a, b, c in rows:
        print(f"{a:<{width}}  {b:>24}  {c}")


if __name__ == "__main__":
    main()
