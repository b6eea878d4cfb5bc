"""MLflow with a local SQLite tracking store: ``mlflow.log_metrics(d, step=i)`` per step.

The store is ``sqlite:///<workdir>/mlflow.db``; artifacts (none are logged) go
to ``<workdir>/mlartifacts``.  Logging is MLflow's default, synchronous.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.base import PROJECT, Adapter, sqlite_files
from workload import KEYS


class MlflowAdapter(Adapter):
    name = "mlflow"
    module = "mlflow"
    dists = ("mlflow", "mlflow-skinny")
    log_takes_step = True
    setup_note = (
        "tracking URI sqlite:///<tmp>/mlflow.db; mlflow.log_metrics(d, step=i) "
        "(default synchronous)"
    )

    @property
    def db(self) -> Path:
        return self.workdir / "mlflow.db"

    def configure_env(self) -> None:
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{self.db}"
        # Keep MLflow from probing git/telemetry in the benchmark's cwd.
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        os.environ.setdefault("DO_NOT_TRACK", "true")
        os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

    def import_tool(self) -> None:
        import mlflow

        self.mlflow = mlflow

    def init(self) -> None:
        mlflow = self.mlflow
        if mlflow.get_experiment_by_name(PROJECT) is None:
            mlflow.create_experiment(
                PROJECT, artifact_location=(self.workdir / "mlartifacts").as_uri()
            )
        mlflow.set_experiment(PROJECT)
        self.run = mlflow.start_run()

    def log_callable(self) -> Callable[..., Any]:
        return self.mlflow.log_metrics

    def finish(self) -> None:
        self.mlflow.end_run()

    def context(self) -> dict[str, Any]:
        return {"run_id": self.run.info.run_id}

    def read_points(self, ctx: dict[str, Any]) -> Counter[int]:
        from mlflow.tracking import MlflowClient

        client = MlflowClient()
        out: Counter[int] = Counter()
        for key in KEYS:
            for m in client.get_metric_history(ctx["run_id"], key):
                out[int(m.step)] += 1
        return out

    def storage_paths(self, ctx: dict[str, Any]) -> tuple[list[Path], list[Path]]:
        return sqlite_files(self.db), [self.workdir / "mlartifacts"]


ADAPTER = MlflowAdapter
