"""Artifact endpoints under ``/api/v1`` (the UI's collections, versions, files, lineage, registry).

* ``GET /projects/{e}/{p}/artifacts[?type=T]``: the project's collections and types.
* ``GET /projects/{e}/{p}/artifacts/{name}``: a collection and its versions (newest first).
* ``GET /projects/{e}/{p}/artifacts/{name}/{version}``: one version (``vN`` or an alias):
  metadata, aliases, the runs that logged and used it, its links, and its files
  (``offset``/``limit``; at most 10,000 per page).
* ``GET .../{version}/manifest``: W&B's ``wandb_manifest.json``.
* ``GET .../{version}/files/{path}``: a stored file (``?download=1``: as an attachment);
  ``?preview=1`` answers ``{kind, text, truncated}`` for text files.
* ``GET .../{version}/lineage[?depth=N]``: runs and artifacts around the version.
* ``GET /projects/{e}/{p}/runs/{id}/artifacts``: the versions a run logged and used.
* ``GET /registry``: registered models (portfolios in ``model-registry`` and
  ``wandb-registry-*`` projects) with their linked versions and aliases.

Files are served only from the blob store, by the sha256 the manifest lists for an exact
entry name: no path from a request ever reaches the filesystem, and references (which
may point at the server's own files, ``file://``) are listed but never fetched.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from trackline.server.errors import ApiError, bad_param, not_found
from trackline.server.responses import JSON
from trackline.storage.sql.artifacts import ArtifactDB
from trackline.storage.sql.store import SQLStore

MAX_FILES_PAGE = 10_000
PREVIEW_BYTES = 64 * 1024
TEXT_TYPES = (".txt", ".md", ".json", ".csv", ".tsv", ".yaml", ".yml", ".py", ".toml", ".cfg", ".ini", ".log",
              ".xml", ".sh", ".patch", ".diff", ".js", ".ts", ".html", ".ipynb", ".jsonl", ".rst", ".r")
INLINE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                ".bmp": "image/bmp", ".webp": "image/webp"}


def _store(request: Request) -> SQLStore:
    store: SQLStore = request.app.state.store
    return store


def _db(request: Request) -> ArtifactDB:
    store = _store(request)
    return ArtifactDB(store.engine, store.project_id)


def _int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_param(name, raw, f"a whole number from {lo} to {hi}")
    if not lo <= value <= hi:
        raise bad_param(name, raw, f"a whole number from {lo} to {hi}")
    return value


def _runs(store: SQLStore, pks: list[int]) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from trackline.storage.sql import schema as t

    if not pks:
        return []
    q = (
        select(t.runs.c.pk, t.runs.c.run_id, t.runs.c.name, t.runs.c.state, t.projects.c.entity,
               t.projects.c.name.label("project"))
        .join(t.projects, t.projects.c.id == t.runs.c.project_id)
        .where(t.runs.c.pk.in_(pks))
    )
    with store.engine.connect() as conn:
        by_pk = {int(r.pk): {"pk": int(r.pk), "run_id": r.run_id, "name": r.name, "state": r.state,
                             "entity": r.entity, "project": r.project} for r in conn.execute(q)}
    return [by_pk[p] for p in pks if p in by_pk]


def _collection_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": row["name"], "type": row["type"], "entity": row["entity"], "project": row["project"],
        "is_portfolio": bool(row["is_portfolio"]), "version_count": int(row.get("version_count") or 0),
        "aliases": row.get("aliases") or [], "description": row.get("description"), "tags": row.get("tags") or [],
        "created_at": row["created_at"], "updated_at": row["updated_at"],
    }


def _version_json(store: SQLStore, row: dict[str, Any], runs: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row["artifact_id"], "name": f"{row['collection']}:v{row['version_index']}",
        "collection": row["collection"], "version": f"v{row['version_index']}", "type": row["type"],
        "entity": row["entity"], "project": row["project"], "aliases": row.get("aliases") or [],
        "tags": row.get("tags") or [], "digest": row.get("digest"), "size": row.get("size"),
        "file_count": row.get("file_count"), "created_at": row["created_at"],
        "description": row.get("description"), "metadata": row.get("metadata") or {},
        "ttl_seconds": row.get("ttl_seconds"), "is_link": row.get("source_version_id") is not None,
        "source": None,
    }
    src = row.get("source")
    if src is not None:
        out["source"] = {"entity": src["entity"], "project": src["project"], "name": src["collection"],
                         "version": f"v{src['version_index']}"}
    if runs:
        pk = row.get("run_pk")
        logged = _runs(store, [int(pk)] if pk is not None else [])
        out["logged_by"] = logged[0] if logged else None
    return out


def _version_row(request: Request) -> dict[str, Any]:
    p = request.path_params
    row = _db(request).resolve(p["entity"], p["project"], p["name"], p["version"])
    if row is None:
        raise not_found(f"artifact {p['entity']}/{p['project']}/{p['name']}:{p['version']}")
    return row


def list_collections(request: Request) -> Response:
    p = request.path_params
    db = _db(request)
    rows = db.collections(p["entity"], p["project"], request.query_params.get("type") or None)
    return JSON({"collections": [_collection_json(r) for r in rows], "types": db.types(p["entity"], p["project"])})


def get_collection(request: Request) -> Response:
    p = request.path_params
    db = _db(request)
    found = db.collections(p["entity"], p["project"], name=p["name"])
    if not found:
        raise not_found(f"artifact collection {p['entity']}/{p['project']}/{p['name']}")
    store = _store(request)
    versions = [_version_json(store, r, runs=True) for r in db.versions(int(found[0]["id"]))]
    return JSON({"collection": _collection_json(found[0]), "versions": versions})


def get_version(request: Request) -> Response:
    store = _store(request)
    db = _db(request)
    row = _version_row(request)
    vid = int(row["id"])
    out = _version_json(store, row, runs=True)
    out["used_by"] = _runs(store, db.lineage(vid, "input"))
    src_id = int(row.get("source_version_id") or vid)
    links = []
    for link in _links(store, db, src_id):
        links.append({"entity": link["entity"], "project": link["project"], "name": link["collection"],
                      "version": f"v{link['version_index']}", "aliases": link.get("aliases") or []})
    out["links"] = links
    offset = _int(request, "offset", 0, 0, 10**9)
    limit = _int(request, "limit", MAX_FILES_PAGE, 1, MAX_FILES_PAGE)
    entries = db.entries(vid)
    out["files_total"] = len(entries)
    out["files"] = [{"path": e["path"], "size": e["size"], "digest": e["digest"], "ref": e["ref"],
                     "stored": e["sha256"] is not None} for e in entries[offset : offset + limit]]
    return JSON(out)


def _links(store: SQLStore, db: ArtifactDB, vid: int) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from trackline.storage.sql import schema as t

    with store.engine.connect() as conn:
        ids = [int(x) for (x,) in conn.execute(
            select(t.artifact_versions.c.id).where(t.artifact_versions.c.source_version_id == vid))]
    return [r for r in (db.version(i) for i in ids) if r is not None]


def get_manifest(request: Request) -> Response:
    row = _version_row(request)
    contents: dict[str, Any] = {}
    for e in _db(request).entries(int(row["id"])):
        entry: dict[str, Any] = {"digest": e["digest"]}
        if e["birth_artifact_id"]:
            entry["birthArtifactID"] = e["birth_artifact_id"]
        if e["ref"]:
            entry["ref"] = e["ref"]
        if e["extra"]:
            entry["extra"] = e["extra"]
        if e["size"] is not None:
            entry["size"] = e["size"]
        contents[e["path"]] = entry
    return JSON({"version": 1, "storagePolicy": "wandb-storage-policy-v1",
                 "storagePolicyConfig": {"storageLayout": "V2"}, "contents": contents})


def get_file(request: Request) -> Response:
    row = _version_row(request)
    rel = request.path_params["path"]
    entry = next((e for e in _db(request).entries(int(row["id"])) if e["path"] == rel), None)
    if entry is None:
        raise not_found(f"file {rel!r} in artifact {row['collection']}:v{row['version_index']}")
    if entry["sha256"] is None:
        raise ApiError(404, f"{rel!r} is a reference to {entry['ref']}; it is tracked, not stored: fetch it there")
    blobs = _store(request).blobs
    if blobs is None or not blobs.exists(entry["sha256"]):
        raise ApiError(404, f"the content of {rel!r} is missing from the blob store (deleted by gc?)")
    ext = "." + rel.rsplit(".", 1)[-1].lower() if "." in rel else ""
    if request.query_params.get("preview"):
        return JSON(_preview(blobs, entry, ext))
    name = rel.rsplit("/", 1)[-1]
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox",
               "Cache-Control": "private, max-age=31536000, immutable", "ETag": f'"{entry["sha256"]}"'}
    if request.query_params.get("download"):
        media_type = "application/octet-stream"
    elif ext in INLINE_TYPES:
        media_type = INLINE_TYPES[ext]
    elif ext in TEXT_TYPES:
        media_type = "text/plain; charset=utf-8"  # HTML too: shown as text, never run
    else:
        media_type = "application/octet-stream"
    if media_type == "application/octet-stream":
        headers["Content-Disposition"] = f"attachment; filename*=utf-8''{quote(name)}"
    fh = blobs.open(entry["sha256"])

    def chunks() -> Iterator[bytes]:
        with fh:
            while chunk := fh.read(1 << 20):
                yield chunk

    return StreamingResponse(chunks(), media_type=media_type, headers=headers)


def _preview(blobs: Any, entry: dict[str, Any], ext: str) -> dict[str, Any]:
    if ext in INLINE_TYPES:
        return {"kind": "image", "text": None, "truncated": False}
    with blobs.open(entry["sha256"]) as f:
        head = f.read(PREVIEW_BYTES + 1)
    truncated = len(head) > PREVIEW_BYTES
    head = head[:PREVIEW_BYTES]
    if b"\x00" in head[:4096] and ext not in TEXT_TYPES:
        return {"kind": "binary", "text": None, "truncated": False,
                "mimetype": mimetypes.guess_type("x" + ext)[0] or "application/octet-stream"}
    return {"kind": "text", "text": head.decode("utf-8", errors="replace"), "truncated": truncated}


def get_lineage(request: Request) -> Response:
    """Runs and artifacts within ``depth`` hops of a version (at most 200 nodes)."""
    store = _store(request)
    db = _db(request)
    row = _version_row(request)
    depth = _int(request, "depth", 2, 1, 6)
    start = int(row.get("source_version_id") or row["id"])
    nodes: dict[str, dict[str, Any]] = {}
    edges: set[tuple[str, str, str]] = set()
    frontier = [("artifact", start)]
    seen_versions = {start}
    seen_runs: set[int] = set()

    def add_version(vid: int) -> str:
        key = f"artifact:{vid}"
        if key not in nodes:
            v = db.version(vid)
            if v is not None:
                nodes[key] = {"id": key, "kind": "artifact", "label": f"{v['collection']}:v{v['version_index']}",
                              "type": v["type"], "entity": v["entity"], "project": v["project"],
                              "collection": v["collection"], "version": f"v{v['version_index']}"}
        return key

    add_version(start)
    for _ in range(depth):
        nxt: list[tuple[str, int]] = []
        for kind, ident in frontier:
            if len(nodes) >= 200:
                break
            if kind == "artifact":
                for direction in ("output", "input"):
                    for pk in db.lineage(ident, direction):
                        run_key = f"run:{pk}"
                        edges.add((run_key, f"artifact:{ident}", "output") if direction == "output"
                                  else (f"artifact:{ident}", run_key, "input"))
                        if pk not in seen_runs:
                            seen_runs.add(pk)
                            nxt.append(("run", pk))
            else:
                for direction in ("output", "input"):
                    for v in db.run_artifacts(ident, direction):
                        vid = int(v["id"])
                        art_key = add_version(vid)
                        edges.add((f"run:{ident}", art_key, "output") if direction == "output"
                                  else (art_key, f"run:{ident}", "input"))
                        if vid not in seen_versions:
                            seen_versions.add(vid)
                            nxt.append(("artifact", vid))
        frontier = nxt
    for r in _runs(store, sorted(seen_runs)):
        nodes[f"run:{r['pk']}"] = {"id": f"run:{r['pk']}", "kind": "run", "label": r["name"] or r["run_id"], **r}
    kept = [e for e in sorted(edges) if e[0] in nodes and e[1] in nodes]
    return JSON({"focus": f"artifact:{start}", "nodes": list(nodes.values()),
                 "edges": [{"from": a, "to": b, "kind": k} for a, b, k in kept]})


def run_artifacts(request: Request) -> Response:
    """The versions a run logged and used (W&B: ``run.logged_artifacts()`` / ``used_artifacts()``)."""
    from trackline.storage.base import RunKey

    p = request.path_params
    store = _store(request)
    row = store.get_run(RunKey(p["entity"], p["project"], p["run_id"]))
    if row is None:
        raise not_found(f"run {p['entity']}/{p['project']}/{p['run_id']}")
    db = _db(request)
    return JSON({d: [_version_json(store, v) for v in db.run_artifacts(int(row["pk"]), direction)]
                 for d, direction in (("logged", "output"), ("used", "input"))})


def registry(request: Request) -> Response:
    from sqlalchemy import or_, select

    from trackline.storage.sql import schema as t

    store = _store(request)
    db = _db(request)
    c, p = t.artifact_collections.c, t.projects.c
    with store.engine.connect() as conn:
        projects = conn.execute(
            select(p.entity, p.name).distinct().join(t.artifact_collections, c.project_id == p.id)
            .where(c.is_portfolio.is_(True))
            .where(or_(p.name == "model-registry", p.name.like("wandb-registry-%")))
        ).all()
    models = []
    for entity, project in projects:
        for coll in db.collections(entity, project):
            if not coll["is_portfolio"]:
                continue
            versions = [_version_json(store, v) for v in db.versions(int(coll["id"]))]
            models.append({**_collection_json(coll), "versions": versions})
    return JSON({"models": models})


_A = "/projects/{entity}/{project}/artifacts"
_V = _A + "/{name}/{version}"

routes = [
    Route(_A, list_collections),
    Route(_A + "/{name}", get_collection),
    Route(_V, get_version),
    Route(_V + "/manifest", get_manifest),
    Route(_V + "/files/{path:path}", get_file),
    Route(_V + "/lineage", get_lineage),
    Route("/projects/{entity}/{project}/runs/{run_id}/artifacts", run_artifacts),
    Route("/registry", registry),
]


def _param(name: str, where: str = "path", desc: str = "", required: bool = True, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "description": desc, "schema": {"type": kind}}


def _ok(desc: str) -> dict[str, Any]:
    return {"200": {"description": desc}, "404": {"description": "no such project, artifact, version or file"}}


_COLL = [_param("entity"), _param("project"), _param("name", desc="the collection (artifact name)")]
_VER = [*_COLL, _param("version", desc="vN or an alias (latest, best, ...)")]
OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1" + _A: {"get": {
        "summary": "A project's artifact collections and types",
        "parameters": [_param("entity"), _param("project"),
                       _param("type", "query", "only collections of this type", False)],
        "responses": _ok("{collections: [{name, type, is_portfolio, version_count, aliases, ...}], types}"),
    }},
    "/api/v1" + _A + "/{name}": {"get": {
        "summary": "A collection and its versions, newest first",
        "parameters": _COLL, "responses": _ok("{collection, versions: [{version, aliases, size, logged_by, ...}]}"),
    }},
    "/api/v1" + _V: {"get": {
        "summary": "One version: metadata, aliases, lineage, links and a page of its files",
        "parameters": [*_VER, _param("offset", "query", "first file of the page", False, "integer"),
                       _param("limit", "query", f"files in the page (1..{MAX_FILES_PAGE})", False, "integer")],
        "responses": _ok("{name, version, digest, size, metadata, logged_by, used_by, links, files, files_total}"),
    }},
    "/api/v1" + _V + "/manifest": {"get": {
        "summary": "The version's W&B manifest (wandb_manifest.json, version 1)",
        "parameters": _VER, "responses": _ok("{version: 1, storagePolicy, storagePolicyConfig, contents}"),
    }},
    "/api/v1" + _V + "/files/{path}": {"get": {
        "summary": "One stored file of the version (exact entry name; references are never fetched)",
        "parameters": [*_VER, _param("path", desc="the entry name"),
                       _param("download", "query", "1: as an attachment", False),
                       _param("preview", "query", "1: {kind, text, truncated} instead of the bytes", False)],
        "responses": _ok("the file"),
    }},
    "/api/v1" + _V + "/lineage": {"get": {
        "summary": "Runs and artifacts around the version (producers left, consumers right)",
        "parameters": [*_VER, _param("depth", "query", "hops (1..6, default 2)", False, "integer")],
        "responses": _ok("{focus, nodes: [{id, kind, label, ...}], edges: [{from, to, kind}]}"),
    }},
    "/api/v1/projects/{entity}/{project}/runs/{run_id}/artifacts": {"get": {
        "summary": "The artifact versions a run logged and used",
        "parameters": [_param("entity"), _param("project"), _param("run_id")],
        "responses": _ok("{logged: [...], used: [...]}"),
    }},
    "/api/v1/registry": {"get": {
        "summary": "Registered models: portfolios in model-registry and wandb-registry-* projects",
        "responses": _ok("{models: [{name, entity, project, versions: [{version, aliases, source}]}]}"),
    }},
}
