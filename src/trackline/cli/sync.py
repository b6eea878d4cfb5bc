"""``trackline sync`` and ``trackline offline`` / ``online``."""

from __future__ import annotations

import json
import os

import click

from trackline.settings import resolve, workspace_settings_path, write_setting


@click.command("sync")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--all", "sync_all", is_flag=True, help="Sync every run under the paths (default: ./trackline) not synced yet.")
@click.option("--store", help="Store path or URL (default: settings / TRACKLINE_STORE).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per synced log.")
def sync_cmd(paths: tuple[str, ...], sync_all: bool, store: str | None, as_json: bool) -> None:
    """Replay offline or crashed runs' record logs into the store.

    PATHS are run directories (trackline/run-...), .tlog files, or folders of runs.
    Syncing is idempotent: a run synced twice is stored once.
    """
    from trackline.records.frames import RecordLogError
    from trackline.sender.sync import find_logs, iter_pending, sync_log
    from trackline.storage import open_store

    settings = resolve(None, {"store": store} if store else None)
    roots = list(paths) or ([os.path.join(os.getcwd(), "trackline")] if sync_all else [])
    if not roots:
        raise click.UsageError("give run directories to sync, or --all")
    logs: list[str] = []
    for root in roots:
        found = list(iter_pending(root)) if sync_all else find_logs(root)
        if not found and not sync_all:
            raise click.UsageError(f"no trackline record log (run-*.tlog) found in {root}")
        logs += found
    seen: set[str] = set()
    logs = [x for x in logs if not (os.path.realpath(x) in seen or seen.add(os.path.realpath(x)))]  # type: ignore[func-returns-value]
    if not logs:
        click.echo("Nothing to sync.", err=True)
        return
    db = open_store(settings.store_url, settings.blob_url)
    failed = 0
    for log in logs:
        try:
            result = sync_log(log, db)
        except (RecordLogError, OSError) as exc:
            failed += 1
            click.echo(f"error: {log}: {exc}", err=True)
            continue
        if as_json:
            click.echo(json.dumps(result.__dict__))
            continue
        msg = (f"Synced {result.run_path}: {result.records} records, {result.points} points "
               f"({result.state}) from {os.path.relpath(log)}")
        if result.dropped_bytes:
            msg += f"; dropped a torn tail of {result.dropped_bytes} bytes"
        click.echo(msg)
    if failed:
        raise SystemExit(1)


def _set_mode(mode: str) -> str:
    path = workspace_settings_path()
    write_setting(path, "mode", mode)
    return path


@click.command("offline")
def offline_cmd() -> None:
    """New runs in this directory write only their record log (sync later with `trackline sync`)."""
    path = _set_mode("offline")
    click.echo(f"trackline is now offline for runs started here ({path}); `trackline sync --all` adds them to the store.")


@click.command("online")
def online_cmd() -> None:
    """New runs in this directory go live into the store (the default)."""
    path = _set_mode("online")
    click.echo(f"trackline is now online for runs started here ({path}).")
