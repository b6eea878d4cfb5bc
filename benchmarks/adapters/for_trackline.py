"""trackline, local store: ``trackline.init(project, dir, mode="online")``; ``run.log(d)``.

``TRACKLINE_STORE`` names the SQLite store file inside the benchmark's temporary
directory; the run directory (its record log) lives under ``dir=``.  Read-back
goes through the public query API, ``trackline.Api().run(path).scan_history()``;
after a SIGKILL the run directory is replayed with ``trackline sync <run dir>``,
as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from adapters.base import PROJECT, Adapter, count_items, sqlite_files
from workload import KEYS


class TracklineAdapter(Adapter):
    name = "trackline"
    module = "trackline"
    dists = ("trackline",)
    setup_note = (
        "TRACKLINE_STORE=<tmp>/store.db, TRACKLINE_MODE=online; "
        "trackline.init(project, dir=<tmp>/runs); run.log(d) (implicit step)"
    )

    @property
    def store(self) -> Path:
        return self.workdir / "store.db"

    @property
    def runs_root(self) -> Path:
        return self.workdir / "runs"

    def configure_env(self) -> None:
        os.environ["TRACKLINE_STORE"] = str(self.store)
        os.environ["TRACKLINE_MODE"] = "online"
        self.runs_root.mkdir(parents=True, exist_ok=True)

    def import_tool(self) -> None:
        import trackline

        self.trackline = trackline

    def init(self) -> None:
        self.run = self.trackline.init(project=PROJECT, dir=str(self.runs_root), mode="online")

    def log_callable(self) -> Callable[..., Any]:
        return self.run.log

    def finish(self) -> None:
        self.run.finish()

    def context(self) -> dict[str, Any]:
        run = self.run
        run_dir = None
        settings = getattr(run, "settings", None)
        if settings is not None and getattr(settings, "sync_dir", None):
            run_dir = str(settings.sync_dir)
        elif getattr(run, "dir", None):
            run_dir = str(Path(run.dir).parent)  # run.dir is <run dir>/files
        return {
            "path": f"{run.entity}/{run.project}/{run.id}",
            "run_dir": run_dir,
        }

    def recover(self, ctx: dict[str, Any]) -> dict[str, Any]:
        try:
            before: int | str = sum(self.read_points(ctx).values())
        except Exception as exc:  # informational only; the sync below decides
            before = f"unreadable: {type(exc).__name__}: {exc}"
        run_dir = ctx.get("run_dir")
        if not run_dir:
            raise RuntimeError("the crashed run did not report its run directory")
        cli = Path(sys.executable).with_name("trackline")
        cmd = [str(cli)] if cli.exists() else [sys.executable, "-m", "trackline.cli.main"]
        proc = subprocess.run([*cmd, "sync", run_dir], capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(
                f"trackline sync exited {proc.returncode}: "
                f"{(proc.stderr or proc.stdout).strip()[-400:]}"
            )
        return {"points_in_store_before_sync": before}

    def read_points(self, ctx: dict[str, Any]) -> Counter[int]:
        try:
            api_run = self.trackline.Api().run(ctx["path"])
        except Exception as exc:
            # Before `sync`, a killed run may not be in the store at all.
            if "not found" in str(exc).lower() or type(exc).__name__ in {
                "CommError",
                "NotFoundError",
                "LookupError",
                "KeyError",
            }:
                return Counter()
            raise

        def rows() -> Iterator[tuple[int, Any]]:
            for row in api_run.scan_history():
                yield int(row.get("_step", 0)), row.keys()

        return count_items(rows(), KEYS)

    def storage_paths(self, ctx: dict[str, Any]) -> tuple[list[Path], list[Path]]:
        run_dir = ctx.get("run_dir")
        return sqlite_files(self.store), [Path(run_dir) if run_dir else self.runs_root]


ADAPTER = TracklineAdapter
