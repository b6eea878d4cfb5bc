"""trackio: its local SQLite store (``TRACKIO_DIR/<project>.db``), seeded with
``SQLiteStorage.bulk_log`` (what ``trackio.log``'s background writer and ``trackio import``
call), read with the same ``SQLiteStorage`` calls its dashboard, CLI and ``trackio.Api`` use.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from query import data
from query.timing import timed

DISTS = ("trackio", "numpy", "pyarrow")
BATCH = 10_000  # rows per bulk_log call while seeding


def configure(work: Path) -> None:
    os.environ["TRACKIO_DIR"] = str(work / "trackio")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["DO_NOT_TRACK"] = "true"


def _storage() -> Any:
    from trackio.sqlite_storage import SQLiteStorage

    return SQLiteStorage


def _iso(steps: int, start: float) -> list[str]:
    t0 = dt.datetime.fromtimestamp(start, dt.timezone.utc)
    step = dt.timedelta(seconds=data.STEP_SECONDS)
    return [(t0 + i * step).isoformat() for i in range(steps)]


def seed(ds: dict[str, Any], work: Path) -> dict[str, Any]:
    st = _storage()
    name = ds["name"]
    if ds["kind"] == "list":
        tab = data.run_table(ds["runs"])
        for i in range(ds["runs"]):
            rid = data.run_id(name, i)
            st.bulk_log(project=name, run=rid, run_id=rid,
                        metrics_list=[{"acc": tab["acc"][i], "loss": tab["loss"][i]}], steps=[0],
                        timestamps=_iso(1, data.T0 + i * 60),
                        config={k: tab[k][i] for k in ("lr", "batch_size", "optimizer")})
    else:
        keys = data.SCAN_KEYS if ds["kind"] == "scan" else [data.HIST_KEY]
        steps = ds["steps"]
        for r in range(ds["runs"]):
            rid = data.run_id(name, r)
            cols = [data.series(steps, ki, r).tolist() for ki in range(len(keys))]
            stamps = _iso(steps, data.T0 + r * 60)
            for a in range(0, steps, BATCH):
                b = min(steps, a + BATCH)
                rows = [{k: cols[ki][s] for ki, k in enumerate(keys)} for s in range(a, b)]
                st.bulk_log(project=name, run=rid, run_id=rid, metrics_list=rows, steps=list(range(a, b)),
                            timestamps=stamps[a:b], config={"lr": 1e-3, "seed": r} if a == 0 else None)
    db = st.get_project_db_path(name)
    return {"store_bytes": sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())}


def measure(task: str, ds: dict[str, Any], work: Path, repeats: int, warmup: int) -> dict[str, Any]:
    st = _storage()
    name = ds["name"]
    out: dict[str, Any] = {"dataset": ds}
    if task == "scan":
        rid = data.run_id(name, 0)

        def scan() -> int:  # every logged row of the run: what trackio's dashboard reads
            logs = st.get_logs(name, rid, run_id=rid)
            return sum(len(row) - 2 for row in logs)  # every key but step and timestamp

        out["scan_history"] = timed(scan, repeats, warmup, expect=ds["steps"] * len(data.SCAN_KEYS))
    elif task == "hist":
        rids = [data.run_id(name, r) for r in range(ds["runs"])]

        def full() -> int:
            return sum(len(st.get_metric_values(name, r, data.HIST_KEY, run_id=r)) for r in rids)

        def sampled() -> int:  # trackio's even subsampling (keeps first and last), 500 per run
            return sum(len(st.get_metric_values(name, r, data.HIST_KEY, run_id=r, max_points=500))
                       for r in rids)

        out["sampled"] = timed(sampled, repeats, warmup)
        out["full"] = timed(full, repeats, warmup, expect=ds["runs"] * ds["steps"])
    elif task == "list":
        import trackio

        # trackio.Api().runs(project) lists every run; it has no filter and no order.
        def first_page_plain() -> int:
            return len(trackio.Api().runs(name)[0 : data.PAGE])

        def plain_all() -> int:
            return len(list(trackio.Api().runs(name)))

        out["plain_first_page"] = timed(first_page_plain, repeats, warmup, expect=data.PAGE)
        out["plain_all"] = timed(plain_all, repeats, warmup, expect=ds["runs"])
    elif task == "export":
        # What `trackio deploy`/static Spaces export: the project as Parquet (needs trackio[spaces]).
        target = work / f"export-{name}"

        def export() -> int:
            import shutil

            shutil.rmtree(target, ignore_errors=True)
            try:
                st.export_for_static_space(name, target)
            except ImportError as exc:
                raise RuntimeError(f"{exc} (query_bench.py --install adds pyarrow beside its venv)")
            return ds["runs"] * ds["steps"]

        res = timed(export, repeats, warmup)
        files = [p for p in target.rglob("*") if p.is_file()]
        res["bytes"] = sum(p.stat().st_size for p in files)
        res["files"] = sorted(str(p.relative_to(target)) for p in files)
        out["export"] = res
    else:
        raise ValueError(f"unknown task {task}")
    return out
