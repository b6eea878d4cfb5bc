"""REST endpoints under ``/api/v1``; each answers JSON (errors too: see ``errors.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from trackline.server import files, queries, runs, serialize
from trackline.server import series_query as sq
from trackline.server.errors import ApiError, bad_param, not_found
from trackline.server.openapi import spec
from trackline.server.responses import JSON
from trackline.storage.base import RunKey
from trackline.storage.sql.store import SQLStore

MAX_LOG_LINES = 100_000


def _store(request: Request) -> SQLStore:
    store: SQLStore = request.app.state.store
    return store


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_param(name, raw, f"a whole number from {lo} to {hi}")
    if not lo <= value <= hi:
        raise bad_param(name, raw, f"a whole number from {lo} to {hi}")
    return value


def _project(request: Request) -> tuple[str, str]:
    return request.path_params["entity"], request.path_params["project"]


def _run_row(request: Request) -> dict[str, Any]:
    entity, project = _project(request)
    run_id = request.path_params["run_id"]
    row = _store(request).get_run(RunKey(entity, project, run_id))
    if row is None:
        raise not_found(f"run {entity}/{project}/{run_id}")
    return row


async def _json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body:
        return {}
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"the request body is not valid JSON ({exc.msg} at {exc.pos})")
    if not isinstance(data, dict):
        raise ApiError(400, f"the request body must be a JSON object, got {type(data).__name__}")
    return data


# -- endpoints -------------------------------------------------------------------------------


def health(request: Request) -> Response:
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("trackline")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        v = "unknown"
    return JSON({"ok": True, "version": v, "ui": request.app.state.ui_built})


def openapi(request: Request) -> Response:
    return JSON(spec())


def list_projects(request: Request) -> Response:
    entity = request.query_params.get("entity") or None
    out = [
        {
            "entity": p["entity"],
            "name": p["name"],
            "run_count": p["run_count"],
            "created_at": p["created_at"],
            "url": f"/{p['entity']}/{p['name']}",
        }
        for p in _store(request).list_projects(entity)
    ]
    return JSON({"projects": out})


def get_project(request: Request) -> Response:
    entity, project = _project(request)
    p = queries.project_row(_store(request), entity, project)
    if p is None:
        raise not_found(f"project {entity}/{project}")
    return JSON({"entity": entity, "name": project, "run_count": p["run_count"],
                 "created_at": p["created_at"], "url": f"/{entity}/{project}"})


def project_keys(request: Request) -> Response:
    entity, project = _project(request)
    store = _store(request)
    if queries.project_row(store, entity, project) is None:
        raise not_found(f"project {entity}/{project}")
    keys, system = queries.project_keys(store, entity, project)
    defs = queries.resolve_defs(keys, queries.project_metric_defs(store, entity, project))
    out = []
    for name in sorted(keys):
        d = defs.get(name, {})
        out.append({
            "name": name,
            "runs": keys[name],
            "step_metric": d.get("step_metric"),
            "hidden": bool(d.get("hidden")),
            "goal": d.get("goal"),
        })
    return JSON({
        "keys": out,
        "system_keys": [{"name": n, "runs": system[n]} for n in sorted(system)],
    })


def list_runs(request: Request) -> Response:
    entity, project = _project(request)
    store = _store(request)
    q = request.query_params
    filters = runs.with_search(runs.parse_filters(q.get("filters")), q.get("search"))
    order = q.get("order") or "-created_at"
    per_page = _int_param(request, "per_page", 50, 1, runs.MAX_PER_PAGE)
    if queries.project_row(store, entity, project) is None:
        raise not_found(f"project {entity}/{project}")
    rows, total, nxt = runs.list_runs(
        store, entity, project, filters=filters, order=order, cursor=q.get("cursor") or None,
        per_page=per_page,
    )
    return JSON({
        "runs": [serialize.run_json(r) for r in rows],
        "total": total,
        "order": order,
        "next_cursor": nxt,
    })


def get_run(request: Request) -> Response:
    return JSON(_detail(_store(request), _run_row(request)))


def _detail(store: SQLStore, row: dict[str, Any]) -> dict[str, Any]:
    out = serialize.run_json(row, detail=True)
    pk = int(row["pk"])
    out["keys"] = queries.run_numeric_keys(store, pk)
    out["system_keys"] = store.system_keys(pk)
    out["alerts"] = [
        {k: a.get(k) for k in ("ts", "title", "text", "level")} for a in store.alerts(pk)
    ]
    out["files"] = files.list_files(store, row)
    out["has_run_dir"] = files.run_dir(row) is not None
    return out


_EDITABLE = {"name": str, "notes": str, "group": str, "job_type": str}


async def patch_run(request: Request) -> Response:
    if "application/json" not in request.headers.get("content-type", ""):
        raise ApiError(415, "send the changes as JSON (Content-Type: application/json)", "unsupported_media_type")
    data = await _json_body(request)
    unknown = sorted(set(data) - {*_EDITABLE, "tags"})
    if unknown:
        raise ApiError(400, f"cannot edit {', '.join(map(repr, unknown))}: only name, notes, tags, group and job_type can be edited")
    fields: dict[str, Any] = {}
    for name, typ in _EDITABLE.items():
        if name in data:
            value = data[name]
            if value is not None and not isinstance(value, typ):
                raise ApiError(400, f"'{name}' must be text or null, got {type(value).__name__}")
            if name == "name" and not (value or "").strip():
                raise ApiError(400, "'name' cannot be empty")
            fields[name] = value.strip() if name == "name" and value is not None else value
    if "tags" in data:
        tags = data["tags"]
        if not isinstance(tags, list) or not all(isinstance(x, str) and x.strip() for x in tags):
            raise ApiError(400, f"'tags' must be a list of non-empty strings, got {tags!r}")
        fields["tags"] = list(dict.fromkeys(x.strip() for x in tags))
    row = await run_in_threadpool(_run_row, request)
    store = _store(request)
    if fields:
        await run_in_threadpool(store.set_run_fields, int(row["pk"]), fields)
        row = await run_in_threadpool(_run_row, request)
    return JSON(await run_in_threadpool(_detail, store, row))


def run_logs(request: Request) -> Response:
    row = _run_row(request)
    search = request.query_params.get("search") or None
    limit = _int_param(request, "limit", 10_000, 1, MAX_LOG_LINES)
    lines = [
        {"ts": r["ts"], "source": r["source"], "text": r["text"]}
        for r in _store(request).logs(int(row["pk"]), search=search)
    ]
    source: str | None = "store" if lines or not search else None
    if not lines:
        file_lines = files.output_log_lines(row)
        if file_lines is not None:
            source = "file"
            lines = [{"ts": None, "source": "stdout", "text": t} for t in file_lines
                     if search is None or search.lower() in t.lower()]
        elif not search:
            source = None
    total = len(lines)
    return JSON({"lines": lines[-limit:], "total": total, "truncated": total > limit, "source": source})


def run_files(request: Request) -> Response:
    row = _run_row(request)
    return JSON({"files": files.list_files(_store(request), row), "has_run_dir": files.run_dir(row) is not None})


def run_file(request: Request) -> Response:
    row = _run_row(request)
    rel = request.path_params["path"]
    stored = files.open_stored(_store(request), row, rel)
    if stored is not None:
        name, fh = stored

        def chunks() -> Iterator[bytes]:
            with fh:
                while chunk := fh.read(1 << 20):
                    yield chunk

        return StreamingResponse(chunks(), media_type="application/octet-stream",
                                 headers={"Content-Disposition": f"attachment; filename*=utf-8''{quote(name)}"})
    path = files.resolve_folder_file(row, rel)
    return FileResponse(path, filename=path.rsplit("/", 1)[-1])


async def series(request: Request) -> Response:
    entity, project = _project(request)
    if request.method == "POST":
        data = await _json_body(request)
    else:
        data = dict(request.query_params)
        for name in ("since", "width"):
            if name in data:
                try:
                    data[name] = json.loads(data[name])
                except json.JSONDecodeError:
                    raise bad_param(name, data[name], "a JSON object")
    req = sq.parse_request(data)
    store = _store(request)
    if await run_in_threadpool(queries.project_row, store, entity, project) is None:
        raise not_found(f"project {entity}/{project}")
    result = await run_in_threadpool(sq.compute, store, entity, project, req)
    return JSON(result)


_P = "/projects/{entity}/{project}"
_R = _P + "/runs/{run_id}"

routes = [
    Route("/health", health),
    Route("/openapi.json", openapi),
    Route("/projects", list_projects),
    Route(_P, get_project),
    Route(_P + "/keys", project_keys),
    Route(_P + "/runs", list_runs),
    Route(_P + "/series", series, methods=["GET", "POST"]),
    Route(_R, get_run, methods=["GET"]),
    Route(_R, patch_run, methods=["PATCH"]),
    Route(_R + "/logs", run_logs),
    Route(_R + "/files", run_files),
    Route(_R + "/files/{path:path}", run_file),
]
