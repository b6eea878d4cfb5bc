"""trackio, local: ``trackio.init(project=...)``; ``trackio.log(d)``; data in a SQLite file.

``TRACKIO_DIR`` points at the benchmark's temporary directory (trackio reads it
at import time); the project's store is ``<TRACKIO_DIR>/<project>.db``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.base import PROJECT, Adapter, count_items, sqlite_files
from workload import KEYS


class TrackioAdapter(Adapter):
    name = "trackio"
    module = "trackio"
    dists = ("trackio",)
    setup_note = "TRACKIO_DIR=<tmp>; trackio.init(project); trackio.log(d) (implicit step)"

    @property
    def home(self) -> Path:
        return self.workdir / "trackio"

    def configure_env(self) -> None:
        os.environ["TRACKIO_DIR"] = str(self.home)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

    def import_tool(self) -> None:
        import trackio

        self.trackio = trackio

    def init(self) -> None:
        self.run = self.trackio.init(project=PROJECT, embed=False)

    def log_callable(self) -> Callable[..., Any]:
        return self.trackio.log

    def finish(self) -> None:
        self.trackio.finish()

    def context(self) -> dict[str, Any]:
        return {"run_name": self.run.name, "run_id": getattr(self.run, "id", None)}

    def _db(self) -> Path:
        from trackio.sqlite_storage import SQLiteStorage

        return Path(SQLiteStorage.get_project_db_path(PROJECT))

    def read_points(self, ctx: dict[str, Any]) -> Counter[int]:
        from trackio.sqlite_storage import SQLiteStorage

        logs = SQLiteStorage.get_logs(PROJECT, ctx["run_name"])
        return count_items(((row["step"], row.keys()) for row in logs), KEYS)

    def storage_paths(self, ctx: dict[str, Any]) -> tuple[list[Path], list[Path]]:
        return sqlite_files(self._db()), [self.home]


ADAPTER = TrackioAdapter
