"""``trackline gc`` and retention: free the blobs nothing references, keep the last N versions.

A blob is referenced while any artifact entry (committed or pending) or run file names
its sha256, *or* a run's record log that is not in the store yet does: an offline run
(or a crashed one not replayed) stages its artifact files into the blob store when it
logs them, and its ARTIFACT records only reach the store at ``trackline sync``. The
records of a log past what the store has applied from it (``run_streams.applied_seq``)
keep the blobs they name; records already applied are in the store (or were deleted
there on purpose) and keep nothing. Those logs are found under the configured runs folder (``./trackline``, as ``trackline
status`` lists pending runs; ``--dir`` adds more) and through a small marker that an
offline run leaves in ``<blobs>/.pending-logs/`` when it logs an artifact, so a run
written anywhere on the machine is found. A log marked synced no longer protects
anything (its references are in the store). Run files of such logs are still in the
run folder, not the blob store; a FILES record that names a blob (``sha256``) keeps it.

``collect_garbage`` first deletes versions whose TTL ran out, then removes every blob
that is unreferenced *and* older than the grace period: blobs are written before the
record that references them is stored (staging, the sender's copy), and writing
existing content again refreshes a blob's time, so the grace period protects work in
flight.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trackline.storage.sql.artifacts import ArtifactDB, DeleteResult

if TYPE_CHECKING:
    from trackline.storage.sql.store import SQLStore

DEFAULT_GRACE_SECONDS = 3600.0
PENDING_LOGS = ".pending-logs"  # <blob root>/.pending-logs/<key>: the path of an unsynced run log
_registered: set[tuple[str, str]] = set()
_registered_lock = threading.Lock()


@dataclass
class GCReport:
    blobs_total: int = 0
    bytes_total: int = 0
    blobs_deleted: int = 0
    bytes_freed: int = 0
    blobs_kept_recent: int = 0  # unreferenced, but within the grace period
    versions_expired: int = 0
    blobs_kept_pending: int = 0  # unreferenced in the store, but named by a run log not synced yet
    pending_logs: list[str] = field(default_factory=list)
    dry_run: bool = False
    deleted: list[str] = field(default_factory=list)


def register_pending_log(blob_root: str, log_path: str) -> None:
    """Note that the run log ``log_path`` references blobs in ``blob_root`` before it is synced
    (an offline run logging an artifact), so ``trackline gc`` finds it wherever it is."""
    log_path = os.path.abspath(log_path)
    key = (blob_root, log_path)
    with _registered_lock:
        if key in _registered:
            return
        _registered.add(key)
    folder = os.path.join(blob_root, PENDING_LOGS)
    name = hashlib.sha256(log_path.encode()).hexdigest()[:32]
    try:
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{name}.{os.getpid()}")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(log_path + "\n")
        os.replace(tmp, os.path.join(folder, name))
    except OSError:  # the runs folder is still scanned; the grace period still applies
        with _registered_lock:
            _registered.discard(key)


def _markers(blob_root: str | None) -> list[tuple[str, str]]:
    """``(marker file, log path)`` of every registered run log."""
    if blob_root is None:
        return []
    folder = os.path.join(blob_root, PENDING_LOGS)
    out = []
    try:
        names = [n for n in os.listdir(folder) if not n.startswith(".")]
    except OSError:
        return []
    for n in names:
        try:
            with open(os.path.join(folder, n), encoding="utf-8") as f:
                out.append((os.path.join(folder, n), f.read().strip()))
        except OSError:
            continue
    return out


def pending_logs(run_dirs: Iterable[str], blob_root: str | None = None, forget_synced: bool = False) -> list[str]:
    """Record logs not synced into the store yet: under ``run_dirs`` and registered in ``blob_root``."""
    from trackline.sender.sync import find_logs, is_synced

    found: dict[str, None] = {}
    for d in run_dirs:
        if os.path.isdir(d) or os.path.isfile(d):
            for log in find_logs(d):
                found[os.path.realpath(log)] = None
    for marker, log in _markers(blob_root):
        if os.path.isfile(log) and not is_synced(log):
            found[os.path.realpath(log)] = None
        elif forget_synced:  # synced (its references are in the store) or gone
            try:
                os.remove(marker)
            except OSError:
                pass
    return [log for log in found if not is_synced(log)]


def _kinds_of_interest(payload: bytes) -> bool:
    """Cheaply: is this record (msgpack ``[kind, ...]``) an ARTIFACT or FILES record? History
    records, most of a log, are skipped without being decoded."""
    from trackline.records import kinds

    if len(payload) < 2:
        return False
    if 0x90 <= payload[0] <= 0x9F:  # a short array: the kind is the next byte
        return payload[1] in (kinds.ARTIFACT, kinds.FILES)
    return True  # another encoding: decode and look


def applied_seqs(store: SQLStore) -> dict[bytes, int]:
    """Record stream id -> the last record of it the store has applied."""
    from sqlalchemy import func, select

    from trackline.storage.sql import schema as t

    s = t.run_streams.c
    with store.engine.connect() as conn:
        rows = conn.execute(select(s.stream_id, func.max(s.applied_seq)).group_by(s.stream_id)).all()
    return {bytes(sid): int(seq) for sid, seq in rows}


def log_references(log_path: str, applied: dict[bytes, int] | None = None) -> set[str]:
    """The blobs (sha256) named by the records of a log that the store has not applied yet
    (``applied``: stream id -> last applied record): artifact entries, run files that carry one."""
    from trackline.records import kinds
    from trackline.records.codec import decode
    from trackline.records.frames import RecordLogError, RecordReader

    out: set[str] = set()
    try:
        reader = RecordReader(log_path)
    except (OSError, RecordLogError):
        return out
    with reader:
        done = (applied or {}).get(bytes(reader.stream_id), 0)
        while True:
            first, payloads = reader.poll_payloads()
            if not payloads:
                break
            for i, p in enumerate(payloads):
                if first + i <= done or not _kinds_of_interest(p):
                    continue
                try:
                    rec = decode(p)
                except Exception:
                    continue
                if not isinstance(rec, list) or len(rec) < 2:
                    continue
                if rec[0] == kinds.ARTIFACT and isinstance(rec[1], dict):
                    for e in rec[1].get("entries") or ():
                        if isinstance(e, list) and len(e) > 3 and isinstance(e[3], str):
                            out.add(e[3])
                elif rec[0] == kinds.FILES and isinstance(rec[1], list):
                    out.update(f["sha256"] for f in rec[1] if isinstance(f, dict) and isinstance(f.get("sha256"), str))
    return out


def default_run_dirs() -> list[str]:
    """The configured runs folder (``<root_dir>/trackline``), as ``trackline status`` looks at it."""
    from trackline.settings import resolve

    return [resolve().trackline_dir]


def collect_garbage(
    store: SQLStore,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    dry_run: bool = False,
    run_dirs: Sequence[str] | None = None,
) -> GCReport:
    """Delete expired versions, then the blobs nothing references that are older than the grace period.

    Blobs named by record logs not synced yet (under ``run_dirs``, default the configured
    runs folder, and the logs offline runs registered) are kept.
    """
    if grace_seconds < 0:
        raise ValueError(f"grace_seconds must be >= 0, got {grace_seconds}")
    report = GCReport(dry_run=dry_run)
    blobs = store.blobs
    if blobs is None:
        raise ValueError(f"store {store.url} has no blob store: nothing to collect")
    db = ArtifactDB(store.engine, store.project_id)
    expired = db.expired()
    if expired and not dry_run:
        db.delete(expired, delete_aliases=True)
    report.versions_expired = len(expired)
    # Logs first, then the store: a log synced in between is in the store by then.
    root = getattr(blobs, "root", None)
    report.pending_logs = pending_logs(default_run_dirs() if run_dirs is None else run_dirs, root,
                                       forget_synced=not dry_run)
    applied = applied_seqs(store) if report.pending_logs else {}
    in_logs: set[str] = set()
    for log in report.pending_logs:
        in_logs |= log_references(log, applied)
    referenced = db.referenced()
    cutoff = time.time() - grace_seconds
    for stat in blobs.iter_blobs():
        report.blobs_total += 1
        report.bytes_total += stat.size
        if stat.sha256 in referenced:
            continue
        if stat.sha256 in in_logs:
            report.blobs_kept_pending += 1
            continue
        if stat.mtime > cutoff:
            report.blobs_kept_recent += 1
            continue
        report.deleted.append(stat.sha256)
        report.blobs_deleted += 1
        report.bytes_freed += stat.size if dry_run else blobs.delete(stat.sha256)
    clean = getattr(blobs, "clean_incoming", None)
    if clean is not None and not dry_run:
        report.bytes_freed += clean(max(grace_seconds, 60.0))
    return report


def keep_last(
    db: ArtifactDB, entity: str, project: str, collection: str | None, keep: int, dry_run: bool = False
) -> tuple[list[dict[str, Any]], DeleteResult]:
    """Delete all but the newest ``keep`` versions of a collection (or of every collection of a project).

    Versions with a custom alias (``best``, ``production``) are kept whatever their age.
    """
    if keep < 0:
        raise ValueError(f"keep-last must be >= 0, got {keep}")
    victims: list[dict[str, Any]] = []
    for coll in db.collections(entity, project, name=collection):
        if coll.get("is_portfolio"):
            continue
        victims += db.retention_candidates(int(coll["id"]), keep)
    if dry_run or not victims:
        freed = sum(int(v.get("size") or 0) for v in victims)
        return victims, DeleteResult(len(victims), freed if dry_run else 0)
    return victims, db.delete([int(v["id"]) for v in victims], delete_aliases=True)
