"""The runs listing: W&B's filters and order compiled to SQL, keyset pages.

Filters and orders are compiled by ``trackline.storage.sql.query`` (MongoDB-style, as in
``wandb.Api().runs(filters=...)``). Without that module (older stores) only the plain
listing, newest first, is available; asking for more says so.
"""

from __future__ import annotations

import json
from typing import Any

from trackline.server.errors import ApiError
from trackline.storage.sql.store import SQLStore

MAX_PER_PAGE = 5000


def parse_filters(raw: str | None) -> dict[str, Any] | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"parameter 'filters' is not valid JSON ({exc.msg} at {exc.pos}); "
                            'send a MongoDB-style object such as {"config.lr": {"$gt": 0.01}}')
    if not isinstance(value, dict):
        raise ApiError(400, f"parameter 'filters' must be a JSON object, got {type(value).__name__}")
    return value


def with_search(filters: dict[str, Any] | None, search: str | None) -> dict[str, Any] | None:
    """Add a case-insensitive regex search over the run's name and id."""
    if not search:
        return filters
    match = {"$or": [
        {"display_name": {"$regex": search, "$options": "i"}},
        {"id": {"$regex": search, "$options": "i"}},
    ]}
    return match if not filters else {"$and": [filters, match]}


def list_runs(
    store: SQLStore,
    entity: str,
    project: str,
    *,
    filters: dict[str, Any] | None,
    order: str | None,
    cursor: str | None,
    per_page: int,
) -> tuple[list[dict[str, Any]], int, str | None]:
    """One page of runs, the total that match, and the cursor of the next page (or None)."""
    try:
        from trackline.storage.sql import query
    except ImportError:  # pragma: no cover - only on a store without the query compiler
        return _plain(store, entity, project, filters, order, cursor, per_page)
    try:
        query.validate(filters, order)
        dialect = store.engine.dialect.name
        stmt = query.runs_query(
            filters, order, entity, project, dialect=dialect, cursor=cursor, limit=per_page + 1
        )
        count = query.count_query(filters, entity, project, dialect=dialect)
        with store.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(stmt).mappings()]
            total = int(conn.execute(count).scalar_one())
    except query.FilterError as exc:
        raise ApiError(400, str(exc))
    nxt = query.next_cursor(rows[per_page - 1], order) if len(rows) > per_page else None
    rows = [_live(store, r) for r in rows[:per_page]]
    return rows, total, nxt


def _live(store: SQLStore, row: dict[str, Any]) -> dict[str, Any]:
    """Mark a dead 'running' run crashed, as every store read does."""
    if row.get("state") in ("running", "preempting"):
        detect = getattr(store, "_detect_crash", None)
        if detect is not None:
            return dict(detect(row))
    return row


def _plain(
    store: SQLStore,
    entity: str,
    project: str,
    filters: dict[str, Any] | None,
    order: str | None,
    cursor: str | None,
    per_page: int,
) -> tuple[list[dict[str, Any]], int, str | None]:  # pragma: no cover - see list_runs
    if filters or (order and order != "-created_at"):
        raise ApiError(501, "this store cannot filter or sort runs yet; list them without "
                            "'filters' and 'order'")
    rows = store.list_runs(entity, project)
    start = int(cursor or 0)
    page = rows[start : start + per_page]
    nxt = str(start + per_page) if start + per_page < len(rows) else None
    return page, len(rows), nxt
