"""A run's files and console log on disk (its run folder), never outside that folder.

The store keeps console lines (``run_logs``); a run folder may also hold
``files/output.log`` and saved files. The folder is found through the run's
metadata (``sync_dir``); runs that do not record it have no files to show.
"""

from __future__ import annotations

import os
from typing import Any

from trackline.server.errors import ApiError

MAX_FILES = 10_000


def run_dir(run: dict[str, Any]) -> str | None:
    meta = run.get("metadata") or {}
    d = meta.get("sync_dir") if isinstance(meta, dict) else None
    return d if isinstance(d, str) and os.path.isdir(d) else None


def files_dir(run: dict[str, Any]) -> str | None:
    d = run_dir(run)
    if d is None:
        return None
    f = os.path.join(d, "files")
    return f if os.path.isdir(f) else None


def list_files(run: dict[str, Any]) -> list[dict[str, Any]]:
    root = files_dir(run)
    if root is None:
        return []
    out: list[dict[str, Any]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            try:
                st = os.stat(full)
            except OSError:
                continue
            out.append({
                "path": os.path.relpath(full, root).replace(os.sep, "/"),
                "size": st.st_size,
                "modified_at": st.st_mtime,
            })
            if len(out) >= MAX_FILES:
                return out
    return out


def resolve_file(run: dict[str, Any], rel: str) -> str:
    """The absolute path of ``rel`` inside the run's files folder; 404 for anything else."""
    root = files_dir(run)
    if root is None:
        raise ApiError(404, "this run has no files folder (its run folder is not known to the store)")
    root_real = os.path.realpath(root)
    full = os.path.realpath(os.path.join(root_real, rel))
    if os.path.commonpath([root_real, full]) != root_real or full == root_real:
        raise ApiError(404, f"file {rel!r} not found in the run's files")
    if not os.path.isfile(full):
        raise ApiError(404, f"file {rel!r} not found in the run's files")
    return full


def output_log_lines(run: dict[str, Any]) -> list[str] | None:
    root = files_dir(run)
    if root is None:
        return None
    path = os.path.join(root, "output.log")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return None
