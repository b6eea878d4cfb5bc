"""One seeding or one measurement of one tool, run with that tool's venv python.

    <venv>/bin/python benchmarks/query/worker.py --tool mlflow --phase measure --task hist \
        --dataset '{"name": "hist-peer", ...}' --workdir DIR --out FILE

Writes ``{"versions": ..., ...}`` (or ``{"error": ...}``) as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

MODULES = {"trackline": "query.for_trackline", "mlflow": "query.for_mlflow", "trackio": "query.for_trackio"}


def versions(dists: tuple[str, ...]) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for d in dists:
        try:
            out[d] = importlib.metadata.version(d)
        except importlib.metadata.PackageNotFoundError:
            out[d] = "not installed"
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--tool", required=True, choices=sorted(MODULES))
    p.add_argument("--phase", required=True, choices=["seed", "measure"])
    p.add_argument("--task", default="")
    p.add_argument("--dataset", required=True, help="JSON: name, kind, runs, steps")
    p.add_argument("--workdir", required=True, type=Path)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args(argv)

    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(work)  # whatever a tool drops in the cwd lands here
    ds = json.loads(args.dataset)
    result: dict[str, Any] = {"tool": args.tool, "phase": args.phase, "task": args.task, "dataset": ds}
    code = 0
    mod: Any = None
    try:
        mod = importlib.import_module(MODULES[args.tool])
        mod.configure(work)
        t = time.perf_counter()
        if args.phase == "seed":
            result.update(mod.seed(ds, work))
            result["seed_s"] = time.perf_counter() - t
        else:
            result.update(mod.measure(args.task, ds, work, args.repeats, args.warmup))
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
        code = 1
    result["versions"] = versions(mod.DISTS if mod is not None else ())
    args.out.write_text(json.dumps(result, default=str))
    return code


if __name__ == "__main__":
    rc = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)  # skip interpreter teardown: some tools' atexit hooks can hang
