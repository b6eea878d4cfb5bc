"""A run's files (the store's ``run_files`` + blobs, then its run folder) and its output.log.

Files saved with ``run.save`` are indexed in the store and their contents kept in the blob
store; a file only in the run folder (``metadata.sync_dir``/files) is listed too. Paths never
leave the run's files: a path is only served if the store lists it or it resolves inside
the run folder's ``files``.
"""

from __future__ import annotations

import os
from typing import Any

from trackline.server.errors import ApiError
from trackline.storage.sql.store import SQLStore

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


def _stored(store: SQLStore, run: dict[str, Any]) -> list[dict[str, Any]]:
    reader = getattr(store, "run_files", None)
    if reader is None or getattr(store, "blobs", None) is None:
        return []
    return list(reader(int(run["pk"])))


def _folder(run: dict[str, Any]) -> list[dict[str, Any]]:
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
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            out.append({"path": rel, "size": st.st_size, "modified_at": st.st_mtime})
            if len(out) >= MAX_FILES:
                return out
    return out


def list_files(store: SQLStore, run: dict[str, Any]) -> list[dict[str, Any]]:
    """Stored files, then folder-only files, sorted by path."""
    out: dict[str, dict[str, Any]] = {}
    for f in _stored(store, run):
        out[str(f["path"])] = {"path": f["path"], "size": f["size"], "modified_at": f["updated_at"],
                               "sha256": f["sha256"], "stored": True}
    for f in _folder(run):
        out.setdefault(f["path"], {**f, "sha256": None, "stored": False})
    return [out[k] for k in sorted(out)][:MAX_FILES]


def open_stored(store: SQLStore, run: dict[str, Any], rel: str) -> tuple[str, Any] | None:
    """``(name, binary file)`` for a file the store holds, else None."""
    for f in _stored(store, run):
        if f["path"] == rel and store.blobs is not None and store.blobs.exists(f["sha256"]):
            return rel.rsplit("/", 1)[-1], store.blobs.open(f["sha256"])
    return None


def resolve_folder_file(run: dict[str, Any], rel: str) -> str:
    """The absolute path of ``rel`` inside the run folder's files; 404 for anything else."""
    root = files_dir(run)
    if root is None:
        raise ApiError(404, f"file {rel!r} not found: the store does not hold it and the run folder is not here")
    root_real = os.path.realpath(root)
    full = os.path.realpath(os.path.join(root_real, rel))
    if os.path.commonpath([root_real, full]) != root_real or full == root_real or not os.path.isfile(full):
        raise ApiError(404, f"file {rel!r} not found in the run's files")
    return full


def output_log_lines(run: dict[str, Any]) -> list[str] | None:
    root = files_dir(run)
    if root is None:
        return None
    try:
        with open(os.path.join(root, "output.log"), encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return None
