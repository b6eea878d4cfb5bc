"""Seed a store through the SDK, fast: offline runs replayed with ``sync_log`` in-process.

The data takes the real path (``init``/``log``/``finish`` -> record log -> replay ->
store), without a live sender per run, so dozens of runs seed in well under a second.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import trackline
from trackline.sender.sync import sync_log
from trackline.storage import open_store


@contextlib.contextmanager
def isolated_env(root: Path) -> Iterator[Path]:
    """What tests/conftest.py's ``isolated`` does, for module-scoped fixtures."""
    import os

    with pytest.MonkeyPatch.context() as mp:
        for var in list(os.environ):
            if var.startswith(("WANDB_", "TRACKLINE_")):
                mp.delenv(var, raising=False)
        work = root / "work"
        work.mkdir(parents=True, exist_ok=True)
        mp.chdir(work)
        mp.setenv("TRACKLINE_HOME", str(root / "home"))
        mp.setenv("TRACKLINE_CONFIG_DIR", str(root / "config"))
        mp.setenv("TRACKLINE_SILENT", "true")
        yield root


def store_path(root: Path) -> Path:
    return root / "home" / "trackline.db"


def make_run(
    project: str,
    run_id: str,
    *,
    rows: Iterable[Mapping[str, Any] | tuple[Mapping[str, Any], int]] = (),
    summary: Mapping[str, Any] | None = None,
    files: Mapping[str, bytes] | None = None,
    local_files: Mapping[str, bytes] | None = None,
    exit_code: int = 0,
    **init: Any,
) -> trackline.Run:
    """One finished run in the current store. ``rows`` are log() calls (``(row, step)`` for
    an explicit step); ``files`` are saved as run files (indexed, in the blob store),
    ``local_files`` only written into ``run.dir``."""
    run = trackline.init(project=project, id=run_id, mode="offline", reinit="create_new", **init)
    for item in rows:
        if isinstance(item, tuple):
            run.log(dict(item[0]), step=item[1])
        else:
            run.log(dict(item))
    for k, v in (summary or {}).items():
        run.summary[k] = v
    for name, data in {**(files or {}), **(local_files or {})}.items():
        path = Path(run.dir) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if files:
        run._add_files(list(files))
    run.finish(exit_code=exit_code)
    store = open_store(run.settings.store_url)
    try:
        sync_log(run.settings.sync_file, store)
    finally:
        store.close()
    return run
