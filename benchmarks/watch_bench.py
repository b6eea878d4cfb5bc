"""watch() benchmark: what ``run.watch(model, log="all", log_freq=100)`` adds to a training step.

    .venv/bin/python benchmarks/watch_bench.py                 # trackline and W&B (offline)
    .venv/bin/python benchmarks/watch_bench.py --install       # first put PyTorch (CPU) in the venvs

Each tool runs in a fresh process of its own venv (``benchmarks/.venvs/<tool>``): a 4-layer
MLP (1024 wide, ~3.2M parameters, batch 256) trains on the CPU with one torch thread (two
cores here: the other is left to the tool's own threads and processes), logging its loss
every step. After a warm-up, the run trains ``--steps`` steps without watch, then
``--steps`` with ``watch(model, log="all", log_freq=100)``, then unwatches, and does that
twice (A B A B). Reported: the mean step time without and with watch, the overhead in
percent (DESIGN's target: <= 1% of a GPU step; here a CPU step), the mean extra time of a
step whose hooks log (histograms of every parameter and gradient) over the median plain
step, and that extra time spread over ``log_freq`` steps as a percentage of a step (the
steadier overhead figure: the means' difference is within this VM's noise).
trackio has no watch.

Prints a table and the JSON; writes ``benchmarks/results/watch-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from media_bench import _configure, venv_python  # noqa: E402

TOOLS = ("trackline", "wandb")
LOG_FREQ = 100
TORCH_WHEELS = Path("/opt/wheels")


def child(tool: str, work: Path, steps: int) -> dict[str, Any]:
    _configure(tool, work)
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    if tool == "trackline":
        import trackline as mod

        run = mod.init(project="watch-bench", dir=str(work / "runs"), mode="online")
    else:
        import wandb as mod

        run = mod.init(project="watch-bench", dir=str(work), mode="offline")
    width = 1024
    model = torch.nn.Sequential(
        torch.nn.Linear(width, width), torch.nn.ReLU(), torch.nn.Linear(width, width), torch.nn.ReLU(),
        torch.nn.Linear(width, width), torch.nn.ReLU(), torch.nn.Linear(width, 10),
    )
    x, y = torch.randn(256, width), torch.randint(0, 10, (256,))
    result = measure_watch(run, model, x, y, steps)
    run.finish()
    return {"tool": tool, "version": getattr(mod, "__version__", "?"), "torch": torch.__version__, **result}


def measure_watch(run: Any, model: Any, x: Any, y: Any, steps: int) -> dict[str, Any]:
    """Train ``model`` on (x, y), logging the loss each step: a warm-up, then ``steps`` steps
    without watch and ``steps`` with ``watch(log="all", log_freq=LOG_FREQ)``, twice (A B A B).
    The step times, and what a step whose hooks log costs over the median plain step.
    (``loss.item()`` waits for the step on a GPU, as most training loops do.)"""
    import torch

    opt = torch.optim.SGD(model.parameters(), lr=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train(n: int) -> list[float]:
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            loss = loss_fn(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            run.log({"loss": loss.item()})
            times.append(time.perf_counter() - t0)
        return times

    train(20)  # warm-up
    plain: list[float] = []
    watched: list[float] = []
    for _ in range(2):
        plain += train(steps)
        run.watch(model, log="all", log_freq=LOG_FREQ)
        watched += train(steps)
        run.unwatch(model)
    base = statistics.median(plain)
    logging_steps = [t - base for i, t in enumerate(watched) if (i % steps + 1) % LOG_FREQ == 0]
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "steps_per_phase": steps,
        "plain_mean_ms": statistics.fmean(plain) * 1e3,
        "watched_mean_ms": statistics.fmean(watched) * 1e3,
        "overhead_pct": (statistics.fmean(watched) / statistics.fmean(plain) - 1) * 100,
        "logging_step_extra_ms": statistics.fmean(logging_steps) * 1e3 if logging_steps else None,
        # the logging steps' extra time spread over log_freq steps: steadier than the means' difference
        "amortized_pct": statistics.fmean(logging_steps) / LOG_FREQ / base * 100 if logging_steps else None,
    }


def run_tool(tool: str, steps: int, timeout: float) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"watch-{tool}-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "TRACKLINE_"))}
    if tool == "trackline":
        env["PYTHONPATH"] = str(REPO / "src")
    try:
        proc = subprocess.run(
            [str(venv_python(tool)), __file__, "--child", "--tool", tool, "--workdir", str(work), "--steps", str(steps)],
            capture_output=True, text=True, timeout=timeout, env=env, cwd=str(work),
        )
    except subprocess.TimeoutExpired:
        return {"tool": tool, "error": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        return {"tool": tool, "error": " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])}
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT "):])
    return result


def table(results: list[dict[str, Any]]) -> str:
    rows = [("step without watch, mean", "plain_mean_ms", "ms"), ("step with watch, mean", "watched_mean_ms", "ms"),
            ("overhead: difference of the means", "overhead_pct", "%"),
            ("extra time of a step that logs histograms", "logging_step_extra_ms", "ms"),
            ("overhead: that extra time over log_freq steps", "amortized_pct", "%")]
    tools = [r["tool"] for r in results]
    lines = ["| measure | " + " | ".join(tools) + " | W&B / trackline |", "|---|" + "---|" * (len(tools) + 1)]
    by = {r["tool"]: r for r in results}
    for label, field, unit in rows:
        cells = ["error" if "error" in by[t] else f"{by[t][field]:.2f}" for t in tools]
        mine, theirs = by.get("trackline", {}).get(field), by.get("wandb", {}).get(field)
        ratio = f"{theirs / mine:.1f}x" if field in ("logging_step_extra_ms", "amortized_pct") and mine and theirs else ""
        lines.append(f"| {label} ({unit}) | " + " | ".join(cells) + f" | {ratio} |")
    for r in results:
        if "error" in r:
            lines.append(f"\n{r['tool']}: {r['error']}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tool", default="trackline")
    ap.add_argument("--workdir", default="")
    ap.add_argument("--steps", type=int, default=500, help="steps per phase (two phases with watch, two without)")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--install", action="store_true", help="pip-install PyTorch (CPU, from /opt/wheels) into the venvs")
    args = ap.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args.tool, Path(args.workdir), args.steps)))
        return
    tools = [t for t in args.tools.split(",") if t]
    for t in tools:
        py = venv_python(t)
        if not py.exists():
            sys.exit(f"no venv for {t}: run benchmarks/setup_venvs.sh {t}")
        if subprocess.run([str(py), "-c", "import torch"], capture_output=True).returncode != 0:
            wheels = sorted(TORCH_WHEELS.glob("torch-*+cpu-*.whl"))
            if not args.install or not wheels:
                sys.exit(f"{t}'s venv lacks torch: rerun with --install (needs a CPU wheel in {TORCH_WHEELS})")
            subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheels[-1])], check=True)
    results = [run_tool(t, args.steps, args.timeout) for t in tools]
    report = {"when": dt.datetime.now(dt.timezone.utc).isoformat(), "results": results}
    print(table(results))
    print(json.dumps(report, indent=2))
    out = HERE / "results" / f"watch-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
