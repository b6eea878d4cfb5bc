"""Sweeps in the SQL store: their configs, states and claimed trials (schema 0005).

A trial is claimed in one write transaction that reads the sweep and its trials, asks the
search for the next parameters and inserts the claim, so agents sharing a sweep (threads or
processes, on SQLite or PostgreSQL) never get the same grid point twice. A trial's result
is read from its run (same project, same run id) when the next one is proposed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import Connection

from trackline.storage.sql import schema as t
from trackline.storage.sql.engine import write_transaction

STATES = ("RUNNING", "PAUSED", "FINISHED", "CANCELED")
#: ``propose(sweep, trials)`` -> (run id, parameters) of the next trial, or None when the
#: sweep has nothing more to run. ``trials`` rows: run_id, params, created_at, state, summary.
Propose = Callable[[dict[str, Any], list[dict[str, Any]]], "tuple[str, dict[str, Any]] | None"]


def _sweep_select() -> Any:
    s, p = t.sweeps.c, t.projects.c
    runs = (
        select(func.count())
        .select_from(t.sweep_trials)
        .where(t.sweep_trials.c.sweep_pk == s.id)
        .scalar_subquery()
    )
    return select(t.sweeps, p.entity, p.name.label("project"), runs.label("run_count")).join(
        t.projects, p.id == s.project_id
    )


class SweepDB:
    """Sweep reads and edits on a store (each call its own connection or transaction)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.engine = store.engine

    def create(self, entity: str, project: str, sweep_id: str, config: dict[str, Any],
               name: str | None = None) -> dict[str, Any]:
        def insert(conn: Connection) -> None:
            now = time.time()
            pid = self.store.project_id(conn, entity, project, now)
            conn.execute(t.sweeps.insert().values(
                project_id=pid, sweep_id=sweep_id, name=name, config=config, state="RUNNING",
                created_at=now, updated_at=now,
            ))

        write_transaction(self.engine, insert)
        row = self.get(entity, project, sweep_id)
        assert row is not None
        return row

    def get(self, entity: str, project: str, sweep_id: str) -> dict[str, Any] | None:
        s, p = t.sweeps.c, t.projects.c
        with self.engine.connect() as conn:
            row = conn.execute(_sweep_select().where(
                and_(p.entity == entity, p.name == project, s.sweep_id == sweep_id))).first()
        return None if row is None else dict(row._mapping)

    def find(self, sweep_id: str) -> list[dict[str, Any]]:
        """Every sweep with this id, in any project (ids are unique per project)."""
        with self.engine.connect() as conn:
            rows = conn.execute(_sweep_select().where(t.sweeps.c.sweep_id == sweep_id)).all()
        return [dict(r._mapping) for r in rows]

    def find_by_pk(self, sweep_pk: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(_sweep_select().where(t.sweeps.c.id == sweep_pk)).all()
        return [dict(r._mapping) for r in rows]

    def in_project(self, entity: str, project: str) -> list[dict[str, Any]]:
        p = t.projects.c
        with self.engine.connect() as conn:
            rows = conn.execute(_sweep_select().where(and_(p.entity == entity, p.name == project))
                                .order_by(t.sweeps.c.created_at.desc(), t.sweeps.c.id.desc())).all()
        return [dict(r._mapping) for r in rows]

    def set_state(self, sweep_pk: int, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"sweep state must be one of {', '.join(STATES)}, got {state!r}")
        write_transaction(self.engine, lambda conn: conn.execute(
            update(t.sweeps).where(t.sweeps.c.id == sweep_pk).values(state=state, updated_at=time.time())))

    def trials(self, sweep: dict[str, Any], conn: Connection | None = None) -> list[dict[str, Any]]:
        """The sweep's trials in claim order, each with its run's state and summary (None
        until the run reaches the store)."""
        tr, r = t.sweep_trials.c, t.runs.c
        q = (
            select(tr.run_id, tr.params, tr.created_at, r.state, r.summary, r.name)
            .select_from(t.sweep_trials.outerjoin(
                t.runs, and_(r.project_id == sweep["project_id"], r.run_id == tr.run_id)))
            .where(tr.sweep_pk == sweep["id"])
            .order_by(tr.created_at, tr.run_id)
        )
        if conn is not None:
            return [dict(row._mapping) for row in conn.execute(q)]
        with self.engine.connect() as c:
            return [dict(row._mapping) for row in c.execute(q)]

    def claim(self, sweep_pk: int, propose: Propose) -> tuple[str, dict[str, Any]] | None:
        """Claim the next trial of a RUNNING sweep: ``propose`` sees the sweep and its trials
        inside the write transaction. None when the sweep is not running, or ``propose``
        says it is done (the sweep is then marked FINISHED)."""

        def run(conn: Connection) -> tuple[str, dict[str, Any]] | None:
            # PostgreSQL: lock the sweep's row, so claims queue as SQLite's BEGIN IMMEDIATE
            # makes them (FOR UPDATE renders as nothing there).
            conn.execute(select(t.sweeps.c.id).where(t.sweeps.c.id == sweep_pk).with_for_update())
            row = conn.execute(_sweep_select().where(t.sweeps.c.id == sweep_pk)).first()
            if row is None:
                return None
            sweep = dict(row._mapping)
            if sweep["state"] != "RUNNING":
                return None
            nxt = propose(sweep, self.trials(sweep, conn))
            now = time.time()
            if nxt is None:
                conn.execute(update(t.sweeps).where(t.sweeps.c.id == sweep_pk)
                             .values(state="FINISHED", updated_at=now))
                return None
            run_id, params = nxt
            conn.execute(t.sweep_trials.insert().values(sweep_pk=sweep_pk, run_id=run_id, params=params,
                                                        created_at=now))
            conn.execute(update(t.sweeps).where(t.sweeps.c.id == sweep_pk).values(updated_at=now))
            return run_id, params

        return write_transaction(self.engine, run)
