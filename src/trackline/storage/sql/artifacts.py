"""Artifact metadata in the SQL store: the writer's side (records -> rows) and the readers'.

Writes come two ways, and both end in the functions here:

* from a run's record log, inside the stream writer's batch transaction
  (:func:`prepare` copies entry bytes into the blob store first, :func:`apply` writes
  rows); every request carries a client id, kept in ``artifact_lineage``, so replaying
  a log (``trackline sync`` twice, a crash mid-batch) changes nothing;
* from the query API and CLI (edit, delete, link, retention), through :class:`ArtifactDB`.

Versions follow W&B: ``v0, v1, ...`` per collection, ``latest`` on the newest committed
version, and a log whose manifest digest equals the latest's creates no new version.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, update

from trackline.storage.sql import schema as t
from trackline.storage.sql.engine import write_transaction

log = logging.getLogger("trackline.store")

PENDING, COMMITTED, DELETED = "PENDING", "COMMITTED", "DELETED"
_HEADER = b"wandb-artifact-manifest-v1\n"
_ENTRY_BATCH = 2000
ARTIFACT_REF_PREFIX = "wandb-artifact://"  # an entry of another version (artifacts/artifact_refs.py)


def _new_id(res: Any) -> int:
    key = res.inserted_primary_key
    assert key is not None
    return int(key[0])


class ArtifactConflict(ValueError):
    """A request the store refuses (type clash, unknown version, protected alias)."""


def manifest_digest(pairs: Iterable[tuple[str, str]]) -> str:
    """W&B's artifact digest over ``(path, entry digest)`` pairs (see artifacts/manifest.py)."""
    h = hashlib.md5(_HEADER)
    for path, digest in sorted(pairs):
        h.update(f"{path}:{digest}\n".encode())
    return h.hexdigest()


# -- the writer's side ---------------------------------------------------------------------


def prepare(blobs: Any, ops: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """Put entry bytes into the blob store (before the transaction); fix entries that changed.

    Entries staged into this blob store already (the usual case) cost one ``exists``.
    A file changed since it was added (``policy="immutable"``) is stored as it is now,
    with a warning; a file that is gone is dropped from the version, with a warning.
    """
    if blobs is None:
        return ops
    for op, body in ops:
        if op != "log":
            continue
        kept: list[list[Any]] = []
        for e in body.get("entries") or ():
            path, _digest, _size, sha256, ref, _extra, local_path = (list(e) + [None] * 8)[:7]
            if ref is not None or sha256 is None or blobs.exists(sha256):
                kept.append(e)
                continue
            if not local_path or not os.path.isfile(local_path):
                log.warning("trackline: artifact %s entry %r dropped: its file %s is gone",
                            body.get("name"), path, local_path)
                continue
            info = blobs.put_file(local_path)
            if info.sha256 != sha256:
                log.warning("trackline: artifact %s entry %r changed after it was added; storing it as it is now",
                            body.get("name"), path)
                e = list(e)
                e[1], e[2], e[3] = info.md5_b64, info.size, info.sha256
            kept.append(e)
        body["entries"] = kept
    return ops


def apply(
    conn: Connection,
    run_pk: int | None,
    ops: list[tuple[str, dict[str, Any]]],
    project_id: Callable[[Connection, str, str, float], int],
    now: float,
) -> None:
    """Write a batch's artifact requests (in the caller's transaction), skipping replays."""
    for op, body in ops:
        client_id = str(body.get("client_id") or "")
        if not client_id or _lineage(conn, client_id) is not None:
            continue
        try:
            if op == "log":
                _log(conn, run_pk, body, project_id, now)
            elif op == "use":
                vid = _find_version(conn, str(body.get("id")))
                if vid is None:
                    raise ArtifactConflict(f"used artifact {body.get('name') or body.get('id')!r} is not in this store")
                _add_lineage(conn, client_id, vid, run_pk, "input", now)
            elif op == "link":
                vid = _find_version(conn, str(body.get("id")))
                if vid is None:
                    raise ArtifactConflict(f"artifact {body.get('id')!r} to link is not in this store")
                pid = project_id(conn, body["entity"], body["project"], now)
                link = link_version(conn, vid, pid, body["collection"], body.get("aliases") or [], now)
                _add_lineage(conn, client_id, link, run_pk, "link", now)
        except ArtifactConflict as exc:
            log.warning("trackline: artifact request refused: %s", exc)
            _add_lineage(conn, client_id, None, run_pk, op, now, error=str(exc))


def referenced_versions(entries: Iterable[Any]) -> list[str]:
    """The version ids that ``wandb-artifact://<id>/<path>`` entries (record form) point at, once each."""
    out: dict[str, None] = {}
    for e in entries:
        ref = e[4] if isinstance(e, (list, tuple)) and len(e) > 4 else None
        if isinstance(ref, str) and ref.startswith(ARTIFACT_REF_PREFIX):
            out[ref[len(ARTIFACT_REF_PREFIX):].split("/", 1)[0]] = None
    return list(out)


def _add_reference_lineage(conn: Connection, client_id: str, vid: int, run_pk: int | None,
                           entries: Iterable[Any], now: float) -> None:
    """The run that logs a version with entries of other versions used those versions
    (recorded once per request and version, so a replay adds nothing)."""
    if run_pk is None:
        return
    for artifact_id in referenced_versions(entries):
        used = _find_version(conn, artifact_id)
        if used is None or used == vid:
            continue  # not in this store (logged elsewhere): nothing to link
        lid = hashlib.md5(f"{client_id}\n{artifact_id}".encode()).hexdigest()
        if _lineage(conn, lid) is None:
            _add_lineage(conn, lid, used, run_pk, "input", now)


def _lineage(conn: Connection, client_id: str) -> Any:
    return conn.execute(
        select(t.artifact_lineage.c.client_id).where(t.artifact_lineage.c.client_id == client_id)
    ).first()


def _add_lineage(
    conn: Connection, client_id: str, vid: int | None, run_pk: int | None, direction: str, now: float,
    error: str | None = None,
) -> None:
    conn.execute(insert(t.artifact_lineage).values(
        client_id=client_id, version_id=vid, run_pk=run_pk, direction=direction[:8], created_at=now, error=error
    ))


def _find_version(conn: Connection, ident: str) -> int | None:
    """A version by public id, or by the client id of the request that logged it."""
    v = t.artifact_versions.c
    vid = conn.execute(select(v.id).where(and_(v.artifact_id == ident, v.state != DELETED))).scalar()
    if vid is None:
        vid = conn.execute(
            select(t.artifact_lineage.c.version_id).where(t.artifact_lineage.c.client_id == ident)
        ).scalar()
    return None if vid is None else int(vid)


def get_collection(conn: Connection, project_id: int, name: str, for_update: bool = False) -> Any:
    c = t.artifact_collections.c
    q = select(t.artifact_collections).where(and_(c.project_id == project_id, c.name == name))
    if for_update:
        q = q.with_for_update()
    return conn.execute(q).first()


def ensure_collection(
    conn: Connection, project_id: int, name: str, type_: str, now: float, portfolio: bool = False
) -> int:
    row = get_collection(conn, project_id, name, for_update=True)
    if row is None:
        res = conn.execute(insert(t.artifact_collections).values(
            project_id=project_id, name=name, type=type_, description=None, tags=[],
            is_portfolio=portfolio, created_at=now, updated_at=now,
        ))
        return _new_id(res)
    if row.type != type_:
        raise ArtifactConflict(
            f"Artifact {name} already exists with type '{row.type}'; cannot create another with type '{type_}'"
        )
    if bool(row.is_portfolio) != portfolio:
        what = "a collection of links (a portfolio or registry model)" if row.is_portfolio else "a collection of logged versions"
        raise ArtifactConflict(f"{name!r} is {what}; log to a collection and link to a portfolio, not the other way")
    return int(row.id)


def _log(
    conn: Connection,
    run_pk: int | None,
    body: dict[str, Any],
    project_id: Callable[[Connection, str, str, float], int],
    now: float,
) -> None:
    pid = project_id(conn, body["entity"], body["project"], now)
    coll = ensure_collection(conn, pid, body["name"], body["type"], now)
    mode = body.get("mode") or "log"
    entries = [_entry_row(e) for e in body.get("entries") or ()]
    aliases = list(body.get("aliases") or [])
    client_id = str(body["client_id"])
    v = t.artifact_versions.c
    if mode == "log":
        if body.get("incremental"):
            base = alias_target(conn, coll, "latest")
            if base is not None:
                mine = {e["path"] for e in entries}
                entries = [e for e in entry_rows(conn, base) if e["path"] not in mine] + entries
        digest = manifest_digest((e["path"], e["digest"]) for e in entries)
        latest = alias_target(conn, coll, "latest")
        latest_digest = None if latest is None else conn.execute(select(v.digest).where(v.id == latest)).scalar()
        if latest is not None and latest_digest == digest:
            vid = latest  # unchanged content: no new version (W&B's dedup)
        else:
            vid = _new_version(conn, coll, client_id, body, run_pk, now)
            _put_entries(conn, vid, entries)
            _commit(conn, coll, vid, now)
        set_aliases(conn, coll, vid, ["latest", *aliases])
        _add_lineage(conn, client_id, vid, run_pk, "output", now)
        _add_reference_lineage(conn, client_id, vid, run_pk, body.get("entries") or (), now)
        return
    # Distributed writers: every upsert adds to one PENDING version per distributed id.
    dist = str(body.get("distributed_id") or "")
    pending = conn.execute(
        select(v.id, v.pending_aliases).where(
            and_(v.collection_id == coll, v.distributed_id == dist, v.state == PENDING)
        ).order_by(v.id).limit(1)
    ).first()
    if pending is None:
        vid = _new_version(conn, coll, client_id, body, run_pk, now, state=PENDING, distributed_id=dist)
        pending_aliases: list[str] = []
    else:
        vid = int(pending.id)
        pending_aliases = list(pending.pending_aliases or [])
    _put_entries(conn, vid, entries)
    fields: dict[str, Any] = {"updated_at": now,
                              "pending_aliases": pending_aliases + [a for a in aliases if a not in pending_aliases]}
    if body.get("description") is not None:
        fields["description"] = body["description"]
    if body.get("metadata"):
        current = conn.execute(select(v.metadata).where(v.id == vid)).scalar() or {}
        fields["metadata"] = {**current, **body["metadata"]}
    conn.execute(update(t.artifact_versions).where(v.id == vid).values(**fields))
    _add_lineage(conn, client_id, vid, run_pk, "output", now)
    _add_reference_lineage(conn, client_id, vid, run_pk, body.get("entries") or (), now)
    if mode != "finish":
        return
    all_aliases = ["latest", *fields["pending_aliases"]]
    rows = entry_rows(conn, vid)
    digest = manifest_digest((e["path"], e["digest"]) for e in rows)
    latest = alias_target(conn, coll, "latest")
    latest_digest = None if latest is None else conn.execute(select(v.digest).where(v.id == latest)).scalar()
    if latest is not None and latest_digest == digest:
        lin = t.artifact_lineage.c
        conn.execute(update(t.artifact_lineage).where(lin.version_id == vid).values(version_id=latest))
        conn.execute(delete(t.artifact_versions).where(v.id == vid))
        vid = latest
    else:
        _commit(conn, coll, vid, now)
    set_aliases(conn, coll, vid, all_aliases)


def _new_version(
    conn: Connection, coll: int, artifact_id: str, body: dict[str, Any], run_pk: int | None, now: float,
    state: str = PENDING, distributed_id: str | None = None,
) -> int:
    ttl = body.get("ttl")
    res = conn.execute(insert(t.artifact_versions).values(
        artifact_id=artifact_id, collection_id=coll, version_index=None, state=state, digest=None,
        description=body.get("description"), metadata=body.get("metadata") or {},
        tags=list(body.get("tags") or []), ttl_seconds=None if ttl is None else float(ttl),
        size=0, file_count=0, created_at=now, updated_at=now, committed_at=None, run_pk=run_pk,
        history_step=body.get("history_step"), distributed_id=distributed_id, pending_aliases=[],
        source_version_id=None,
    ))
    return _new_id(res)


def _entry_row(e: Any) -> dict[str, Any]:
    path, digest, size, sha256, ref, extra, _local, birth = (list(e) + [None] * 8)[:8]
    return {"path": path, "digest": digest, "size": size, "sha256": sha256, "ref": ref,
            "extra": extra or None, "birth_artifact_id": birth}


def _put_entries(conn: Connection, vid: int, entries: list[dict[str, Any]]) -> None:
    if not entries:
        return
    e = t.artifact_entries.c
    paths = [x["path"] for x in entries]
    for i in range(0, len(paths), _ENTRY_BATCH):
        conn.execute(delete(t.artifact_entries).where(
            and_(e.version_id == vid, e.path.in_(paths[i : i + _ENTRY_BATCH]))
        ))
    rows = list({x["path"]: {"version_id": vid, **x} for x in entries}.values())
    for i in range(0, len(rows), _ENTRY_BATCH):
        conn.execute(insert(t.artifact_entries), rows[i : i + _ENTRY_BATCH])


def _commit(conn: Connection, coll: int, vid: int, now: float) -> None:
    """Give a version the next index and its digest, size and file count."""
    v, e = t.artifact_versions.c, t.artifact_entries.c
    get_collection_by_id(conn, coll, for_update=True)
    top = conn.execute(select(func.max(v.version_index)).where(v.collection_id == coll)).scalar()
    rows = entry_rows(conn, vid)
    size, count = conn.execute(
        select(func.coalesce(func.sum(e.size), 0), func.count()).where(e.version_id == vid)
    ).one()
    conn.execute(update(t.artifact_versions).where(v.id == vid).values(
        version_index=0 if top is None else int(top) + 1,
        state=COMMITTED,
        digest=manifest_digest((r["path"], r["digest"]) for r in rows),
        size=int(size), file_count=int(count), committed_at=now, updated_at=now,
    ))
    conn.execute(update(t.artifact_collections).where(t.artifact_collections.c.id == coll).values(updated_at=now))


def get_collection_by_id(conn: Connection, coll: int, for_update: bool = False) -> Any:
    q = select(t.artifact_collections).where(t.artifact_collections.c.id == coll)
    if for_update:
        q = q.with_for_update()
    return conn.execute(q).first()


def alias_target(conn: Connection, coll: int, alias: str) -> int | None:
    a = t.artifact_aliases.c
    vid = conn.execute(select(a.version_id).where(and_(a.collection_id == coll, a.alias == alias))).scalar()
    return None if vid is None else int(vid)


def set_aliases(conn: Connection, coll: int, vid: int, aliases: Iterable[str]) -> None:
    """Point each alias of the collection at ``vid`` (an alias names one version)."""
    a = t.artifact_aliases.c
    for alias in dict.fromkeys(aliases):
        conn.execute(delete(t.artifact_aliases).where(and_(a.collection_id == coll, a.alias == alias)))
        conn.execute(insert(t.artifact_aliases).values(collection_id=coll, alias=alias, version_id=vid))


def replace_aliases(conn: Connection, vid: int, aliases: Iterable[str]) -> None:
    """Make ``aliases`` the version's custom aliases (``latest`` is managed by the store)."""
    a = t.artifact_aliases.c
    coll = conn.execute(select(t.artifact_versions.c.collection_id).where(t.artifact_versions.c.id == vid)).scalar_one()
    wanted = [x for x in dict.fromkeys(aliases) if x != "latest"]
    stale = and_(a.version_id == vid, a.alias != "latest")
    if wanted:
        stale = and_(stale, a.alias.not_in(wanted))
    conn.execute(delete(t.artifact_aliases).where(stale))
    set_aliases(conn, int(coll), vid, wanted)


def _repoint_latest(conn: Connection, coll: int) -> None:
    v = t.artifact_versions.c
    newest = conn.execute(
        select(v.id).where(and_(v.collection_id == coll, v.state == COMMITTED))
        .order_by(v.version_index.desc()).limit(1)
    ).scalar()
    a = t.artifact_aliases.c
    conn.execute(delete(t.artifact_aliases).where(and_(a.collection_id == coll, a.alias == "latest")))
    if newest is not None:
        conn.execute(insert(t.artifact_aliases).values(collection_id=coll, alias="latest", version_id=newest))


def link_version(conn: Connection, vid: int, project_id: int, collection: str, aliases: list[str], now: float) -> int:
    """Link version ``vid`` into a portfolio collection (created when missing); returns the link's id."""
    v = t.artifact_versions.c
    src = conn.execute(select(v.id, v.source_version_id, v.collection_id, v.state).where(v.id == vid)).one()
    if src.source_version_id is not None:
        vid = int(src.source_version_id)  # linking a link links its source
        src = conn.execute(select(v.id, v.source_version_id, v.collection_id, v.state).where(v.id == vid)).one()
    if src.state != COMMITTED:
        raise ArtifactConflict("only a committed version can be linked")
    type_ = conn.execute(
        select(t.artifact_collections.c.type).where(t.artifact_collections.c.id == src.collection_id)
    ).scalar_one()
    coll = ensure_collection(conn, project_id, collection, type_, now, portfolio=True)
    existing = conn.execute(
        select(v.id).where(and_(v.collection_id == coll, v.source_version_id == vid))
    ).scalar()
    if existing is None:
        res = conn.execute(insert(t.artifact_versions).values(
            artifact_id=uuid.uuid4().hex, collection_id=coll, version_index=None, state=PENDING,
            digest=None, description=None, metadata=None, tags=[], ttl_seconds=None, size=0,
            file_count=0, created_at=now, updated_at=now, committed_at=None, run_pk=None,
            history_step=None, distributed_id=None, pending_aliases=[], source_version_id=vid,
        ))
        link = _new_id(res)
        top = conn.execute(select(func.max(v.version_index)).where(v.collection_id == coll)).scalar()
        conn.execute(update(t.artifact_versions).where(v.id == link).values(
            version_index=0 if top is None else int(top) + 1, state=COMMITTED, committed_at=now,
        ))
        set_aliases(conn, coll, link, ["latest"])
    else:
        link = int(existing)
    set_aliases(conn, coll, link, [a for a in aliases if a != "latest"])
    return link


def _entries_query(conn: Connection, vid: int) -> Any:
    """The select of a version's entries (a link's are its source's)."""
    v, e = t.artifact_versions.c, t.artifact_entries.c
    src = conn.execute(select(v.source_version_id).where(v.id == vid)).scalar()
    if src is not None:
        vid = int(src)
    return select(e.path, e.digest, e.size, e.sha256, e.ref, e.extra, e.birth_artifact_id).where(e.version_id == vid)


def entry_rows(conn: Connection, vid: int) -> list[dict[str, Any]]:
    """Entries of a version (a link's are its source's), by path."""
    rows = conn.execute(_entries_query(conn, vid).order_by(t.artifact_entries.c.path))
    return [dict(r._mapping) for r in rows]


def entry_row(conn: Connection, vid: int, path: str) -> dict[str, Any] | None:
    """One entry of a version (a link's: its source's), or None."""
    row = conn.execute(_entries_query(conn, vid).where(t.artifact_entries.c.path == path)).first()
    return None if row is None else dict(row._mapping)


def delete_version(conn: Connection, vid: int, delete_aliases: bool, now: float) -> list[tuple[str, int]]:
    """Delete a version (a link: unlink it). Returns the ``(sha256, size)`` it referenced."""
    v, a = t.artifact_versions.c, t.artifact_aliases.c
    row = conn.execute(select(v.id, v.collection_id, v.source_version_id, v.state).where(v.id == vid)).first()
    if row is None or row.state == DELETED:
        return []
    coll = int(row.collection_id)
    if row.source_version_id is not None:
        conn.execute(delete(t.artifact_versions).where(v.id == vid))
        _repoint_latest(conn, coll)
        return []
    aliases = [x for (x,) in conn.execute(select(a.alias).where(a.version_id == vid))]
    if aliases and not delete_aliases:
        raise ArtifactConflict(
            f"this version has aliases {sorted(aliases)}; pass delete_aliases=True to delete them with it"
        )
    e = t.artifact_entries.c
    blobs = [(r.sha256, int(r.size or 0)) for r in conn.execute(
        select(e.sha256, e.size).where(and_(e.version_id == vid, e.sha256.is_not(None)))
    )]
    conn.execute(delete(t.artifact_versions).where(v.source_version_id == vid))  # its links go too
    conn.execute(delete(t.artifact_aliases).where(a.version_id == vid))
    conn.execute(delete(t.artifact_entries).where(e.version_id == vid))
    conn.execute(update(t.artifact_versions).where(v.id == vid).values(state=DELETED, updated_at=now))
    _repoint_latest(conn, coll)
    return blobs


def delete_versions(conn: Connection, vids: Iterable[int], delete_aliases: bool, now: float) -> list[tuple[str, int]]:
    """Delete versions; returns the ``(sha256, size)`` of blobs nothing references any more."""
    freed: list[tuple[str, int]] = []
    for vid in vids:
        freed += delete_version(conn, vid, delete_aliases, now)
    sizes: dict[str, int] = {}
    for d, size in freed:  # an artifact reference to a blob has size 0: the blob's own entry says
        sizes[d] = max(size, sizes.get(d, 0))
    still = referenced_sha256(conn, list(sizes))
    return [(d, s) for d, s in sizes.items() if d not in still]


def referenced_sha256(conn: Connection, among: Iterable[str] | None = None) -> set[str]:
    """Blob digests referenced by any artifact entry or run file (optionally only ``among``)."""
    e, f = t.artifact_entries.c, t.run_files.c
    if among is None:
        q1 = select(e.sha256).where(e.sha256.is_not(None)).distinct()
        q2 = select(f.sha256).distinct()
        return {d for (d,) in conn.execute(q1)} | {d for (d,) in conn.execute(q2)}
    wanted = list(set(among))
    out: set[str] = set()
    for i in range(0, len(wanted), 500):
        part = wanted[i : i + 500]
        out |= {d for (d,) in conn.execute(select(e.sha256).where(e.sha256.in_(part)).distinct())}
        out |= {d for (d,) in conn.execute(select(f.sha256).where(f.sha256.in_(part)).distinct())}
    return out


# -- the readers' side ---------------------------------------------------------------------


@dataclass(frozen=True)
class DeleteResult:
    versions: int
    unreferenced_bytes: int  # what `trackline gc` will free now


def _version_select() -> Any:
    v, c, p = t.artifact_versions.c, t.artifact_collections.c, t.projects.c
    return (
        select(
            t.artifact_versions,
            c.name.label("collection"), c.type.label("type"), c.is_portfolio,
            c.project_id, p.entity, p.name.label("project"),
        )
        .join(t.artifact_collections, c.id == v.collection_id)
        .join(t.projects, p.id == c.project_id)
    )


class ArtifactDB:
    """Artifact reads and edits on a store's engine (each call its own connection)."""

    def __init__(self, engine: Engine, project_id: Callable[[Connection, str, str, float], int]) -> None:
        self.engine = engine
        self._project_id = project_id

    # -- versions -----------------------------------------------------------------------

    def _row(self, conn: Connection, where: Any) -> dict[str, Any] | None:
        row = conn.execute(_version_select().where(where)).first()
        return None if row is None else self._finish(conn, dict(row._mapping))

    def _finish(self, conn: Connection, row: dict[str, Any]) -> dict[str, Any]:
        a = t.artifact_aliases.c
        row["aliases"] = sorted(x for (x,) in conn.execute(select(a.alias).where(a.version_id == row["id"])))
        src_id = row.get("source_version_id")
        if src_id is not None:
            src = conn.execute(_version_select().where(t.artifact_versions.c.id == src_id)).first()
            if src is not None:
                s = dict(src._mapping)
                row["source"] = {k: s[k] for k in ("id", "artifact_id", "collection", "entity", "project", "version_index")}
                for k in ("digest", "description", "metadata", "tags", "size", "file_count", "run_pk",
                          "history_step", "ttl_seconds"):
                    row[k] = s[k]
                row["source"]["aliases"] = sorted(
                    x for (x,) in conn.execute(select(a.alias).where(a.version_id == src_id))
                )
        return row

    def version(self, vid: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return self._row(conn, t.artifact_versions.c.id == vid)

    def by_artifact_id(self, artifact_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return self._row(conn, t.artifact_versions.c.artifact_id == artifact_id)

    def by_client_id(self, client_id: str) -> tuple[dict[str, Any] | None, str | None]:
        """The version a log/link request produced, or the error that refused it; (None, None) if unseen."""
        lin = t.artifact_lineage.c
        with self.engine.connect() as conn:
            found = conn.execute(select(lin.version_id, lin.error).where(lin.client_id == client_id)).first()
            if found is None:
                return None, None
            if found.version_id is None:
                return None, found.error or "refused"
            return self._row(conn, t.artifact_versions.c.id == found.version_id), None

    def resolve(self, entity: str, project: str, name: str, version: str | None) -> dict[str, Any] | None:
        """``name:vN`` or ``name:alias`` (default ``latest``) in a project; None when missing."""
        import re

        token = version or "latest"
        m = re.match(r"^v(\d+)$", token)
        v, c, p, a = t.artifact_versions.c, t.artifact_collections.c, t.projects.c, t.artifact_aliases.c
        with self.engine.connect() as conn:
            coll = conn.execute(
                select(c.id).join(t.projects, p.id == c.project_id)
                .where(and_(p.entity == entity, p.name == project, c.name == name))
            ).scalar()
            if coll is None:
                return None
            if m:
                where = and_(v.collection_id == coll, v.version_index == int(m.group(1)), v.state == COMMITTED)
                return self._row(conn, where)
            vid = conn.execute(select(a.version_id).where(and_(a.collection_id == coll, a.alias == token))).scalar()
            if vid is None:
                return None
            return self._row(conn, and_(v.id == vid, v.state == COMMITTED))

    def entries(self, vid: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return entry_rows(conn, vid)

    def entry(self, vid: int, path: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return entry_row(conn, vid, path)

    def versions(self, collection_id: int, include_deleted: bool = False) -> list[dict[str, Any]]:
        v = t.artifact_versions.c
        states = (COMMITTED, DELETED) if include_deleted else (COMMITTED,)
        with self.engine.connect() as conn:
            rows = conn.execute(
                _version_select().where(and_(v.collection_id == collection_id, v.state.in_(states)))
                .order_by(v.version_index.desc())
            ).all()
            return [self._finish(conn, dict(r._mapping)) for r in rows]

    def update(self, vid: int, fields: dict[str, Any], aliases: list[str] | None = None) -> None:
        allowed: dict[str, Any] = {k: fields[k] for k in ("description", "metadata", "tags", "ttl_seconds") if k in fields}
        allowed["updated_at"] = time.time()

        def tx(conn: Connection) -> None:
            target = conn.execute(
                select(t.artifact_versions.c.source_version_id).where(t.artifact_versions.c.id == vid)
            ).scalar()
            edit = vid if target is None else int(target)  # a link edits its source's metadata
            conn.execute(update(t.artifact_versions).where(t.artifact_versions.c.id == edit).values(**allowed))
            if aliases is not None:
                replace_aliases(conn, vid, aliases)

        write_transaction(self.engine, tx)

    def delete(self, vids: list[int], delete_aliases: bool = False) -> DeleteResult:
        """Delete versions; reports the bytes that no longer have any reference."""
        now = time.time()

        def tx(conn: Connection) -> list[tuple[str, int]]:
            return delete_versions(conn, vids, delete_aliases, now)

        gone = write_transaction(self.engine, tx)
        return DeleteResult(len(vids), sum(s for _, s in gone))

    def delete_logged_by(self, run_pk: int) -> DeleteResult:
        """Delete the versions a run logged (it made them; not ones it only used or re-logged
        unchanged), with their aliases and links, in one transaction."""
        v = t.artifact_versions.c
        now = time.time()

        def tx(conn: Connection) -> tuple[int, list[tuple[str, int]]]:
            vids = [int(x) for (x,) in conn.execute(select(v.id).where(and_(
                v.run_pk == run_pk, v.state != DELETED, v.source_version_id.is_(None))))]
            return len(vids), delete_versions(conn, vids, True, now)

        count, gone = write_transaction(self.engine, tx)
        return DeleteResult(count, sum(s for _, s in gone))

    def link(self, vid: int, entity: str, project: str, collection: str, aliases: list[str]) -> int:
        now = time.time()

        def tx(conn: Connection) -> int:
            pid = self._project_id(conn, entity, project, now)
            return link_version(conn, vid, pid, collection, aliases, now)

        return write_transaction(self.engine, tx)

    # -- collections, types, lineage ------------------------------------------------------

    def collections(self, entity: str | None, project: str | None, type_: str | None = None,
                    name: str | None = None) -> list[dict[str, Any]]:
        c, p, v = t.artifact_collections.c, t.projects.c, t.artifact_versions.c
        live = (
            select(func.count()).where(and_(v.collection_id == c.id, v.state == COMMITTED))
            .correlate(t.artifact_collections).scalar_subquery()
        )
        q = (
            select(t.artifact_collections, p.entity, p.name.label("project"), live.label("version_count"))
            .join(t.projects, p.id == c.project_id)
            .order_by(c.updated_at.desc(), c.name)
        )
        if entity is not None:
            q = q.where(p.entity == entity)
        if project is not None:
            q = q.where(p.name == project)
        if type_ is not None:
            q = q.where(c.type == type_)
        if name is not None:
            q = q.where(c.name == name)
        with self.engine.connect() as conn:
            out = []
            for r in conn.execute(q):
                row = dict(r._mapping)
                a = t.artifact_aliases.c
                row["aliases"] = sorted({x for (x,) in conn.execute(select(a.alias).where(a.collection_id == row["id"]))})
                out.append(row)
            return out

    def types(self, entity: str, project: str) -> list[str]:
        c, p = t.artifact_collections.c, t.projects.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(c.type).distinct().join(t.projects, p.id == c.project_id)
                .where(and_(p.entity == entity, p.name == project)).order_by(c.type)
            )
            return [r for (r,) in rows]

    def update_collection(self, coll: int, fields: dict[str, Any]) -> None:
        allowed: dict[str, Any] = {k: fields[k] for k in ("description", "tags", "name") if k in fields}
        allowed["updated_at"] = time.time()

        def tx(conn: Connection) -> None:
            conn.execute(update(t.artifact_collections).where(t.artifact_collections.c.id == coll).values(**allowed))

        write_transaction(self.engine, tx)

    def delete_collection(self, coll: int) -> DeleteResult:
        v = t.artifact_versions.c
        with self.engine.connect() as conn:
            vids = [int(x) for (x,) in conn.execute(select(v.id).where(and_(v.collection_id == coll, v.state != DELETED)))]
        res = self.delete(vids, delete_aliases=True)

        def tx(conn: Connection) -> None:
            conn.execute(delete(t.artifact_collections).where(t.artifact_collections.c.id == coll))

        write_transaction(self.engine, tx)
        return res

    def lineage(self, vid: int, direction: str) -> list[int]:
        """Run pks that logged (``output``), used (``input``) or linked a version (its links too)."""
        lin, v = t.artifact_lineage.c, t.artifact_versions.c
        with self.engine.connect() as conn:
            src = conn.execute(select(v.source_version_id).where(v.id == vid)).scalar()
            ids = [vid] if src is None else [vid, int(src)]
            rows = conn.execute(
                select(lin.run_pk).where(and_(lin.version_id.in_(ids), lin.direction == direction,
                                              lin.run_pk.is_not(None)))
                .order_by(lin.created_at)
            )
            return list(dict.fromkeys(int(r) for (r,) in rows))

    def run_artifacts(self, run_pk: int, direction: str) -> list[dict[str, Any]]:
        """Versions a run logged (``output``) or used (``input``), in the order it did."""
        lin, v = t.artifact_lineage.c, t.artifact_versions.c
        with self.engine.connect() as conn:
            vids = [int(x) for (x,) in conn.execute(
                select(lin.version_id).where(and_(lin.run_pk == run_pk, lin.direction == direction,
                                                  lin.version_id.is_not(None)))
                .order_by(lin.created_at, lin.client_id)
            )]
            out = []
            for vid in dict.fromkeys(vids):
                row = self._row(conn, and_(v.id == vid, v.state == COMMITTED))
                if row is not None:
                    out.append(row)
            return out

    def add_lineage(self, vid: int, run_pk: int, direction: str) -> None:
        """Record that a run used (``input``) or logged (``output``) a version, after the fact."""
        now = time.time()

        def tx(conn: Connection) -> None:
            lin = t.artifact_lineage.c
            seen = conn.execute(select(lin.client_id).where(and_(
                lin.version_id == vid, lin.run_pk == run_pk, lin.direction == direction))).first()
            if seen is None:
                _add_lineage(conn, uuid.uuid4().hex, vid, run_pk, direction, now)

        write_transaction(self.engine, tx)

    def graph(self, vid: int) -> dict[str, Any]:
        """One hop of lineage around a version: the runs that made and used it, and their artifacts."""
        lin = t.artifact_lineage.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(lin.run_pk, lin.direction).where(and_(lin.version_id == vid, lin.run_pk.is_not(None)))
            ).all()
            runs = {int(r.run_pk): r.direction for r in rows}
            edges: list[dict[str, Any]] = []
            for run_pk, direction in runs.items():
                other = conn.execute(
                    select(lin.version_id, lin.direction).where(
                        and_(lin.run_pk == run_pk, lin.version_id.is_not(None), lin.version_id != vid)
                    )
                ).all()
                edges.append({"run_pk": run_pk, "direction": direction,
                              "others": [{"version_id": int(o.version_id), "direction": o.direction} for o in other]})
            return {"version_id": vid, "runs": edges}

    # -- retention ------------------------------------------------------------------------

    def retention_candidates(self, coll: int, keep_last: int) -> list[dict[str, Any]]:
        """Versions beyond the newest ``keep_last`` that carry no custom alias (those are kept)."""
        versions = self.versions(coll)
        out = []
        for row in versions[keep_last:]:
            if any(a != "latest" for a in row["aliases"]):
                continue
            out.append(row)
        return out

    def expired(self, now: float | None = None) -> list[int]:
        """Committed versions whose TTL has run out."""
        v = t.artifact_versions.c
        now = time.time() if now is None else now
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(v.id).where(and_(
                    v.state == COMMITTED, v.ttl_seconds.is_not(None), v.source_version_id.is_(None),
                    or_(v.committed_at + v.ttl_seconds < now, and_(v.committed_at.is_(None), v.created_at + v.ttl_seconds < now)),
                ))
            )
            return [int(r) for (r,) in rows]

    def referenced(self) -> set[str]:
        with self.engine.connect() as conn:
            return referenced_sha256(conn)
