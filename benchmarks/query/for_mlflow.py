"""MLflow: a SQLite tracking store, seeded with ``MlflowClient.log_batch``, read with
``MlflowClient.get_metric_history`` / ``search_runs`` (and, for sampled history, the store's
``get_metric_history_bulk_interval``: what MLflow's UI charts call through its REST API).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from query import data
from query.timing import timed

DISTS = ("mlflow", "mlflow-skinny", "sqlalchemy", "numpy")
BATCH = 1000  # MLflow's limit of metrics per log_batch call


def configure(work: Path) -> None:
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    os.environ["DO_NOT_TRACK"] = "true"
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")


def _client() -> Any:
    import mlflow

    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    return mlflow.MlflowClient()


def _ids_file(work: Path, name: str) -> Path:
    return work / f"mlflow-{name}.json"


def seed(ds: dict[str, Any], work: Path) -> dict[str, Any]:
    from mlflow.entities import Metric, Param, RunStatus

    client = _client()
    name = ds["name"]
    exp = client.create_experiment(name)
    ids: list[str] = []
    finished = RunStatus.to_string(RunStatus.FINISHED)
    if ds["kind"] == "list":
        tab = data.run_table(ds["runs"])
        for i in range(ds["runs"]):
            start = int((data.T0 + i * 60) * 1000)
            run = client.create_run(exp, start_time=start, run_name=data.run_id(name, i),
                                    tags={"group": name})
            rid = run.info.run_id
            client.log_batch(
                rid,
                metrics=[Metric("acc", tab["acc"][i], start, 0), Metric("loss", tab["loss"][i], start, 0)],
                params=[Param(k, str(tab[k][i])) for k in ("lr", "batch_size", "optimizer")],
            )
            client.set_terminated(rid, finished, end_time=start + 1000)
            ids.append(rid)
    else:
        keys = data.SCAN_KEYS if ds["kind"] == "scan" else [data.HIST_KEY]
        steps = ds["steps"]
        for r in range(ds["runs"]):
            start = int((data.T0 + r * 60) * 1000)
            run = client.create_run(exp, start_time=start, run_name=data.run_id(name, r))
            rid = run.info.run_id
            client.log_batch(rid, params=[Param("lr", "0.001"), Param("seed", str(r))])
            cols = [data.series(steps, ki, r).tolist() for ki in range(len(keys))]
            batch: list[Any] = []
            for s in range(steps):  # step-major, as a training loop logs
                ts = start + int(s * data.STEP_SECONDS * 1000)
                batch.extend(Metric(k, cols[ki][s], ts, s) for ki, k in enumerate(keys))
                if len(batch) >= BATCH:
                    client.log_batch(rid, metrics=batch[:BATCH])
                    batch = batch[BATCH:]
            if batch:
                client.log_batch(rid, metrics=batch)
            client.set_terminated(rid, finished, end_time=start + int(steps * data.STEP_SECONDS * 1000))
            ids.append(rid)
    _ids_file(work, name).write_text(json.dumps({"experiment_id": exp, "run_ids": ids}))
    return {"store_bytes": (work / "mlflow.db").stat().st_size}


def measure(task: str, ds: dict[str, Any], work: Path, repeats: int, warmup: int) -> dict[str, Any]:
    client = _client()
    seeded = json.loads(_ids_file(work, ds["name"]).read_text())
    exp, ids = seeded["experiment_id"], seeded["run_ids"]
    out: dict[str, Any] = {"dataset": ds}
    if task == "scan":
        rid = ids[0]

        def scan() -> int:  # MLflow has no row-wise read: one history per key
            return sum(len(client.get_metric_history(rid, k)) for k in data.SCAN_KEYS)

        out["scan_history"] = timed(scan, repeats, warmup, expect=ds["steps"] * len(data.SCAN_KEYS))
    elif task == "hist":
        store = client._tracking_client.store

        def full() -> int:
            return sum(len(client.get_metric_history(r, data.HIST_KEY)) for r in ids)

        def sampled() -> int:  # even sampling in SQL, 500 points per run
            return len(store.get_metric_history_bulk_interval(ids, data.HIST_KEY, 500, None, None))

        out["sampled"] = timed(sampled, repeats, warmup)
        out["full"] = timed(full, repeats, warmup, expect=ds["runs"] * ds["steps"])
    elif task == "list":
        exp_want = data.expected_listing(ds["runs"])

        def first_page() -> int:
            page = client.search_runs([exp], filter_string=data.MLFLOW_FILTER,
                                      order_by=data.MLFLOW_ORDER, max_results=data.PAGE)
            got = [r.data.metrics["acc"] for r in page]
            if got != exp_want["first_page_acc"]:
                raise RuntimeError(f"wrong first page: {got[:3]}... != {exp_want['first_page_acc'][:3]}...")
            return len(page)

        def every(filter_string: str, order: list[str] | None) -> int:
            n, token = 0, None
            while True:
                page = client.search_runs([exp], filter_string=filter_string, order_by=order,
                                          max_results=1000, page_token=token)
                n += len(page)
                token = page.token
                if not token:
                    return n

        out["filtered_first_page"] = timed(first_page, repeats, warmup)
        out["filtered_all"] = timed(lambda: every(data.MLFLOW_FILTER, data.MLFLOW_ORDER), repeats, warmup,
                                    expect=exp_want["matches"])
        out["plain_first_page"] = timed(
            lambda: len(client.search_runs([exp], max_results=data.PAGE)), repeats, warmup, expect=data.PAGE)
        out["plain_all"] = timed(lambda: every("", None), repeats, warmup, expect=ds["runs"])
    else:
        raise ValueError(f"MLflow has no {task} measurement")
    return out
