"""GPU checks (an NVIDIA GPU and PyTorch with CUDA): watch() on a GPU training step, and GPU
system metrics through NVML. Prints a table and one JSON line (``RESULT {...}``).

    python3 benchmarks/gpu_check.py              # ~1-2 minutes on an H100
    python3 benchmarks/gpu_check.py --quick      # fewer steps
    python3 benchmarks/gpu_check.py --tool wandb # (a) only, with W&B offline, for the ratio

(a) ``watch(model, log="all", log_freq=100)``: an MLP of 12 Linear(4096, 4096) layers
    (201M parameters, TF32) trains on batches of 16,384 rows, logging its loss every step
    (``loss.item()`` synchronises every step, as most training loops do). The run trains
    ``--steps`` steps without watch, then as many with it, twice (A B A B), and reports
    the mean step without and with watch, the mean extra time of a step whose hooks log
    (the histograms of 13 parameter and 13 gradient tensors, on the GPU with
    ``torch.histc``), and that extra time spread over ``log_freq`` steps as a percentage of
    a step. DESIGN's target: <= 1% of the step time.
(b) System metrics: the same run samples every 0.5 s; after ``finish()`` the run's system
    stream is read back through ``trackline.Api`` and the GPU series are summarised (the
    GPU's utilisation must have been above 0 while it trained).
(c) ``tensor_histogram`` of a CUDA tensor counts every value (checked against numpy on a copy).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from watch_bench import measure_watch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300, help="steps per phase (A B A B)")
    ap.add_argument("--quick", action="store_true", help="100 steps per phase")
    ap.add_argument("--tool", choices=("trackline", "wandb"), default="trackline")
    args = ap.parse_args()
    steps = 100 if args.quick else args.steps
    work = tempfile.mkdtemp(prefix="gpu-check-")
    os.environ["TRACKLINE_HOME"] = os.path.join(work, "home")
    os.environ["TRACKLINE_SILENT"] = "true"

    import torch

    assert torch.cuda.is_available(), "needs a CUDA GPU"
    torch.backends.cuda.matmul.allow_tf32 = True
    dev = torch.device("cuda")
    torch.manual_seed(0)
    if args.tool == "wandb":  # (trackline reads WANDB_MODE too: set only for W&B's run)
        os.environ.update(WANDB_MODE="offline", WANDB_DIR=work, WANDB_SILENT="true", WANDB_DISABLE_GIT="true")
        import wandb

        run: Any = wandb.init(project="gpu-check", dir=work, mode="offline")
    else:
        import trackline

        run = trackline.init(project="gpu-check", dir=work,
                             settings=trackline.Settings(x_stats_sampling_interval=0.5))
    width, layers, batch = 4096, 12, 16_384
    mods: list[Any] = []
    for _ in range(layers):
        mods += [torch.nn.Linear(width, width), torch.nn.ReLU()]
    model = torch.nn.Sequential(*mods, torch.nn.Linear(width, 10)).to(dev)
    x, y = torch.randn(batch, width, device=dev), torch.randint(0, 10, (batch,), device=dev)
    result: dict[str, Any] = {"tool": args.tool, "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
                              **measure_watch(run, model, x, y, steps)}
    if args.tool == "trackline":
        result.update(_histogram_and_system(run, dev))
    else:
        run.finish()
    for label, key in (("step without watch (ms)", "plain_mean_ms"), ("step with watch (ms)", "watched_mean_ms"),
                       ("extra time of a logging step (ms)", "logging_step_extra_ms"),
                       ("overhead over log_freq steps (%)", "amortized_pct"), ("difference of the means (%)", "overhead_pct"),
                       ("histogram of 64M CUDA values (ms)", "histogram_64M_cuda_ms")):
        if key in result:
            print(f"{args.tool} {label:40s} {result[key]:10.3f}")
    if "gpu_keys" in result:
        print(f"GPU system metrics: {len(result['gpu_keys'])} series, utilisation max {result['gpu_util_max']}")
    print("RESULT " + json.dumps(result))


def _histogram_and_system(run: Any, dev: Any) -> dict[str, Any]:
    """(b) and (c): a CUDA tensor's histogram, then the run's GPU system metrics read back."""
    import numpy as np
    import torch

    import trackline
    from trackline.integrations.torch_watch import tensor_histogram

    big = torch.randn(64 * 1024 * 1024, device=dev)
    big[::1000] = float("nan")
    tensor_histogram(big[:1024])  # the kernels' first launch, not timed
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    counts, _ = tensor_histogram(big)  # type: ignore[misc]
    hist_s = time.perf_counter() - t0
    finite = int(torch.isfinite(big).sum())
    host = big.cpu().numpy()
    want, _ = np.histogram(host[np.isfinite(host)], bins=64)
    run.finish()
    system = trackline.Api().run(run.path).history(stream="system", pandas=False, samples=100_000)
    gpu_keys = sorted({k for row in system for k in row if k.startswith("system.gpu.")})
    util = [row["system.gpu.0.gpu"] for row in system if row.get("system.gpu.0.gpu") is not None]
    return {
        "histogram_64M_cuda_ms": hist_s * 1e3,
        "histogram_counts_all": sum(counts) == finite,
        "histogram_vs_numpy_abs_diff": int(np.abs(np.asarray(counts) - want).sum()),
        "system_samples": len(system),
        "gpu_keys": gpu_keys,
        "gpu_util_max": max(util) if util else None,
    }


if __name__ == "__main__":
    main()
