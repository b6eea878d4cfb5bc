"""Runs as the API shows them: one JSON shape for listings and a richer one for a single run."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from trackline.storage.base import run_duration

# Keys of the run row that go out unchanged.
_FIELDS = (
    "name",
    "notes",
    "tags",
    "group",
    "job_type",
    "state",
    "reason",
    "exit_code",
    "created_at",
    "updated_at",
    "heartbeat_at",
    "finished_at",
    "host",
    "sweep_id",
    "last_step",
    "history_rows",
    "forked_from",
    "fork_step",
)


def run_path(entity: str, project: str, run_id: str) -> str:
    """The UI path of a run (the same path ``run.url`` prints)."""
    return f"/{quote(entity)}/{quote(project)}/runs/{quote(run_id, safe='=+&$@')}"


def pinned_keys(config: dict[str, Any] | None) -> list[str]:
    internal = (config or {}).get("_wandb")
    keys = internal.get("pinned_keys") if isinstance(internal, dict) else None
    return [str(k) for k in keys] if isinstance(keys, list) else []


def _public(d: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (d or {}).items() if k != "_wandb"}


def run_json(row: dict[str, Any], detail: bool = False) -> dict[str, Any]:
    config = row.get("config") or {}
    out: dict[str, Any] = {
        "id": row["run_id"],
        "entity": row["entity"],
        "project": row["project"],
        "path": [row["entity"], row["project"], row["run_id"]],
        "url": run_path(row["entity"], row["project"], row["run_id"]),
    }
    for f in _FIELDS:
        out[f] = row.get(f)
    out["tags"] = list(row.get("tags") or [])
    out["duration"] = run_duration(row)
    out["config"] = _public(config)
    out["summary"] = _public(row.get("summary"))
    out["pinned_keys"] = pinned_keys(config)
    if detail:
        out["metadata"] = row.get("metadata") or {}
    return out
