"""The adapter contract: what the harness needs from each tracker.

Everything here runs inside the tool's own virtualenv, so it uses only the
standard library.  An adapter never imports its tool at module import time;
``import_tool()`` does, after ``configure_env()`` has pointed the tool at the
benchmark's temporary directory (some tools read their settings at import).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

PROJECT = "bench"


class Adapter:
    #: Name used on the command line, in venv paths and in the report.
    name: str = ""
    #: Module whose import is timed.
    module: str = ""
    #: Distribution names whose versions go into the report.
    dists: tuple[str, ...] = ()
    #: True when the log callable is called as ``fn(metrics, step=i)``.
    log_takes_step: bool = False
    #: One line on how the tool is configured, for the report.
    setup_note: str = ""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    # -- lifecycle ---------------------------------------------------------
    def configure_env(self) -> None:
        """Set environment variables before the tool is imported."""

    def import_tool(self) -> None:
        raise NotImplementedError

    def init(self) -> None:
        raise NotImplementedError

    def log_callable(self) -> Callable[..., Any]:
        """The exact callable a user calls per step (timed with nothing around it)."""
        raise NotImplementedError

    def finish(self) -> None:
        raise NotImplementedError

    # -- after the run -----------------------------------------------------
    def context(self) -> dict[str, Any]:
        """JSON-able facts needed to find the run's data later (run id, paths)."""
        return {}

    def recover(self, ctx: dict[str, Any]) -> dict[str, Any]:
        """After a SIGKILL: whatever a user would do to get the data back (e.g. sync)."""
        return {}

    def read_points(self, ctx: dict[str, Any]) -> Counter[int]:
        """Read back from the tool's storage: step -> number of workload scalars found."""
        raise NotImplementedError

    def storage_paths(self, ctx: dict[str, Any]) -> tuple[list[Path], list[Path]]:
        """(store files, run-directory files/folders) whose bytes count as disk use."""
        raise NotImplementedError


def count_items(rows: Iterable[tuple[int, Iterable[str]]], keys: Iterable[str]) -> Counter[int]:
    """Count, per step, how many of ``keys`` appear among a row's keys."""
    wanted = frozenset(keys)
    out: Counter[int] = Counter()
    for step, row_keys in rows:
        n = sum(1 for k in row_keys if k in wanted)
        if n:
            out[int(step)] += n
    return out


def path_bytes(paths: Iterable[Path]) -> int:
    """Total apparent size of files and of every file under folders (links not followed)."""
    total = 0
    for p in paths:
        if p.is_symlink():
            continue
        if p.is_file():
            total += p.stat().st_size
        elif p.is_dir():
            for root, _dirs, files in os.walk(p):
                for f in files:
                    fp = Path(root, f)
                    if not fp.is_symlink():
                        try:
                            total += fp.stat().st_size
                        except OSError:
                            pass
    return total


def sqlite_files(db: Path) -> list[Path]:
    """A SQLite database and its -wal / -journal side files (-shm is an index, left out)."""
    return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-journal")) if p.exists()]
