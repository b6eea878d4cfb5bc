"""Read queries the server needs beyond the Store contract, over the same SQL schema.

Each one answers a whole project or a batch of runs in one statement, so a workspace of
thousands of runs costs a handful of queries, not one per run. They only read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, exists, func, select

from trackline.storage.sql import schema as t
from trackline.storage.sql.store import SQLStore


def _project_runs(entity: str, project: str) -> Any:
    r, p = t.runs.c, t.projects.c
    return (
        select(r.pk)
        .join(t.projects, p.id == r.project_id)
        .where(and_(p.entity == entity, p.name == project))
    )


def project_row(store: SQLStore, entity: str, project: str) -> dict[str, Any] | None:
    rows = [p for p in store.list_projects(entity) if p["name"] == project]
    return rows[0] if rows else None


def run_pks(store: SQLStore, entity: str, project: str, run_ids: Iterable[str]) -> dict[str, int]:
    """``run_id -> pk`` for the runs of a project that exist."""
    ids = list(dict.fromkeys(run_ids))
    r, p = t.runs.c, t.projects.c
    out: dict[str, int] = {}
    with store.engine.connect() as conn:
        for i in range(0, len(ids), 500):
            q = (
                select(r.run_id, r.pk, r.state)
                .join(t.projects, p.id == r.project_id)
                .where(and_(p.entity == entity, p.name == project, r.run_id.in_(ids[i : i + 500])))
            )
            for run_id, pk, _state in conn.execute(q):
                out[str(run_id)] = int(pk)
    return out


def project_keys(store: SQLStore, entity: str, project: str) -> tuple[dict[str, int], dict[str, int]]:
    """Numeric history keys and system-metric keys of a project, each with its run count."""
    k, rk, hc, sc = t.metric_keys.c, t.run_keys.c, t.history_chunks.c, t.system_chunks.c
    runs = _project_runs(entity, project).subquery()
    numeric = (
        select(k.name, func.count())
        .select_from(t.run_keys.join(t.metric_keys, k.id == rk.key_id))
        .where(rk.run_pk.in_(select(runs.c.pk)))
        .where(exists().where(and_(hc.run_pk == rk.run_pk, hc.key_id == rk.key_id)))
        .group_by(k.name)
    )
    pairs = select(sc.run_pk, sc.key_id).distinct().where(sc.run_pk.in_(select(runs.c.pk))).subquery()
    system = (
        select(k.name, func.count())
        .select_from(pairs.join(t.metric_keys, k.id == pairs.c.key_id))
        .group_by(k.name)
    )
    with store.engine.connect() as conn:
        keys = {str(name): int(n) for name, n in conn.execute(numeric)}
        sys_keys = {str(name): int(n) for name, n in conn.execute(system)}
    return keys, sys_keys


def project_metric_defs(store: SQLStore, entity: str, project: str) -> list[dict[str, Any]]:
    """Every distinct ``define_metric`` definition logged by the project's runs."""
    md = t.metric_defs.c
    q = select(md.definition).where(md.run_pk.in_(_project_runs(entity, project)))
    seen: dict[str, dict[str, Any]] = {}
    with store.engine.connect() as conn:
        for (d,) in conn.execute(q):
            if isinstance(d, dict) and "name" in d:
                seen.setdefault(repr(sorted(d.items())), d)
    return list(seen.values())


def resolve_defs(keys: Iterable[str], defs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per key, its definition: an exact ``define_metric`` merged over the longest matching glob."""
    exact: dict[str, dict[str, Any]] = {}
    globs: list[tuple[str, dict[str, Any]]] = []
    for d in defs:
        name = str(d["name"])
        if name.endswith("*"):
            globs.append((name[:-1], d))
        else:
            merged = exact.setdefault(name, {})
            for f, v in d.items():
                if v not in (None, False, [], ()) or f not in merged:
                    merged[f] = v
    globs.sort(key=lambda g: -len(g[0]))
    out: dict[str, dict[str, Any]] = {}
    for key in keys:
        base = next((d for prefix, d in globs if key.startswith(prefix)), None)
        own = exact.get(key)
        if base is None and own is None:
            continue
        d = dict(base or {})
        for f, v in (own or {}).items():
            if v not in (None, False, [], ()) or f not in d:
                d[f] = v
        d["name"] = key
        out[key] = d
    return out


def run_numeric_keys(store: SQLStore, run_pk: int) -> list[str]:
    """The run's history keys that hold numbers (the ones a line chart can draw)."""
    k, rk, hc = t.metric_keys.c, t.run_keys.c, t.history_chunks.c
    q = (
        select(k.name)
        .join(t.run_keys, rk.key_id == k.id)
        .where(rk.run_pk == run_pk)
        .where(exists().where(and_(hc.run_pk == rk.run_pk, hc.key_id == rk.key_id)))
    )
    with store.engine.connect() as conn:
        return sorted(str(name) for (name,) in conn.execute(q))
