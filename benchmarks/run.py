"""Side-by-side benchmark: trackline vs W&B (offline), MLflow (SQLite) and trackio (local).

    benchmarks/setup_venvs.sh && .venv/bin/python benchmarks/run.py [--steps 100000]

Runs every measurement of every tool, one after another, each in a fresh
subprocess of that tool's own virtualenv (``benchmarks/.venvs/<tool>``) and a
fresh temporary directory; prints a table and the JSON report, and writes the
JSON to ``benchmarks/results/<timestamp>.json``.  A tool that is not installed,
errors or times out gets ``error: ...`` in its cells; the run goes on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENVS = HERE / ".venvs"
RESULTS = HERE / "results"
TOOLS = ("trackline", "wandb", "mlflow", "trackio")
PEERS = TOOLS[1:]
MEASURES = ("import", "log", "crash")
PHASE_FILE = ".workload-done"  # written by run_one.py when the timed work is over


@dataclass(frozen=True)
class Metric:
    key: str  # dotted: "<measure>.<field>"
    label: str
    unit: str
    scale: float  # raw value * scale = value shown in `unit`
    better: str  # "lower" | "higher"
    target: float | None = None  # trackline's DESIGN.md target, in `unit`
    target_text: str = ""


METRICS: tuple[Metric, ...] = (
    Metric("import.import_s", "import", "ms", 1e3, "lower", 100, "<= 100 ms"),
    Metric("log.init_to_first_log_s", "init -> first log", "ms", 1e3, "lower", 50, "<= 50 ms"),
    Metric("log.log_p50_us", "log() p50", "us", 1, "lower", 5, "<= 5 us, 10x peers"),
    Metric("log.log_p99_us", "log() p99", "us", 1, "lower", 50, "<= 50 us"),
    Metric("log.log_max_us", "log() max", "us", 1, "lower"),
    Metric("log.ingest_points_per_s", "ingest", "pts/s", 1, "higher", 1e6, ">= 1M pts/s"),
    Metric("log.finish_s", "finish()", "ms", 1e3, "lower", 200, "<= 200 ms"),
    Metric("log.bytes_per_point_store", "disk/point (store)", "B", 1, "lower", 16, "<= 16 B"),
    Metric("log.bytes_per_point_total", "disk/point (+run dir)", "B", 1, "lower"),
    Metric("log.peak_rss_self_mb", "peak RSS (process)", "MB", 1, "lower"),
    Metric("log.peak_rss_tree_mb", "peak RSS (+helpers)", "MB", 1, "lower"),
    Metric("crash.recovered_fraction", "SIGKILL recovered", "%", 100, "higher", 100, "100 %"),
)


# -- running one measurement ---------------------------------------------------


def _tree_pids(root: int) -> list[int]:
    """``root`` and all its descendants, from /proc."""
    out: list[int] = []
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid in out:
            continue
        out.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children", "rb") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return out


def _peak_rss_kb(pid: int) -> int:
    """The process's own RSS high-water mark (VmHWM), in KiB; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class TreeRssSampler(threading.Thread):
    """Peak RSS of a process tree: the sum of each process's own high-water mark.

    The kernel keeps each process's peak (VmHWM), so sampling only has to see
    each process once while it lives, not catch the peak moment; the sum is an
    upper bound when the processes peak at different times.  Sampling stops
    when the workload-done file appears, so read-back is not counted.
    """

    def __init__(self, pid: int, stop_file: Path, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.stop_file, self.interval = pid, stop_file, interval
        self.peaks_kb: dict[int, int] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            done = self.stop_file.exists()
            for pid in _tree_pids(self.pid):
                kb = _peak_rss_kb(pid)
                if kb > self.peaks_kb.get(pid, 0):
                    self.peaks_kb[pid] = kb
            if done:
                return
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()


def run_measure(
    tool: str, measure: str, args: argparse.Namespace, steps: int, scratch: Path
) -> dict[str, Any]:
    python = VENVS / tool / "bin" / "python"
    marker = VENVS / f"{tool}.error"
    if marker.exists():
        return {"error": "install failed: " + marker.read_text().strip().splitlines()[-1]}
    if not python.exists():
        return {"error": f"no venv at {python.parent.parent} (run benchmarks/setup_venvs.sh)"}
    workdir = scratch / f"{tool}-{measure}"
    workdir.mkdir(parents=True)
    out = scratch / f"{tool}-{measure}.json"
    cmd = [
        str(python),
        str(HERE / "run_one.py"),
        "--tool",
        tool,
        "--measure",
        measure,
        "--workdir",
        str(workdir),
        "--steps",
        str(steps),
        "--seed",
        str(args.seed),
        "--import-repeats",
        str(args.import_repeats),
        "--out",
        str(out),
    ]
    timeout = {"import": args.timeout_import, "log": args.timeout_log}.get(
        measure, args.timeout_crash
    )
    log_file = scratch / f"{tool}-{measure}.log"
    t0 = time.perf_counter()
    with open(log_file, "wb") as lf:
        # A new session, so a timeout can kill the tool's helper processes too.
        proc = subprocess.Popen(
            cmd, stdout=lf, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True
        )
        sampler = TreeRssSampler(proc.pid, workdir / PHASE_FILE) if measure == "log" else None
        if sampler:
            sampler.start()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            tail = log_file.read_text(errors="replace").strip().splitlines()[-1:]
            return {"error": f"timed out after {timeout:g} s; last output: {tail}"}
        finally:
            if sampler:
                sampler.stop()
                sampler.join()
    elapsed = time.perf_counter() - t0
    _kill_group(proc)  # helpers a tool left running must not disturb the next tool
    if not out.exists():
        tail = log_file.read_text(errors="replace").strip().splitlines()[-3:]
        return {"error": f"exit {proc.returncode}, no result: {' | '.join(tail)[-300:]}"}
    result: dict[str, Any] = json.loads(out.read_text())
    result["wall_s"] = elapsed
    if sampler and "error" not in result and "peak_rss_self_mb" in result:
        # The measured process's own peak comes from run_one (taken right after
        # finish(), before read-back); helpers' peaks from the sampler.
        helpers = {pid: kb for pid, kb in sampler.peaks_kb.items() if pid != proc.pid}
        result["peak_rss_helpers_mb"] = sum(helpers.values()) / 1024.0
        result["helper_processes"] = len(helpers)
        result["peak_rss_tree_mb"] = result["peak_rss_self_mb"] + result["peak_rss_helpers_mb"]
    return result


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


# -- report ------------------------------------------------------------------


def metric_value(results: dict[str, Any], tool: str, m: Metric) -> float | str | None:
    """The metric in display units, "error: ..." when its measurement failed, None if absent."""
    measure, field = m.key.split(".", 1)
    r = results.get(tool, {}).get(measure)
    if r is None:
        return None
    if "error" in r:
        return "error: " + str(r["error"])
    v = r.get(field)
    if v is None:
        if field == "ingest_points_per_s" and not r.get("readback_complete", True):
            return f"error: only {r.get('points_read_back')} of {r.get('points')} points read back"
        return None
    return float(v) * m.scale


def build_report(results: dict[str, Any], tools: list[str]) -> list[dict[str, Any]]:
    rows = []
    for m in METRICS:
        values = {t: metric_value(results, t, m) for t in tools}
        tl = values.get("trackline")
        row: dict[str, Any] = {
            "metric": m.key,
            "label": m.label,
            "unit": m.unit,
            "better": m.better,
            "target": m.target_text or None,
            "values": values,
            "ratios": {},
            "trackline_pass": None,
        }
        for peer in tools:
            if peer == "trackline":
                continue
            pv = values.get(peer)
            if isinstance(tl, float) and isinstance(pv, float) and tl > 0 and pv == 0:
                # e.g. a peer that recovered nothing: no finite ratio exists.
                row["ratios"][peer] = {"peer_over_trackline": 0.0, "trackline_advantage": "inf"}
                if m.better == "lower":
                    row["ratios"][peer]["trackline_advantage"] = 0.0
            elif isinstance(tl, float) and isinstance(pv, float) and tl > 0 and pv > 0:
                # peer_over_trackline: the plain ratio.  trackline_advantage: how
                # many times better trackline is (> 1 = trackline better).
                r = pv / tl
                row["ratios"][peer] = {
                    "peer_over_trackline": r,
                    "trackline_advantage": r if m.better == "lower" else 1 / r,
                }
        if m.target is not None and isinstance(tl, float):
            ok = tl <= m.target if m.better == "lower" else tl >= m.target
            if m.key == "log.log_p50_us":
                peers = [v for p, v in values.items() if p != "trackline" and isinstance(v, float)]
                if peers:
                    ok = ok and tl * 10 <= min(peers)
            row["trackline_pass"] = ok
        rows.append(row)
    return rows


def fmt(v: float | str | None, unit: str) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v if len(v) <= 34 else v[:31] + "..."
    if math.isnan(v):
        return "nan"
    if unit == "pts/s":
        return f"{v / 1e6:.2f} M" if v >= 1e6 else f"{v / 1e3:.1f} k"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def fmt_ratio(row: dict[str, Any], peer: str) -> str:
    r = row["ratios"].get(peer)
    if not r:
        return ""
    a = r["trackline_advantage"]
    return f"{a:.3g}x" if isinstance(a, float) else f"{a}x"


def table_rows(report: list[dict[str, Any]], tools: list[str]) -> tuple[list[str], list[list[str]]]:
    header = ["metric", "unit", "target", "trackline", "pass"]
    peers = [t for t in tools if t != "trackline"]
    for p in peers:
        header += [p, "adv"]
    body = []
    for row in report:
        tl_pass = {True: "PASS", False: "FAIL", None: ""}[row["trackline_pass"]]
        line = [
            row["label"],
            row["unit"],
            row["target"] or "",
            fmt(row["values"].get("trackline"), row["unit"]) if "trackline" in tools else "",
            tl_pass,
        ]
        for p in peers:
            line += [fmt(row["values"].get(p), row["unit"]), fmt_ratio(row, p)]
        body.append(line)
    return header, body


def print_table(report: list[dict[str, Any]], tools: list[str], title: str) -> None:
    header, body = table_rows(report, tools)
    caption = (
        "adv = how many times better trackline is than that peer "
        "(peer/trackline for lower-is-better rows, trackline/peer otherwise); "
        "pass = trackline vs DESIGN.md target"
    )
    render_table(title, header, body, caption, left=("metric", "unit", "target"), width=160)


def render_table(title: str, header: list[str], body: list[list[str]], caption: str,
                 left: tuple[str, ...], width: int, no_wrap: tuple[str, ...] = ()) -> None:
    """Print a result table with rich (PASS/FAIL in column 5 coloured), or plain text without it."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        print(title)
        for r in [header, ["-" * w for w in widths], *body]:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
        print(caption)
        return
    table = Table(title=title, caption=caption)
    for h in header:
        table.add_column(h, justify="left" if h in left else "right", no_wrap=h in no_wrap)
    for r in body:
        styled = list(r)
        styled[4] = {"PASS": "[green]PASS[/]", "FAIL": "[red]FAIL[/]"}.get(r[4], r[4])
        table.add_row(*styled)
    Console(width=max(width, shutil.get_terminal_size().columns)).print(table)


def machine_info() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "harness_python": platform.python_version(),
    }


def setup_notes() -> dict[str, str]:
    sys.path.insert(0, str(HERE))
    notes = {}
    import importlib

    from run_one import TOOLS as ADAPTER_MODULES

    for tool, mod in ADAPTER_MODULES.items():
        notes[tool] = importlib.import_module(mod).ADAPTER.setup_note
    return notes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tools", default=",".join(TOOLS), help="comma list (default: all)")
    p.add_argument("--measures", default=",".join(MEASURES), help="comma list of import,log,crash")
    p.add_argument("--steps", type=int, default=100_000, help="steps of 10 scalars (default 100k)")
    p.add_argument(
        "--steps-for",
        action="append",
        default=[],
        metavar="TOOL=N",
        help="override --steps for one tool (e.g. mlflow=20000); reported in the JSON",
    )
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--import-repeats", type=int, default=7)
    p.add_argument("--timeout-import", type=float, default=300)
    p.add_argument("--timeout-log", type=float, default=1800)
    p.add_argument("--timeout-crash", type=float, default=300)
    p.add_argument("--keep", action="store_true", help="keep the temporary directories")
    p.add_argument("--no-json", action="store_true", help="do not print the JSON to stdout")
    p.add_argument("--out", type=Path, default=None, help="JSON path (default results/<ts>.json)")
    p.add_argument(
        "--report", type=Path, default=None, help="re-print a saved results JSON; run nothing"
    )
    args = p.parse_args(argv)

    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [t for t in tools if t not in TOOLS]
    if unknown:
        p.error(f"unknown tools: {unknown}; choose from {TOOLS}")
    measures = [m.strip() for m in args.measures.split(",") if m.strip()]
    steps_for = {}
    for item in args.steps_for:
        tool, _, n = item.partition("=")
        steps_for[tool] = int(n)

    if args.report:
        # Re-render a saved run (e.g. after changing the report code).
        doc = json.loads(args.report.read_text())
        doc["report"] = build_report(doc["raw"], doc["config"]["tools"])
        show(doc, args.no_json)
        return 0

    started = dt.datetime.now(dt.timezone.utc)
    scratch = Path(tempfile.mkdtemp(prefix="trackline-bench-"))
    results: dict[str, dict[str, Any]] = {}
    try:
        for tool in tools:
            results[tool] = {}
            for measure in measures:
                steps = steps_for.get(tool, args.steps)
                print(f"[bench] {tool}: {measure} ...", file=sys.stderr, flush=True)
                r = run_measure(tool, measure, args, steps, scratch)
                results[tool][measure] = r
                short = r.get("error") or f"ok ({r.get('wall_s', 0):.1f} s)"
                print(f"[bench] {tool}: {measure} {short}", file=sys.stderr, flush=True)
    finally:
        if args.keep:
            print(f"[bench] kept {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    versions: dict[str, Any] = {}
    for tool in tools:
        for r in results[tool].values():
            if r.get("versions"):
                versions[tool] = r["versions"]
                break
    doc = {
        "created": started.isoformat(),
        "machine": machine_info(),
        "config": {
            "steps": args.steps,
            "steps_for": steps_for,
            "keys_per_step": 10,
            "seed": args.seed,
            "import_repeats": args.import_repeats,
            "tools": tools,
            "measures": measures,
        },
        "versions": versions,
        "setup": {t: n for t, n in setup_notes().items() if t in tools},
        "report": build_report(results, tools),
        "raw": results,
    }
    RESULTS.mkdir(exist_ok=True)
    out = args.out or RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(doc, indent=2, default=str))
    show(doc, args.no_json)
    print(f"[bench] wrote {out}", file=sys.stderr)
    return 0


def show(doc: dict[str, Any], no_json: bool) -> None:
    """Print the table, the errors in full, and (unless ``no_json``) the JSON report."""
    cfg, versions = doc["config"], doc["versions"]
    tools = cfg["tools"]
    python = next((v["python"] for v in versions.values() if "python" in v), "?")
    vers = ", ".join(f"{t} {v.get(t, '?')}" for t, v in versions.items()) + f"; python {python}"
    steps_for = cfg.get("steps_for") or {}
    steps_txt = f"{cfg['steps']:,} steps x 10 scalars" + (
        f" (except {', '.join(f'{t}: {n:,}' for t, n in steps_for.items())})" if steps_for else ""
    )
    print_table(doc["report"], tools, f"trackline benchmarks: {steps_txt} - {vers}")
    for tool in tools:
        for measure, r in doc["raw"].get(tool, {}).items():
            if "error" in r:
                print(f"error: {tool} {measure}: {r['error']}")
    if not no_json:
        print(json.dumps({k: doc[k] for k in doc if k != "raw"}, indent=2, default=str))


if __name__ == "__main__":
    sys.exit(main())
