"""The SQL store (SQLite embedded, PostgreSQL for teams) over SQLAlchemy Core."""

from __future__ import annotations

import functools
import os
import socket
import threading
import time
from functools import partial
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, bindparam, delete, func, select, update

from trackline.storage import chunks
from trackline.storage.base import LIVE_STATES, RunKey
from trackline.storage.blobs import LocalBlobStore
from trackline.storage.sql import schema as t
from trackline.storage.sql.engine import make_engine, write_transaction
from trackline.storage.sql.migrate import ensure_schema
from trackline.storage.sql.writer import RUN_FIELDS, SQLStreamWriter, insert_ignore


class SQLStore:
    """A Store on a SQL database; ``url`` is ``sqlite:///path`` or ``postgresql://...``."""

    def __init__(self, url: str, blobs: LocalBlobStore | None = None) -> None:
        self.url = url
        self.blobs = blobs
        self.engine = make_engine(url)
        ensure_schema(self.engine)
        self._key_ids: dict[str, int] = {}
        self._key_names: dict[int, str] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.engine.dispose()

    # -- keys --------------------------------------------------------------------------

    def key_ids(self, names: list[str]) -> dict[str, int]:
        """Intern metric names; new names are committed in their own short transaction."""
        with self._lock:
            missing = [n for n in names if n not in self._key_ids]
        if missing:
            found: list[Any] = []
            for i in range(0, len(missing), 500):
                part = missing[i : i + 500]
                found += write_transaction(self.engine, partial(_intern, names=part))
            with self._lock:
                for name, kid in found:
                    self._key_ids[name] = kid
                    self._key_names[kid] = name
        return {n: self._key_ids[n] for n in names}

    def _lookup_key_ids(self, conn: Connection, names: list[str]) -> dict[str, int]:
        with self._lock:
            missing = [n for n in names if n not in self._key_ids]
        if missing:
            rows = conn.execute(
                select(t.metric_keys.c.name, t.metric_keys.c.id).where(
                    t.metric_keys.c.name.in_(missing)
                )
            )
            with self._lock:
                for name, kid in rows:
                    self._key_ids[name] = kid
                    self._key_names[kid] = name
        return {n: self._key_ids[n] for n in names if n in self._key_ids}

    # -- write side ----------------------------------------------------------------------

    def stream_writer(self, key: RunKey, stream_id: bytes) -> SQLStreamWriter:
        return SQLStreamWriter(self, key, stream_id)

    def project_id(self, conn: Connection, entity: str, project: str, now: float) -> int:
        p = t.projects.c
        pid = conn.execute(
            select(p.id).where(and_(p.entity == entity, p.name == project))
        ).scalar()
        if pid is None:
            insert_ignore(conn, t.projects, [{"entity": entity, "name": project, "created_at": now}])
            pid = conn.execute(
                select(p.id).where(and_(p.entity == entity, p.name == project))
            ).scalar_one()
        return int(pid)

    def find_run_pk(self, conn: Connection, key: RunKey) -> int | None:
        r, p = t.runs.c, t.projects.c
        pk = conn.execute(
            select(r.pk)
            .join(t.projects, p.id == r.project_id)
            .where(and_(p.entity == key.entity, p.name == key.project, r.run_id == key.run_id))
        ).scalar()
        return None if pk is None else int(pk)

    # -- read side -----------------------------------------------------------------------

    def _run_select(self) -> Any:
        return select(t.runs, t.projects.c.entity, t.projects.c.name.label("project")).join(
            t.projects, t.projects.c.id == t.runs.c.project_id
        )

    def get_run(self, key: RunKey) -> dict[str, Any] | None:
        r, p = t.runs.c, t.projects.c
        with self.engine.connect() as conn:
            row = conn.execute(
                self._run_select().where(
                    and_(p.entity == key.entity, p.name == key.project, r.run_id == key.run_id)
                )
            ).first()
        if row is None:
            return None
        return self._detect_crash(dict(row._mapping))

    def list_runs(self, entity: str, project: str) -> list[dict[str, Any]]:
        p = t.projects.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                self._run_select()
                .where(and_(p.entity == entity, p.name == project))
                .order_by(t.runs.c.created_at.desc())
            ).all()
        return [self._detect_crash(dict(row._mapping)) for row in rows]

    def list_projects(self, entity: str | None = None) -> list[dict[str, Any]]:
        p, r = t.projects.c, t.runs.c
        q = (
            select(p.id, p.entity, p.name, p.created_at, func.count(r.pk).label("run_count"))
            .select_from(t.projects.outerjoin(t.runs, r.project_id == p.id))
            .group_by(p.id, p.entity, p.name, p.created_at)
            .order_by(p.entity, p.name)
        )
        if entity is not None:
            q = q.where(p.entity == entity)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(q)]

    def run_keys(self, run_pk: int) -> list[str]:
        k, rk = t.metric_keys.c, t.run_keys.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(k.name).join(t.run_keys, rk.key_id == k.id).where(rk.run_pk == run_pk)
            )
            return sorted(name for (name,) in rows)

    def metric_defs(self, run_pk: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.metric_defs.c.definition).where(t.metric_defs.c.run_pk == run_pk)
            )
            return [d for (d,) in rows]

    def _cutoffs(self, conn: Connection, run_pk: int) -> list[tuple[int, int]]:
        raw = conn.execute(select(t.runs.c.history_cutoffs).where(t.runs.c.pk == run_pk)).scalar()
        return [(int(a), int(b)) for a, b in (raw or [])]

    @staticmethod
    def _visible_until(cutoffs: list[tuple[int, int]], stream_pk: int) -> int | None:
        """The last visible step of a stream after rewinds (None: no limit)."""
        limits = [step for max_stream, step in cutoffs if stream_pk <= max_stream]
        return min(limits) if limits else None

    def numeric_history(
        self,
        run_pk: int,
        keys: list[str],
        min_step: int | None = None,
        max_step: int | None = None,
        system: bool = False,
        by_stream: bool = False,
        cutoffs: list[Any] | None = None,
    ) -> dict[Any, tuple[np.ndarray, np.ndarray]]:
        """Numeric history per key as (steps, values) arrays, last write per step kept.

        ``system=True`` reads the system-metrics stream. ``by_stream=True`` keeps each
        writer's rows apart (shared-mode runs): keys become ``(name, stream_pk)``.
        ``cutoffs`` is the run's ``history_cutoffs`` when the caller has it (saves a query).
        """
        table = t.system_chunks if system else t.history_chunks
        c = table.c
        with self.engine.connect() as conn:
            ids = self._lookup_key_ids(conn, keys)
            if not ids:
                return {}
            if system:
                cutoffs = []
            elif cutoffs is None:
                cutoffs = self._cutoffs(conn, run_pk)
            else:
                cutoffs = [(int(a), int(b)) for a, b in cutoffs]
            by_id = {v: k for k, v in ids.items()}
            q = select(c.key_id, c.stream_pk, c.step_min, c.n, c.dtype, c.steps, c.vals).where(
                and_(c.run_pk == run_pk, _one_of(c.key_id, list(by_id)))
            )
            if min_step is not None:
                q = q.where(c.step_max >= min_step)
            if max_step is not None:
                q = q.where(c.step_min <= max_step)
            q = q.order_by(c.key_id, c.stream_pk, c.chunk_no)
            rows: dict[Any, list[Any]] = {}
            for row in conn.execute(q):
                kid, stream_pk = row[0], row[1]
                group = (by_id[kid], stream_pk) if by_stream else by_id[kid]
                rows.setdefault(group, []).append(row)
        out: dict[Any, tuple[np.ndarray, np.ndarray]] = {}
        for group, group_rows in rows.items():
            joined = None if cutoffs else chunks.join_contiguous([r[2:] for r in group_rows])
            if joined is not None:
                s, v = joined  # one stream of back-to-back chunks: no merge needed
            else:
                ps = []
                for _kid, stream_pk, step_min, n, dtype, steps, vals in group_rows:
                    cs, cv = chunks.decode(step_min, n, dtype, steps, vals)
                    until = self._visible_until(cutoffs, stream_pk) if cutoffs else None
                    if until is not None:
                        keep = cs <= until
                        cs, cv = cs[keep], cv[keep]
                    ps.append((cs, cv))
                s, v = chunks.merge_series(ps)
            if min_step is not None or max_step is not None:
                lo = 0 if min_step is None else int(np.searchsorted(s, min_step, "left"))
                hi = len(s) if max_step is None else int(np.searchsorted(s, max_step, "right"))
                s, v = s[lo:hi], v[lo:hi]
            out[group] = (s, v)
        return out

    def value_history(
        self,
        run_pk: int,
        keys: list[str],
        min_step: int | None = None,
        max_step: int | None = None,
        by_stream: bool = False,
        cutoffs: list[Any] | None = None,
    ) -> dict[Any, list[tuple[int, Any]]]:
        """Non-numeric history per key as (step, value) pairs; later streams win a step."""
        c = t.history_values.c
        with self.engine.connect() as conn:
            ids = self._lookup_key_ids(conn, keys)
            if not ids:
                return {}
            if cutoffs is None:
                cutoffs = self._cutoffs(conn, run_pk)
            else:
                cutoffs = [(int(a), int(b)) for a, b in cutoffs]
            by_id = {v: k for k, v in ids.items()}
            q = select(c.key_id, c.stream_pk, c.step, c.value).where(
                and_(c.run_pk == run_pk, _one_of(c.key_id, list(by_id)))
            )
            if min_step is not None:
                q = q.where(c.step >= min_step)
            if max_step is not None:
                q = q.where(c.step <= max_step)
            out: dict[Any, list[tuple[int, Any]]] = {}
            for kid, stream_pk, step, value in conn.execute(q.order_by(c.key_id, c.step, c.stream_pk)):
                until = self._visible_until(cutoffs, stream_pk) if cutoffs else None
                if until is not None and step > until:
                    continue
                group = (by_id[kid], stream_pk) if by_stream else by_id[kid]
                pairs = out.setdefault(group, [])
                if pairs and pairs[-1][0] == step:
                    pairs[-1] = (int(step), value)  # a later stream wrote this step again
                else:
                    pairs.append((int(step), value))
            return out

    def stream_labels(self, run_pk: int) -> dict[int, str | None]:
        """The run's record streams (writers) and their labels (shared mode)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.run_streams.c.pk, t.run_streams.c.label).where(t.run_streams.c.run_pk == run_pk)
            )
            return {int(pk): label for pk, label in rows}

    def system_keys(self, run_pk: int) -> list[str]:
        k, c = t.metric_keys.c, t.system_chunks.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(k.name).distinct().join(t.system_chunks, c.key_id == k.id).where(c.run_pk == run_pk)
            )
            return sorted(name for (name,) in rows)

    def run_files(self, run_pk: int) -> list[dict[str, Any]]:
        """The run's stored files: path, sha256, md5, size, policy, updated_at."""
        f = t.run_files.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.run_files).where(f.run_pk == run_pk).order_by(f.path))
            return [dict(r._mapping) for r in rows]

    def alerts(self, run_pk: int) -> list[dict[str, Any]]:
        a = t.alerts.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.alerts).where(a.run_pk == run_pk).order_by(a.ts, a.seq))
            return [dict(r._mapping) for r in rows]

    def logs(self, run_pk: int, search: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Console output lines in order (``search``: substring filter)."""
        c = t.run_logs.c
        q = select(c.ts, c.source, c.text).where(c.run_pk == run_pk)
        if search:
            q = q.where(c.text.contains(search, autoescape=True))
        q = q.order_by(c.ts, c.stream_pk, c.seq)
        if limit is not None:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def first_step_at_or_after(self, run_pk: int, keys: list[str], lo: int | None) -> int | None:
        """The first step >= ``lo`` holding any of ``keys`` (``lo`` itself if a chunk spans it)."""
        with self.engine.connect() as conn:
            ids = list(self._lookup_key_ids(conn, keys).values())
            if not ids:
                return None
            params: dict[str, Any] = {"pk": run_pk} if lo is None else {"pk": run_pk, "lo": lo}
            if len(ids) == 1:
                params["kid"] = ids[0]
            else:
                params["kids"] = ids
            q1, q2 = _first_step_queries(len(ids) > 1, lo is not None)
            found = [x for x in (conn.execute(q1, params).scalar(), conn.execute(q2, params).scalar()) if x is not None]
        if not found:
            return None
        first = int(min(found))
        return first if lo is None else max(first, lo)

    def set_run_fields(self, run_pk: int, fields: dict[str, Any]) -> None:
        fields = {k: v for k, v in fields.items() if k in RUN_FIELDS or k in ("config", "summary")}
        fields["updated_at"] = time.time()

        def tx(conn: Connection) -> None:
            conn.execute(update(t.runs).where(t.runs.c.pk == run_pk).values(**fields))

        write_transaction(self.engine, tx)

    def delete_run(self, run_pk: int) -> None:
        def tx(conn: Connection) -> None:
            for table in (t.history_chunks, t.history_pages, t.history_values, t.metric_defs, t.run_keys,
                          t.run_streams):
                conn.execute(delete(table).where(table.c.run_pk == run_pk))
            conn.execute(delete(t.runs).where(t.runs.c.pk == run_pk))

        write_transaction(self.engine, tx)

    def delete_run_file(self, run_pk: int, path: str) -> None:
        """Forget one run file (its blob stays: blobs are shared and garbage-collected)."""

        def tx(conn: Connection) -> None:
            conn.execute(
                delete(t.run_files).where(and_(t.run_files.c.run_pk == run_pk, t.run_files.c.path == path))
            )

        write_transaction(self.engine, tx)

    # -- run listings and moves (query API, CLI, REST runs endpoint; see sql/query.py) ----

    def refresh_states(self, entity: str | None = None, project: str | None = None) -> None:
        """Mark live runs in scope whose writer is gone, so filters on ``state`` see it."""
        q = self._run_select().where(t.runs.c.state.in_(LIVE_STATES))
        if entity is not None:
            q = q.where(t.projects.c.entity == entity)
        if project is not None:
            q = q.where(t.projects.c.name == project)
        with self.engine.connect() as conn:
            live = [dict(row._mapping) for row in conn.execute(q)]
        for run in live:
            self._detect_crash(run)

    def query_runs(
        self,
        filters: dict[str, Any] | None = None,
        order: str | None = None,
        entity: str | None = None,
        project: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of runs matching W&B-style ``filters``, and the cursor of the next page."""
        from trackline.storage.sql import query

        if cursor is None:
            self.refresh_states(entity, project)
        stmt = query.runs_query(
            filters, order or query.DEFAULT_ORDER, entity, project,
            dialect=self.engine.dialect.name, cursor=cursor, limit=limit + 1,
        )
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(stmt).mappings()]
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = query.next_cursor(rows[-1], order or query.DEFAULT_ORDER) if more and rows else None
        for row in rows:
            for k in ("_sort_rank", "_sort_num", "_sort_text"):
                row.pop(k, None)
        return [self._detect_crash(row) for row in rows], nxt

    def count_runs(
        self, filters: dict[str, Any] | None = None, entity: str | None = None, project: str | None = None
    ) -> int:
        from trackline.storage.sql import query

        self.refresh_states(entity, project)
        stmt = query.count_query(filters, entity, project, dialect=self.engine.dialect.name)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def get_project(self, entity: str, name: str) -> dict[str, Any] | None:
        for row in self.list_projects(entity):
            if row["name"] == name:
                return row
        return None

    def find_runs(self, run_id: str) -> list[dict[str, Any]]:
        """Every run with this id, in any project (ids are unique only per project)."""
        with self.engine.connect() as conn:
            rows = conn.execute(self._run_select().where(t.runs.c.run_id == run_id)).all()
        return [self._detect_crash(dict(row._mapping)) for row in rows]

    def move_run(self, run_pk: int, entity: str, project: str) -> None:
        """Move a run (with its history) to another project, created if needed."""
        now = time.time()

        def tx(conn: Connection) -> None:
            run_id = conn.execute(select(t.runs.c.run_id).where(t.runs.c.pk == run_pk)).scalar_one()
            if self.find_run_pk(conn, RunKey(entity, project, run_id)) is not None:
                raise ValueError(f"{entity}/{project} already has a run with id {run_id!r}")
            pid = self.project_id(conn, entity, project, now)
            conn.execute(update(t.runs).where(t.runs.c.pk == run_pk).values(project_id=pid, updated_at=now))

        write_transaction(self.engine, tx)

    # -- crash detection (lazy: readers mark dead runs, no daemon needed) ----------------

    def _detect_crash(self, run: dict[str, Any]) -> dict[str, Any]:
        if run["state"] not in LIVE_STATES:
            return run
        verdict = _liveness(run)
        if verdict is None:
            return run
        state = "preempted" if run["state"] == "preempting" else "crashed"
        reason = verdict
        now = time.time()

        def tx(conn: Connection) -> None:
            conn.execute(
                update(t.runs)
                .where(and_(t.runs.c.pk == run["pk"], t.runs.c.state == run["state"]))
                .values(state=state, reason=reason, finished_at=run["heartbeat_at"], updated_at=now)
            )

        write_transaction(self.engine, tx)
        run.update(state=state, reason=reason, finished_at=run["heartbeat_at"])
        return run


@functools.cache
def _first_step_queries(many_keys: bool, bounded: bool) -> tuple[Any, Any]:
    """``first_step_at_or_after``'s two statements, built once (bound parameters): the first
    chunk reaching ``lo`` and the first other value at or after it."""
    c, hv = t.history_chunks.c, t.history_values.c
    kid: Any = bindparam("kids", expanding=True) if many_keys else bindparam("kid")
    q1 = select(func.min(c.step_min)).where(
        and_(c.run_pk == bindparam("pk"), c.key_id.in_(kid) if many_keys else c.key_id == kid)
    )
    q2 = select(func.min(hv.step)).where(
        and_(hv.run_pk == bindparam("pk"), hv.key_id.in_(kid) if many_keys else hv.key_id == kid)
    )
    if bounded:
        q1 = q1.where(c.step_max >= bindparam("lo"))
        q2 = q2.where(hv.step >= bindparam("lo"))
    return q1, q2


def _one_of(column: Any, values: list[Any]) -> Any:
    """``column = v`` for one value: an expanding IN is re-processed on every execution,
    which costs ~0.5 ms per query; reading one key of many runs is the common case."""
    return column == values[0] if len(values) == 1 else column.in_(values)


def _intern(conn: Connection, names: list[str]) -> list[Any]:
    insert_ignore(conn, t.metric_keys, [{"name": n} for n in names])
    return list(
        conn.execute(
            select(t.metric_keys.c.name, t.metric_keys.c.id).where(t.metric_keys.c.name.in_(names))
        )
    )


def stale_after() -> float:
    """Seconds without a heartbeat after which a run on another host counts as crashed."""
    return float(os.environ.get("TRACKLINE_HEARTBEAT_STALE", "300"))


def _liveness(run: dict[str, Any]) -> str | None:
    """None while the run may be alive; else why it is not."""
    meta = run.get("metadata") or {}
    hb = run.get("heartbeat_at") or run["created_at"]
    age = time.time() - hb
    pid = run.get("pid")
    if meta.get("host") == socket.gethostname() and pid:
        if _pid_alive(int(pid), meta.get("pid_start")):
            return None
        return f"process {pid} on {meta.get('host')} exited without finishing the run"
    if age > stale_after():
        return f"no heartbeat for {int(age)} s"
    return None


def _pid_alive(pid: int, started: float | None) -> bool:
    try:
        import psutil

        proc = psutil.Process(pid)
        if started is not None and abs(proc.create_time() - started) > 1.0:
            return False  # the pid was reused by another process
        return proc.status() != psutil.STATUS_ZOMBIE
    except Exception:
        return False
