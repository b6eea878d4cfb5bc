"""Sweep endpoints under ``/api/v1`` (the UI's sweeps list and sweep page); JSON shapes in
``trackline/sweeps/report.py``."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from trackline.server.artifacts import _ok, _param
from trackline.server.errors import not_found
from trackline.server.responses import JSON
from trackline.storage.sql.store import SQLStore
from trackline.sweeps.report import sweep_of, sweeps_of


def _store(request: Request) -> SQLStore:
    store: SQLStore = request.app.state.store
    return store


def _list(store: SQLStore, entity: str, project: str) -> dict[str, Any]:
    out = sweeps_of(store, entity, project)
    for item in out:  # the list page needs the summary only
        for key in ("config", "parameters", "runs", "best_run"):
            item.pop(key, None)
    return {"sweeps": out}


async def list_sweeps(request: Request) -> Response:
    p = request.path_params
    return JSON(await run_in_threadpool(_list, _store(request), p["entity"], p["project"]))


async def get_sweep(request: Request) -> Response:
    p = request.path_params
    found = await run_in_threadpool(sweep_of, _store(request), p["entity"], p["project"], p["sweep_id"])
    if found is None:
        raise not_found(f"sweep {p['entity']}/{p['project']}/{p['sweep_id']}")
    return JSON(found)


_S = "/projects/{entity}/{project}/sweeps"

routes = [
    Route(_S, list_sweeps),
    Route(_S + "/{sweep_id}", get_sweep),
]

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1" + _S: {"get": {
        "summary": "A project's sweeps, newest first",
        "parameters": [_param("entity"), _param("project")],
        "responses": _ok("{sweeps: [{id, name, state, method, metric, created_at, run_count, "
                         "expected_run_count, best: {run_id, value}}]}"),
    }},
    "/api/v1" + _S + "/{sweep_id}": {"get": {
        "summary": "One sweep: its config, and each run's parameters and metric",
        "parameters": [_param("entity"), _param("project"), _param("sweep_id")],
        "responses": _ok("{id, name, state, method, metric, config, parameters, runs: [{id, name, state, "
                         "params, metric}], best_run, best, expected_run_count, run_count}"),
    }},
}
