"""Media endpoints: which keys of a run hold media, their values per step, the files, tables.

* ``GET {run}/media``: the run's media keys and their types (from the summary, which holds
  the last value of every key, plus ``plot.*`` charts from the config).
* ``GET {run}/media/steps?key=K``: ``[{step, value}]`` for one key (images, histograms...).
* ``GET {run}/media/file/{path}``: one media file, with its content type, an ETag (its
  sha256) and ``Cache-Control: immutable`` (media names contain their hash, so a name
  never changes content). HTML is served with a ``sandbox`` CSP: it runs in an opaque
  origin and cannot reach the app.
* ``GET {run}/media/table?key=K[&step=S]&offset&limit&sort&desc&q``: one page of a logged
  table (every increment of an incremental one), sorted and filtered on the server, so a
  million-row table stays responsive in the browser.
"""

from __future__ import annotations

import json
import mimetypes
import threading
from collections import OrderedDict
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from trackline.server.errors import ApiError, bad_param, not_found
from trackline.server.responses import JSON
from trackline.storage.base import RunKey
from trackline.storage.sql.store import SQLStore

_R = "/projects/{entity}/{project}/runs/{run_id}"
MAX_PAGE = 1000
MEDIA_KINDS = frozenset(
    {
        "image-file", "images/separated", "audio-file", "audio", "video-file", "videos", "html-file", "html",
        "object3D-file", "object3D", "plotly-file", "table-file", "incremental-table-file", "histogram",
    }
)
CONTENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".bmp": "image/bmp",
    ".gif": "image/gif",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".flac": "audio/flac",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".parquet": "application/vnd.apache.parquet",
    ".glb": "model/gltf-binary",
    ".gltf": "model/gltf+json",
    ".obj": "model/obj",
    ".stl": "model/stl",
}
HTML_CSP = "sandbox allow-scripts allow-popups; default-src 'none'; img-src data: blob:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
IMMUTABLE = "public, max-age=31536000, immutable"


def _store(request: Request) -> SQLStore:
    store: SQLStore = request.app.state.store
    return store


def _run(request: Request) -> dict[str, Any]:
    p = request.path_params
    row = _store(request).get_run(RunKey(p["entity"], p["project"], p["run_id"]))
    if row is None:
        raise not_found(f"run {p['entity']}/{p['project']}/{p['run_id']}")
    return row


def content_type(path: str) -> str:
    name = path.rsplit("/", 1)[-1].lower()
    for ext, kind in CONTENT_TYPES.items():
        if name.endswith(ext):
            return kind
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def media_keys(summary: dict[str, Any], config: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{key, type}]`` for every media value in the summary (nested keys dotted) and every chart."""
    out: list[dict[str, Any]] = []

    def walk(node: dict[str, Any], prefix: str, depth: int) -> None:
        for k, v in node.items():
            if not isinstance(v, dict) or depth > 32:
                continue
            name = prefix + k.replace(".", "\\.")
            kind = v.get("_type")
            if kind in MEDIA_KINDS:
                out.append({"key": name, "type": kind})
            elif kind is None:
                walk(v, name + ".", depth + 1)

    walk(summary, "", 0)
    visualize = ((config.get("_wandb") or {}).get("visualize") or {}) if isinstance(config, dict) else {}
    for key, panel in visualize.items():
        cfg = (panel or {}).get("panel_config") or {}
        table_key = _chart_table_key(cfg) or f"{key}_table"
        out.append({
            "key": key, "type": "chart", "spec": cfg.get("panelDefId"), "fields": cfg.get("fieldSettings") or {},
            "strings": cfg.get("stringSettings") or {}, "table_key": table_key,
        })
    return sorted(out, key=lambda e: e["key"])


def _chart_table_key(cfg: dict[str, Any]) -> str | None:
    try:
        for field in cfg["userQuery"]["queryFields"][0]["fields"]:
            if field.get("name") == "summaryTable":
                return str(field["args"][0]["value"])
    except (KeyError, IndexError, TypeError):
        return None
    return None


async def list_media(request: Request) -> Response:
    row = await run_in_threadpool(_run, request)
    return JSON({"keys": media_keys(row.get("summary") or {}, row.get("config") or {})})


def _steps(store: SQLStore, row: dict[str, Any], key: str, lo: int | None, hi: int | None) -> list[dict[str, Any]]:
    pairs = store.value_history(int(row["pk"]), [key], min_step=lo, max_step=hi).get(key, [])
    return [{"step": s, "value": v} for s, v in pairs if isinstance(v, dict) and v.get("_type") in MEDIA_KINDS]


def _opt_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise bad_param(name, raw, "a whole number")


async def media_steps(request: Request) -> Response:
    key = request.query_params.get("key")
    if not key:
        raise ApiError(400, "parameter 'key' is required: the media key, e.g. ?key=samples")
    lo, hi = _opt_int(request, "min_step"), _opt_int(request, "max_step")
    row = await run_in_threadpool(_run, request)
    steps = await run_in_threadpool(_steps, _store(request), row, key, lo, hi)
    return JSON({"key": key, "steps": steps})


def _blob_for(store: SQLStore, row: dict[str, Any], rel: str) -> tuple[str, str] | None:
    """``(local blob path, sha256)`` of a stored run file."""
    blobs = store.blobs
    if blobs is None:
        return None
    for f in store.run_files(int(row["pk"])):
        if f["path"] == rel and blobs.exists(f["sha256"]):
            return blobs.path(f["sha256"]), str(f["sha256"])
    return None


def _folder_file(row: dict[str, Any], rel: str) -> str:
    from trackline.server.files import resolve_folder_file

    return resolve_folder_file(row, rel)


async def media_file(request: Request) -> Response:
    rel = request.path_params["path"]
    if not rel.startswith("media/"):
        raise ApiError(404, f"{rel!r} is not a media file (media paths start with 'media/')")
    row = await run_in_threadpool(_run, request)
    found = await run_in_threadpool(_blob_for, _store(request), row, rel)
    if found is not None:
        path, sha = found
        etag = f'"{sha}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag, "Cache-Control": IMMUTABLE})
    else:
        path = await run_in_threadpool(_folder_file, row, rel)
        etag = None
    kind = content_type(rel)
    headers = {"Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff"}
    if etag:
        headers["ETag"] = etag
    if kind.startswith("text/html"):
        headers["Content-Security-Policy"] = HTML_CSP
    return FileResponse(path, media_type=kind, headers=headers)


# -- tables --------------------------------------------------------------------------------

_cache: OrderedDict[tuple[str, ...], Any] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_ITEMS = 8


def _cached(key: tuple[str, ...], make: Any) -> Any:
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = make()
    with _cache_lock:
        _cache[key] = value
        while len(_cache) > _CACHE_ITEMS:
            _cache.popitem(last=False)
    return value


def _table_ref(store: SQLStore, row: dict[str, Any], key: str, step: int | None) -> dict[str, Any]:
    if step is None:
        node: Any = row.get("summary") or {}
        from trackline.runstate.flatten import split_name

        for part in split_name(key):
            node = node.get(part) if isinstance(node, dict) else None
        ref = node
    else:
        pairs = store.value_history(int(row["pk"]), [key], min_step=step, max_step=step).get(key, [])
        ref = pairs[-1][1] if pairs else None
    if not isinstance(ref, dict) or ref.get("_type") not in ("table-file", "incremental-table-file"):
        where = "in the summary" if step is None else f"at step {step}"
        raise not_found(f"table {key!r} {where}")
    return ref


def _load_table(store: SQLStore, row: dict[str, Any], ref: dict[str, Any]) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = [*list(ref.get("previous_increments_paths") or []), ref["path"]]
    parts = []
    for rel in paths:
        found = _blob_for(store, row, rel)
        source = found[0] if found is not None else _folder_file(row, rel)
        parts.append(pq.read_table(source))
    meta_raw = (parts[0].schema.metadata or {}).get(b"trackline")
    meta = json.loads(meta_raw) if meta_raw else {}
    table = pa.concat_tables([p.replace_schema_metadata(None) for p in parts]) if len(parts) > 1 else parts[0]
    return table.replace_schema_metadata(None), meta


def _filtered_sorted(table: Any, q: str | None, sort: str | None, desc: bool) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if q:
        mask = None
        for name in table.column_names:
            col = table.column(name)
            if pa.types.is_null(col.type):
                continue
            try:
                text = col if pa.types.is_string(col.type) or pa.types.is_large_string(col.type) else pc.cast(col, pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
            hit = pc.fill_null(pc.match_substring(text, q, ignore_case=True), False)
            mask = hit if mask is None else pc.or_(mask, hit)
        table = table.filter(mask) if mask is not None else table.slice(0, 0)
    if sort:
        if sort not in table.column_names:
            raise bad_param("sort", sort, f"a column of this table ({', '.join(table.column_names)})")
        table = table.sort_by([(sort, "descending" if desc else "ascending")])
    return table


def _table_page(store: SQLStore, row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    ref = _table_ref(store, row, params["key"], params["step"])
    shas = (str(ref.get("sha256")), *[str(p) for p in ref.get("previous_increments_paths") or []])
    table, meta = _cached(("t", str(row["pk"]), *shas), lambda: _load_table(store, row, ref))
    view = _cached(
        ("v", str(row["pk"]), *shas, params["q"] or "", params["sort"] or "", str(params["desc"])),
        lambda: _filtered_sorted(table, params["q"], params["sort"], params["desc"]),
    )
    page = view.slice(params["offset"], params["limit"])
    json_cols = set(meta.get("json_columns") or [])
    names = page.column_names
    cols = [page.column(n).to_pylist() for n in names]
    for i, n in enumerate(names):
        if n in json_cols:
            cols[i] = [json.loads(v) if isinstance(v, str) else v for v in cols[i]]
    rows = [list(r) for r in zip(*cols, strict=True)] if cols else []
    types = meta.get("column_types") or {}
    return {
        "key": params["key"],
        "columns": meta.get("columns") or names,
        "column_types": [types.get(n, "unknown") for n in names],
        "total": table.num_rows,
        "matched": view.num_rows,
        "offset": params["offset"],
        "rows": rows,
        "ref": ref,
    }


async def media_table(request: Request) -> Response:
    qp = request.query_params
    key = qp.get("key")
    if not key:
        raise ApiError(400, "parameter 'key' is required: the table's key, e.g. ?key=predictions")
    offset = _opt_int(request, "offset") or 0
    limit = _opt_int(request, "limit")
    limit = 100 if limit is None else limit
    if offset < 0:
        raise bad_param("offset", offset, "a whole number >= 0")
    if not 1 <= limit <= MAX_PAGE:
        raise bad_param("limit", limit, f"a whole number from 1 to {MAX_PAGE}")
    desc_raw = (qp.get("desc") or "false").lower()
    params = {
        "key": key,
        "step": _opt_int(request, "step"),
        "offset": offset,
        "limit": limit,
        "sort": qp.get("sort") or None,
        "desc": desc_raw in ("1", "true", "yes"),
        "q": qp.get("q") or None,
    }
    row = await run_in_threadpool(_run, request)
    result = await run_in_threadpool(_table_page, _store(request), row, params)
    return JSON(result)


routes = [
    Route(_R + "/media", list_media),
    Route(_R + "/media/steps", media_steps),
    Route(_R + "/media/table", media_table),
    Route(_R + "/media/file/{path:path}", media_file, methods=["GET", "HEAD"]),
]

# OpenAPI entries for these routes, ready to merge into ``openapi.spec()["paths"]``.
_RUN_PARAMS = [
    {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in ("entity", "project", "run_id")
]


def _query(name: str, kind: str, description: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": {"type": kind}, "description": description}


def _answer(description: str) -> dict[str, Any]:
    return {"200": {"description": description, "content": {"application/json": {"schema": {"type": "object"}}}}}


OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1" + _R + "/media": {"get": {
        "summary": "The run's media keys and their types (images, tables, histograms, charts...)",
        "parameters": _RUN_PARAMS, "responses": _answer("{keys: [{key, type, ...}]}"),
    }},
    "/api/v1" + _R + "/media/steps": {"get": {
        "summary": "The JSON references logged under one media key, per step",
        "parameters": [*_RUN_PARAMS, _query("key", "string", "the media key", True),
                       _query("min_step", "integer", "first step"), _query("max_step", "integer", "last step")],
        "responses": _answer("{key, steps: [{step, value}]}"),
    }},
    "/api/v1" + _R + "/media/table": {"get": {
        "summary": "One page of a logged table, filtered and sorted on the server",
        "parameters": [*_RUN_PARAMS, _query("key", "string", "the table's key", True),
                       _query("step", "integer", "the step (default: the latest, from the summary)"),
                       _query("offset", "integer", "first row of the page"),
                       _query("limit", "integer", f"rows in the page (1..{MAX_PAGE}, default 100)"),
                       _query("sort", "string", "column to sort by"), _query("desc", "boolean", "sort descending"),
                       _query("q", "string", "keep rows where some cell contains this text (case-insensitive)")],
        "responses": _answer("{columns, column_types, total, matched, offset, rows, ref}"),
    }},
    "/api/v1" + _R + "/media/file/{path}": {"get": {
        "summary": "One media file, with its content type, ETag and immutable caching (HTML sandboxed by CSP)",
        "parameters": [*_RUN_PARAMS, {"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "the file"}},
    }},
}
