"""``trackline gc`` and retention: free the blobs nothing references, keep the last N versions.

A blob is referenced while any artifact entry (committed or pending) or run file names
its sha256. ``collect_garbage`` first deletes versions whose TTL ran out, then removes
every blob that is unreferenced *and* older than the grace period: blobs are written
before the record that references them is stored (staging, the sender's copy), and
writing existing content again refreshes a blob's time, so the grace period protects
work in flight. Offline runs that are not synced yet only have that grace period:
``trackline sync`` them before collecting with a short grace.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trackline.storage.sql.artifacts import ArtifactDB, DeleteResult

if TYPE_CHECKING:
    from trackline.storage.sql.store import SQLStore

DEFAULT_GRACE_SECONDS = 3600.0


@dataclass
class GCReport:
    blobs_total: int = 0
    bytes_total: int = 0
    blobs_deleted: int = 0
    bytes_freed: int = 0
    blobs_kept_recent: int = 0  # unreferenced, but within the grace period
    versions_expired: int = 0
    dry_run: bool = False
    deleted: list[str] = field(default_factory=list)


def collect_garbage(store: SQLStore, grace_seconds: float = DEFAULT_GRACE_SECONDS, dry_run: bool = False) -> GCReport:
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
    referenced = db.referenced()
    cutoff = time.time() - grace_seconds
    for stat in blobs.iter_blobs():
        report.blobs_total += 1
        report.bytes_total += stat.size
        if stat.sha256 in referenced:
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
