"""``trackline status``: the store (where, how big, what is in it), the mode, pending runs."""

from __future__ import annotations

import os
from typing import Any

import click

from trackline.cli.common import echo_json, fmt_size, json_option, store_option


def _file_size(path: str) -> int:
    return sum(os.path.getsize(p) for p in (path, path + "-wal", path + "-shm") if os.path.exists(p))


def _folder_size(path: str) -> tuple[int, int]:
    total = count = 0
    for dirpath, _, files in os.walk(path):
        for fn in files:
            try:
                total += os.path.getsize(os.path.join(dirpath, fn))
                count += 1
            except OSError:
                pass
    return total, count


def _stream_id(log: str) -> bytes | None:
    from trackline.records.frames import FILE_HEADER

    try:
        with open(log, "rb") as f:
            head = f.read(FILE_HEADER.size)
        return FILE_HEADER.unpack(head)[2] if len(head) == FILE_HEADER.size else None
    except OSError:
        return None


def _stream_states(url: str) -> dict[bytes, str]:
    """Record stream id -> the state of its run in the store."""
    from sqlalchemy import select

    from trackline.storage import open_store
    from trackline.storage.sql import schema as t

    db = open_store(url)
    db.refresh_states()
    s, r = t.run_streams.c, t.runs.c
    with db.engine.connect() as conn:
        rows = conn.execute(select(s.stream_id, r.state).join(t.runs, r.pk == s.run_pk)).all()
    db.close()
    return {bytes(sid): state for sid, state in rows}


def collect(store: str | None, root: str | None) -> dict[str, Any]:
    from sqlalchemy import func, select

    from trackline.sender.sync import find_logs, is_synced
    from trackline.settings import resolve, workspace_settings_path
    from trackline.storage import open_store
    from trackline.storage.sql import schema as t
    from trackline.storage.sql.direct import sqlite_path

    settings = resolve(None, {k: v for k, v in {"store": store, "root_dir": root}.items() if v})
    url = settings.store_url
    info: dict[str, Any] = {"store": {"url": url}}
    path = sqlite_path(url) if url.startswith("sqlite") else None
    if path is not None:
        info["store"]["path"] = path
        info["store"]["exists"] = os.path.exists(path)
        info["store"]["size_bytes"] = _file_size(path)
    if path is None or os.path.exists(path):
        db = open_store(url, settings.blob_url)
        with db.engine.connect() as conn:
            info["store"]["projects"] = conn.execute(select(func.count()).select_from(t.projects)).scalar_one()
            states = conn.execute(select(t.runs.c.state, func.count()).group_by(t.runs.c.state)).all()
        info["store"]["runs"] = sum(n for _, n in states)
        info["store"]["runs_by_state"] = {s: n for s, n in states}
        blobs = getattr(db.blobs, "root", None)
        if blobs and os.path.isdir(blobs):
            size, count = _folder_size(blobs)
            info["store"]["blobs"] = {"path": blobs, "files": count, "size_bytes": size}
        db.close()
    runs_dir = settings.trackline_dir
    streams = _stream_states(url) if info["store"].get("runs") else {}
    pending = []
    seen: set[str] = set()
    for found in find_logs(runs_dir) if os.path.isdir(runs_dir) else []:
        log = os.path.realpath(found)  # latest-run is a link to one of the run folders
        if log in seen or is_synced(log):
            continue
        seen.add(log)
        run_dir = os.path.dirname(log)
        offline = os.path.basename(run_dir).startswith("offline-run-")
        sid = _stream_id(log)
        state = streams.get(sid) if sid is not None else None
        if not offline and state in ("finished", "failed", "killed", "running", "preempting"):
            continue  # live into the store: finished cleanly, or still being written
        why = "offline" if offline else "not in the store" if state is None else f"{state}: may hold unsent records"
        pending.append({
            "dir": run_dir,
            "run_id": os.path.basename(log)[len("run-") : -len(".tlog")],
            "reason": why,
            "size_bytes": os.path.getsize(log),
        })
    info["mode"] = {"mode": settings.mode, "set_by": settings.source("mode"),
                    "workspace_settings": workspace_settings_path(root)}
    info["runs_dir"] = runs_dir
    info["pending"] = pending
    return info


@click.command("status")
@click.option("--dir", "root", metavar="DIR", help="Folder whose ./trackline runs to check (default: here).")
@json_option
@store_option
def status_cmd(root: str | None, as_json: bool, store: str | None) -> None:
    """Where the store is and how big, what is in it, the mode, and runs not yet synced."""
    info = collect(store, root)
    if as_json:
        echo_json(info)
        return
    s = info["store"]
    click.echo(f"store     {s.get('path') or s['url']}")
    if s.get("path") and not s.get("exists"):
        click.echo("          (not created yet: it is made by the first run)")
    else:
        size = fmt_size(s.get("size_bytes", 0)) if "size_bytes" in s else ""
        states = ", ".join(f"{n} {k}" for k, n in sorted(s.get("runs_by_state", {}).items()))
        click.echo(f"          {size}; {s['projects']} projects, {s['runs']} runs" + (f" ({states})" if states else ""))
        if "blobs" in s:
            b = s["blobs"]
            click.echo(f"blobs     {b['path']}: {b['files']} files, {fmt_size(b['size_bytes'])}")
    m = info["mode"]
    click.echo(f"mode      {m['mode']} (set by {m['set_by']})")
    pending = info["pending"]
    if not pending:
        click.echo(f"pending   none under {info['runs_dir']}")
        return
    click.echo(f"pending   {len(pending)} run(s) under {info['runs_dir']} not in the store; "
               "`trackline sync --all` adds them:")
    for p in pending:
        click.echo(f"  {os.path.relpath(p['dir'])}  ({p['reason']}, {fmt_size(p['size_bytes'])})")
