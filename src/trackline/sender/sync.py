"""``trackline sync``: replay record logs into the store (idempotent, crash-safe)."""

from __future__ import annotations

import glob
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass

from trackline.data_types.spare_files import remove_leftovers
from trackline.records.frames import RecordLogError
from trackline.sender.sender import Pump
from trackline.storage.sql.store import SQLStore, _pid_alive

SYNCED_SUFFIX = ".synced"


@dataclass
class SyncResult:
    log_path: str
    run_path: str | None
    records: int
    points: int
    dropped_bytes: int
    state: str
    skipped: bool = False


def find_logs(path: str) -> list[str]:
    """The record logs in ``path``: a .tlog file, a run directory, or a folder of run dirs."""
    if os.path.isfile(path):
        return [path]
    direct = sorted(glob.glob(os.path.join(path, "run-*.tlog")))
    if direct:
        return direct
    found: list[str] = []
    for pattern in ("*/run-*.tlog", "trackline/*/run-*.tlog"):
        for log in sorted(glob.glob(os.path.join(path, pattern))):
            if not os.path.islink(os.path.dirname(log)):  # skip the latest-run link
                found.append(log)
    return found


def _writer_alive(pump: Pump) -> bool:
    meta = pump.handler.run.get("metadata") or {}
    pid = meta.get("pid")
    if not pid or meta.get("host") != socket.gethostname():
        return False
    return pid != os.getpid() and _pid_alive(int(pid), meta.get("pid_start"))


def sync_log(log_path: str, store: SQLStore) -> SyncResult:
    """Replay one record log into ``store``; a log whose writer died is marked crashed."""
    pump = Pump(log_path, store, dedicated=True)
    try:
        while pump.pump():
            pass
        if pump.key is None:
            raise RecordLogError(f"{log_path}: no run record found (the file holds no complete frame)")
        if pump.handler.exit is None and not _writer_alive(pump):
            pump.end_of_log()
        state = pump.handler.state
        if pump.handler.exit is None and state == "running":
            state = "running (writer still alive)"
        dropped = pump.reader.dropped_bytes
    finally:
        pump.close()
    if state != "running (writer still alive)":
        with open(log_path + SYNCED_SUFFIX, "w") as f:
            f.write(f"{pump.applied_seq}\n")
        remove_leftovers(os.path.dirname(os.path.abspath(log_path)))
    return SyncResult(log_path, pump.key.path if pump.key else None, pump.records_total,
                      pump.points_total, dropped, state)


def is_synced(log_path: str) -> bool:
    marker = log_path + SYNCED_SUFFIX
    try:
        return os.path.getmtime(marker) >= os.path.getmtime(log_path)
    except OSError:
        return False


def iter_pending(root: str) -> Iterator[str]:
    for log in find_logs(root):
        if not is_synced(log):
            yield log
