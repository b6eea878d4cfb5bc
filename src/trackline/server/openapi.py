"""The OpenAPI 3.1 description of ``/api/v1``, served at ``/api/v1/openapi.json``.

Written by hand next to the routes; ``tests/unit/server/test_openapi.py`` fails when a
route is missing here or a documented path has no route.
"""

from __future__ import annotations

from typing import Any

ENTITY = {"name": "entity", "in": "path", "required": True, "schema": {"type": "string"}}
PROJECT = {"name": "project", "in": "path", "required": True, "schema": {"type": "string"}}
RUN_ID = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
        "default": {"description": "An error", "content": {"application/json": {"schema": _ref("Error")}}},
    }


def _q(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


_SERIES_FIELDS: dict[str, Any] = {
    "runs": {"type": "array", "items": {"type": "string"}, "description": "Run ids of the project."},
    "keys": {"type": "array", "items": {"type": "string"}, "description": "Numeric history keys (or system-metric keys with `system`)."},
    "x": {"type": "string", "default": "_step", "description": "The x-axis: `_step`, `_runtime` (relative time, s), `_timestamp` (wall time, epoch s) or any numeric key (each point takes the value that key had at its step or before)."},
    "x_min": {"type": "number", "description": "Window start on the x-axis (inclusive); one point before it is added so lines reach the edge."},
    "x_max": {"type": "number", "description": "Window end (inclusive); one point after it is added."},
    "buckets": {"type": "integer", "default": 1000, "minimum": 1, "maximum": 100000, "description": "About how many buckets per series."},
    "smoothing": {"type": "number", "default": 0, "minimum": 0, "exclusiveMaximum": 1, "description": "Debiased EMA weight, computed over each run's whole series (see docs/ui.md)."},
    "system": {"type": "boolean", "default": False, "description": "Read system metrics instead of history."},
    "since": {"type": "object", "additionalProperties": {"type": "integer"}, "description": "Per run id, the last step the client has: only buckets from the one holding the first newer point are returned (`from`)."},
    "width": {"type": "object", "additionalProperties": {"type": "number"}, "description": "Per key, the bucket width of a previous answer, to keep the same edges."},
}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["status", "code", "message"], "properties": {
            "status": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"},
        }}},
    },
    "Project": {"type": "object", "properties": {
        "entity": {"type": "string"}, "name": {"type": "string"}, "run_count": {"type": "integer"},
        "created_at": {"type": "number", "description": "epoch seconds"}, "url": {"type": "string"},
    }},
    "Run": {"type": "object", "properties": {
        "id": {"type": "string"}, "entity": {"type": "string"}, "project": {"type": "string"},
        "path": {"type": "array", "items": {"type": "string"}}, "url": {"type": "string"},
        "name": {"type": ["string", "null"]}, "notes": {"type": ["string", "null"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "group": {"type": ["string", "null"]}, "job_type": {"type": ["string", "null"]},
        "state": {"type": "string", "enum": ["running", "finished", "failed", "crashed", "killed", "preempting", "preempted"]},
        "reason": {"type": ["string", "null"]}, "exit_code": {"type": ["integer", "null"]},
        "created_at": {"type": "number"}, "updated_at": {"type": "number"},
        "heartbeat_at": {"type": ["number", "null"]}, "finished_at": {"type": ["number", "null"]},
        "duration": {"type": ["number", "null"], "description": "seconds run (so far, while running)"},
        "host": {"type": ["string", "null"]}, "sweep_id": {"type": ["string", "null"]},
        "last_step": {"type": ["integer", "null"]}, "history_rows": {"type": "integer"},
        "config": {"type": "object"}, "summary": {"type": "object"},
        "pinned_keys": {"type": "array", "items": {"type": "string"}, "description": "config keys pinned with run.pin_config_keys (the References block)"},
        "metadata": {"type": "object", "description": "only on a single run: host, program, args, python, git..."},
    }},
    "RunDetail": {"allOf": [_ref("Run"), {"type": "object", "properties": {
        "keys": {"type": "array", "items": {"type": "string"}},
        "system_keys": {"type": "array", "items": {"type": "string"}},
        "alerts": {"type": "array", "items": {"type": "object"}},
        "files": {"type": "array", "items": _ref("File")},
        "has_run_dir": {"type": "boolean"},
    }}]},
    "File": {"type": "object", "properties": {
        "path": {"type": "string"}, "size": {"type": "integer"}, "modified_at": {"type": "number"},
    }},
    "SeriesRequest": {"type": "object", "required": ["runs", "keys"], "properties": _SERIES_FIELDS},
    "Series": {"type": "object", "properties": {
        "run": {"type": "string"}, "key": {"type": "string"}, "width": {"type": "number"},
        "x": {"type": "array", "items": {"type": "number"}, "description": "x of each bucket's last point (the first point has its own entry)"},
        "last": {"type": "array", "items": {"type": ["number", "null"]}},
        "min": {"type": "array", "items": {"type": ["number", "null"]}, "description": "empty when `exact`"},
        "max": {"type": "array", "items": {"type": ["number", "null"]}, "description": "empty when `exact`"},
        "smooth": {"type": "array", "items": {"type": ["number", "null"]}, "description": "with `smoothing` > 0"},
        "exact": {"type": "boolean", "description": "one point per entry: min and max equal last"},
        "points": {"type": "integer", "description": "raw points summarised"},
        "cursor": {"type": ["integer", "null"], "description": "the last step read: send it back as `since`"},
        "from": {"type": ["number", "null"], "description": "with `since`: replace entries at x >= from with these (null: nothing new)"},
    }},
}


def spec() -> dict[str, Any]:
    """The OpenAPI document: the core API, the media routes (server/media.py) and artifacts (server/artifacts.py)."""
    from trackline.server import artifacts, media, sweeps

    doc = _core_spec()
    doc["paths"].update(media.OPENAPI_PATHS)
    doc["paths"].update(artifacts.OPENAPI_PATHS)
    doc["paths"].update(sweeps.OPENAPI_PATHS)
    return doc


def _core_spec() -> dict[str, Any]:
    runs_params = [
        ENTITY, PROJECT,
        _q("filters", {"type": "string"}, 'MongoDB-style JSON, as wandb.Api().runs(filters=...): {"config.lr": {"$gt": 0.01}}, {"state": "running"}, {"tags": {"$in": ["a"]}}'),
        _q("order", {"type": "string", "default": "-created_at"}, "`-field` descending or `+field` ascending: created_at, config.<key>, summary_metrics.<key>, ..."),
        _q("search", {"type": "string"}, "case-insensitive regex over run names and ids"),
        _q("per_page", {"type": "integer", "default": 50, "minimum": 1, "maximum": 5000}, "runs per page"),
        _q("cursor", {"type": "string"}, "`next_cursor` of the previous page"),
    ]
    series_params = [ENTITY, PROJECT] + [
        _q(k, v if v.get("type") != "object" else {"type": "string"}, v["description"] + (" (GET: JSON text)" if v.get("type") == "object" else ""))
        for k, v in _SERIES_FIELDS.items()
        if k not in ("runs", "keys")
    ] + [
        {"name": "runs", "in": "query", "required": True, "schema": {"type": "string"}, "description": "comma-separated run ids"},
        {"name": "keys", "in": "query", "required": True, "schema": {"type": "string"}, "description": "comma-separated keys"},
    ]
    series_answer = {"type": "object", "properties": {
        "x": {"type": "string"}, "buckets": {"type": "integer"},
        "widths": {"type": "object", "additionalProperties": {"type": "number"}},
        "missing_runs": {"type": "array", "items": {"type": "string"}},
        "series": {"type": "array", "items": _ref("Series")},
    }}
    run_params = [ENTITY, PROJECT, RUN_ID]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "trackline REST API",
            "version": "1",
            "description": "Projects, runs and chart series of a trackline store. Errors are JSON: "
                           '{"error": {"status", "code", "message"}}.',
        },
        "paths": {
            "/api/v1/health": {"get": {"summary": "Liveness, version and whether the UI is built", "responses": _ok({"type": "object"})}},
            "/api/v1/openapi.json": {"get": {"summary": "This document", "responses": _ok({"type": "object"})}},
            "/api/v1/projects": {"get": {
                "summary": "Projects with their run counts",
                "parameters": [_q("entity", {"type": "string"}, "only this entity's projects")],
                "responses": _ok({"type": "object", "properties": {"projects": {"type": "array", "items": _ref("Project")}}}),
            }},
            "/api/v1/projects/{entity}/{project}": {"get": {
                "summary": "One project", "parameters": [ENTITY, PROJECT], "responses": _ok(_ref("Project")),
            }},
            "/api/v1/projects/{entity}/{project}/keys": {"get": {
                "summary": "Numeric history keys (with run counts and define_metric step metrics) and system-metric keys",
                "parameters": [ENTITY, PROJECT],
                "responses": _ok({"type": "object", "properties": {
                    "keys": {"type": "array", "items": {"type": "object", "properties": {
                        "name": {"type": "string"}, "runs": {"type": "integer"},
                        "step_metric": {"type": ["string", "null"]}, "hidden": {"type": "boolean"},
                        "goal": {"type": ["string", "null"]},
                    }}},
                    "system_keys": {"type": "array", "items": {"type": "object"}},
                }}),
            }},
            "/api/v1/projects/{entity}/{project}/runs": {"get": {
                "summary": "Runs, filtered, sorted and paged (keyset cursors)",
                "parameters": runs_params,
                "responses": _ok({"type": "object", "properties": {
                    "runs": {"type": "array", "items": _ref("Run")}, "total": {"type": "integer"},
                    "order": {"type": "string"}, "next_cursor": {"type": ["string", "null"]},
                }}),
            }},
            "/api/v1/projects/{entity}/{project}/series": {
                "post": {
                    "summary": "Chart series for many runs x keys, downsampled to ~N buckets (x, last, min, max)",
                    "parameters": [ENTITY, PROJECT],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("SeriesRequest")}}},
                    "responses": _ok(series_answer),
                },
                "get": {
                    "summary": "The same as POST, with query parameters",
                    "parameters": series_params,
                    "responses": _ok(series_answer),
                },
            },
            "/api/v1/projects/{entity}/{project}/runs/{run_id}": {
                "get": {"summary": "One run: config, summary, metadata, pinned keys, keys, alerts, files",
                        "parameters": run_params, "responses": _ok(_ref("RunDetail"))},
                "patch": {
                    "summary": "Edit a run's name, notes, tags, group or job type",
                    "parameters": run_params,
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "additionalProperties": False, "properties": {
                            "name": {"type": "string"}, "notes": {"type": ["string", "null"]},
                            "tags": {"type": "array", "items": {"type": "string"}},
                            "group": {"type": ["string", "null"]}, "job_type": {"type": ["string", "null"]},
                        }}}}},
                    "responses": _ok(_ref("RunDetail")),
                },
            },
            "/api/v1/projects/{entity}/{project}/runs/{run_id}/logs": {"get": {
                "summary": "Console output (stored lines, else files/output.log), last `limit` lines",
                "parameters": [*run_params,
                               _q("search", {"type": "string"}, "only lines containing this text"),
                               _q("limit", {"type": "integer", "default": 10000, "maximum": 100000}, "at most this many (the last) lines")],
                "responses": _ok({"type": "object", "properties": {
                    "lines": {"type": "array", "items": {"type": "object", "properties": {
                        "ts": {"type": ["number", "null"]}, "source": {"type": "string"}, "text": {"type": "string"}}}},
                    "total": {"type": "integer"}, "truncated": {"type": "boolean"},
                    "source": {"type": ["string", "null"], "enum": ["store", "file", None]},
                }}),
            }},
            "/api/v1/projects/{entity}/{project}/runs/{run_id}/files": {"get": {
                "summary": "Files in the run's files folder", "parameters": run_params,
                "responses": _ok({"type": "object", "properties": {
                    "files": {"type": "array", "items": _ref("File")}, "has_run_dir": {"type": "boolean"}}}),
            }},
            "/api/v1/projects/{entity}/{project}/runs/{run_id}/files/{path}": {"get": {
                "summary": "Download one file (paths cannot leave the run's files folder)",
                "parameters": [*run_params, {"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the file", "content": {"application/octet-stream": {}}},
                              "default": {"description": "An error", "content": {"application/json": {"schema": _ref("Error")}}}},
            }},
        },
        "components": {"schemas": _SCHEMAS},
    }
