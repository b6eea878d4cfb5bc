"""The write side of the SQL store: one record stream's batches, each in one transaction."""

from __future__ import annotations

import itertools
import logging
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, and_, func, or_, select, update

from trackline.runstate.changes import Changes
from trackline.storage import chunks
from trackline.storage.base import LIVE_STATES, RunKey
from trackline.storage.sql import schema as t
from trackline.storage.sql.engine import write_transaction

if TYPE_CHECKING:
    from trackline.storage.sql.store import SQLStore

log = logging.getLogger("trackline.store")

# Run columns a RUN_UPDATE or EXIT record may set.
RUN_FIELDS = (
    "name",
    "notes",
    "tags",
    "group",
    "job_type",
    "state",
    "exit_code",
    "reason",
    "finished_at",
    "runtime",
    "sweep_id",
)


def _insert(conn: Connection, table: Any) -> Any:
    # The dialect modules load on first use: SQLite processes never import PostgreSQL's
    # (its catalog alone is ~30 ms of the sender's start-up).
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


# Upsert statements by (dialect, table, updated columns, key columns): building one (its
# ``excluded`` column proxies) cost more than running it for the sender's small batches.
# Keyed by the Table itself: two tables of one name (other metadata) get their own.
_UPSERTS: dict[tuple[str, Any, tuple[str, ...], tuple[str, ...]], Any] = {}


def upsert(conn: Connection, table: Any, rows: list[dict[str, Any]], keys: list[str]) -> None:
    if not rows:
        return
    cols = tuple(c for c in rows[0] if c not in keys)
    cache_key = (conn.dialect.name, table, cols, tuple(keys))
    stmt = _UPSERTS.get(cache_key)
    if stmt is None:
        stmt = _insert(conn, table)
        if cols:
            stmt = stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in cols})
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=keys)
        _UPSERTS[cache_key] = stmt
    conn.execute(stmt, rows)


def insert_ignore(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(_insert(conn, table).on_conflict_do_nothing(), rows)


@dataclass
class _OpenChunk:
    chunk_no: int
    steps: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    values: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))


class SQLStreamWriter:
    """Applies one record stream's Changes; keeps the stream's open chunk per metric."""

    def __init__(self, store: SQLStore, key: RunKey, stream_id: bytes) -> None:
        self.store = store
        self.key = key
        self.stream_id = stream_id
        self.run_pk: int | None = None
        self.stream_pk: int | None = None
        self.applied_seq = 0
        self.ended_seq: int | None = None
        self._open: dict[tuple[str, int], _OpenChunk] = {}
        with store.engine.connect() as conn:
            self.run_pk = store.find_run_pk(conn, key)
            if self.run_pk is not None:
                row = conn.execute(
                    select(
                        t.run_streams.c.pk, t.run_streams.c.applied_seq, t.run_streams.c.ended_seq
                    ).where(
                        and_(
                            t.run_streams.c.run_pk == self.run_pk,
                            t.run_streams.c.stream_id == stream_id,
                        )
                    )
                ).first()
                if row is not None:
                    self.stream_pk, self.applied_seq = int(row[0]), int(row[1])
                    self.ended_seq = None if row[2] is None else int(row[2])

    def heartbeat(self, now: float) -> None:
        if self.run_pk is None:
            return
        run_pk = self.run_pk

        def tx(conn: Connection) -> None:
            conn.execute(
                update(t.runs)
                .where(and_(t.runs.c.pk == run_pk, t.runs.c.state.in_(LIVE_STATES)))
                .values(heartbeat_at=now)
            )

        write_transaction(self.store.engine, tx)

    def apply(self, ch: Changes) -> None:
        if ch.empty:
            return
        if ch.end_of_log:
            if self.ended_seq == ch.last_seq:
                return
        elif ch.last_seq <= self.applied_seq:
            return
        ids = self.store.key_ids(list(ch.points) + list(ch.values) + list(ch.system_points))
        now = time.time()
        file_rows = self._put_files(ch.files, now)
        if ch.artifacts:  # entry bytes into the blob store, before the transaction
            from trackline.storage.sql import artifacts  # loaded by runs that log artifacts only

            artifacts.prepare(self.store.blobs, ch.artifacts)
        result = write_transaction(self.store.engine, lambda conn: self._apply(conn, ch, ids, now, file_rows))
        self._open.update(result)
        self.applied_seq = max(self.applied_seq, ch.last_seq)
        if ch.end_of_log:
            self.ended_seq = ch.last_seq

    def _put_files(self, files: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
        """Copy run files into the blob store (content-addressed; before the transaction)."""
        blobs = self.store.blobs
        rows: dict[str, dict[str, Any]] = {}
        for f in files:
            src = f.get("abs")
            if blobs is None or not src or not os.path.isfile(src):
                continue  # gone (a temporary file) or no blob store: nothing to keep
            try:
                # Media files are trackline's own and never rewritten: linked, not copied.
                info = blobs.put_own_file(src) if f.get("own") else blobs.put_file(src)
            except OSError as exc:
                log.warning("trackline: could not store run file %s: %s", f["path"], exc)
                continue
            rows[f["path"]] = {
                "path": f["path"],
                "sha256": info.sha256,
                "md5": info.md5_b64,
                "size": info.size,
                "policy": f.get("policy") or "now",
                "updated_at": f.get("ts") or now,
            }
        return list(rows.values())

    def _apply(
        self,
        conn: Connection,
        ch: Changes,
        ids: dict[str, int],
        now: float,
        file_rows: list[dict[str, Any]] | None = None,
    ) -> dict[tuple[str, int], _OpenChunk]:
        run_pk = self.run_pk
        if ch.run is not None or run_pk is None:
            run_pk = self._upsert_run(conn, ch.run or {}, now)
        stream_pk = self.stream_pk
        if stream_pk is None:
            stream_pk = self._ensure_stream(conn, run_pk, now, (ch.run or {}).get("label"))
        else:
            seq = conn.execute(
                select(t.run_streams.c.applied_seq).where(t.run_streams.c.pk == stream_pk)
            ).scalar_one()
            if seq >= ch.last_seq and not ch.end_of_log:  # another process applied it already
                return {}
        opened = self._write_chunks(conn, t.history_chunks, ch.points, ids, run_pk, stream_pk)
        if ch.ended:
            self._last_pages(conn, run_pk, stream_pk)
        opened.update(self._write_chunks(conn, t.system_chunks, ch.system_points, ids, run_pk, stream_pk))
        value_rows = [
            {"run_pk": run_pk, "key_id": ids[name], "stream_pk": stream_pk, "step": step, "value": value}
            for name, pairs in ch.values.items()
            for step, value in pairs
        ]
        for i in range(0, len(value_rows), 5000):
            upsert(conn, t.history_values, value_rows[i : i + 5000], ["run_pk", "key_id", "stream_pk", "step"])
        new_keys = [{"run_pk": run_pk, "key_id": ids[n]} for n in (*ch.points, *ch.values)]
        insert_ignore(conn, t.run_keys, new_keys)
        if ch.metric_defs:
            upsert(
                conn,
                t.metric_defs,
                [{"run_pk": run_pk, "name": n, "definition": d} for n, d in ch.metric_defs.items()],
                ["run_pk", "name"],
            )
        self._write_events(conn, ch, run_pk, stream_pk)
        if ch.artifacts:
            from trackline.storage.sql import artifacts

            artifacts.apply(conn, run_pk, ch.artifacts, self.store.project_id, now)
        if file_rows:
            upsert(conn, t.run_files, [{"run_pk": run_pk, **r} for r in file_rows], ["run_pk", "path"])
        run_values: dict[str, Any] = {"updated_at": now}
        if ch.run_fields.get("state") in LIVE_STATES or "state" not in ch.run_fields:
            run_values["heartbeat_at"] = now
        for k, v in ch.run_fields.items():
            if k in RUN_FIELDS:
                run_values[k] = v
        if ch.config is not None or ch.config_removed or ch.summary is not None or ch.summary_removed:
            current = conn.execute(
                select(t.runs.c.config, t.runs.c.summary).where(t.runs.c.pk == run_pk)
            ).one()
            if ch.config is not None or ch.config_removed:
                run_values["config"] = _merged(current[0], ch.config, ch.config_removed)
            if ch.summary is not None or ch.summary_removed:
                run_values["summary"] = _merged(current[1], ch.summary, ch.summary_removed)
        if ch.rows:
            run_values["history_rows"] = t.runs.c.history_rows + ch.rows
            steps_seen = [int(s.max()) for s, _ in ch.points.values() if len(s)]
            steps_seen += [max(p[0] for p in pairs) for pairs in ch.values.values() if pairs]
            if steps_seen:
                top = max(steps_seen)
                greatest = func.max if conn.dialect.name == "sqlite" else func.greatest
                run_values["last_step"] = func.coalesce(greatest(t.runs.c.last_step, top), top)
        conn.execute(update(t.runs).where(t.runs.c.pk == run_pk).values(**run_values))
        stream_values: dict[str, Any] = {"applied_seq": max(ch.last_seq, self.applied_seq)}
        if ch.end_of_log:
            stream_values["ended_seq"] = ch.last_seq
        conn.execute(
            update(t.run_streams).where(t.run_streams.c.pk == stream_pk).values(**stream_values)
        )
        self.run_pk, self.stream_pk = run_pk, stream_pk
        return opened

    def _write_chunks(
        self,
        conn: Connection,
        table: Any,
        points: dict[str, tuple[np.ndarray, np.ndarray]],
        ids: dict[str, int],
        run_pk: int,
        stream_pk: int,
    ) -> dict[tuple[str, int], _OpenChunk]:
        """Append points to the stream's open chunk per metric, sealing full chunks. Once a
        group of ``chunks.PAGE_GROUP`` sealed float chunks of history is complete (32,768
        points), their values also go to ``history_pages`` as one Parquet page, for export.
        A run's last, incomplete group gets its page when the stream ends (``_last_pages``).
        Pages of single chunks were tried: with ~15,000 small pages per 10M points the export
        spent more time on pages than on data, and packing chunks twice (alone, then as a
        group) cost the sender ~20% of its replay rate."""
        opened: dict[tuple[str, int], _OpenChunk] = {}
        rows: list[dict[str, Any]] = []
        pages: list[dict[str, Any]] = []
        with_pages = table is t.history_chunks
        for name, (steps, values) in points.items():
            kid = ids[name]
            cache_key = (table.name, kid)
            oc = self._open.get(cache_key) or self._load_open(conn, table, run_pk, kid, stream_pk)
            all_steps = np.concatenate([oc.steps, steps]) if len(oc.steps) else steps
            all_values = np.concatenate([oc.values, values]) if len(oc.values) else values
            no = oc.chunk_no
            start = 0
            sealed: dict[int, tuple[np.ndarray, np.ndarray]] = {}
            while len(all_steps) - start >= chunks.CHUNK_POINTS:
                end = start + chunks.CHUNK_POINTS
                rows.append(_chunk_row(run_pk, kid, stream_pk, no, all_steps[start:end], all_values[start:end]))
                if with_pages and all_values.dtype.kind == "f":
                    sealed[no] = (all_steps[start:end], all_values[start:end])
                no += 1
                start = end
            rest_s, rest_v = all_steps[start:], all_values[start:]
            if len(rest_s):
                rows.append(_chunk_row(run_pk, kid, stream_pk, no, rest_s, rest_v))
            opened[cache_key] = _OpenChunk(no, rest_s, rest_v)
            for chunk_no in sealed:
                if (chunk_no + 1) % chunks.PAGE_GROUP == 0:
                    page = self._group_page(conn, table, run_pk, kid, stream_pk, chunk_no + 1 - chunks.PAGE_GROUP,
                                            sealed)
                    if page is not None:
                        pages.append(page)
        upsert(conn, table, rows, ["run_pk", "key_id", "stream_pk", "chunk_no"])
        if pages:
            upsert(conn, t.history_pages, pages, ["run_pk", "key_id", "stream_pk", "chunk_no"])
        return opened

    def _group_page(self, conn: Connection, table: Any, run_pk: int, kid: int, stream_pk: int, first: int,
                    sealed: dict[int, tuple[np.ndarray, np.ndarray]]) -> dict[str, Any] | None:
        """The page of chunks ``first .. first + PAGE_GROUP - 1``: their steps and values from
        this batch (``sealed``) or from the store. None (no page) when one is not all floats
        or the group's steps are not evenly spaced (``chunks.even_span``): the export packs
        those chunks itself, and a page's step range stands for its chunks' steps."""
        c = table.c
        want = [no for no in range(first, first + chunks.PAGE_GROUP) if no not in sealed]
        stored: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if want:
            q = select(c.chunk_no, c.step_min, c.n, c.dtype, c.steps, c.vals).where(and_(
                c.run_pk == run_pk, c.key_id == kid, c.stream_pk == stream_pk,
                c.chunk_no >= want[0], c.chunk_no <= want[-1]))
            for no, step_min, n, dtype, steps, vals in conn.execute(q):
                if no in sealed:
                    continue  # stored while still open; sealed in this batch
                if dtype[0] != "f" or n != chunks.CHUNK_POINTS:
                    return None
                stored[int(no)] = chunks.decode(step_min, n, dtype, steps, vals)
        found = [sealed[no] if no in sealed else stored.get(no) for no in range(first, first + chunks.PAGE_GROUP)]
        parts = [p for p in found if p is not None]
        if len(parts) != chunks.PAGE_GROUP:
            return None  # a chunk of the group is missing (not expected: chunks seal in order)
        return _page_row(run_pk, kid, stream_pk, first, parts)

    def _last_pages(self, conn: Connection, run_pk: int, stream_pk: int) -> None:
        """When the stream ends: each float metric's last, incomplete group of chunks (the
        whole of a run shorter than 32,768 steps) gets its page too, saying how many points it
        holds, so the export copies a finished run and packs nothing. Once per stream, at its
        end, in one query for all metrics. A later write to the group (not expected: a
        stream's exit is its last record) leaves the page short of its last chunk: the export
        checks that chunk's points against the page's and reads the chunks instead."""
        c, p = t.history_chunks.c, t.history_pages.c
        ends = select(c.key_id, func.max(c.chunk_no).label("last")).where(
            and_(c.run_pk == run_pk, c.stream_pk == stream_pk)).group_by(c.key_id).subquery()
        rows = conn.execute(
            select(c.key_id, c.chunk_no, ends.c.last, c.step_min, c.n, c.dtype, c.steps, c.vals)
            .join(ends, ends.c.key_id == c.key_id)
            .where(and_(c.run_pk == run_pk, c.stream_pk == stream_pk,
                        c.chunk_no >= ends.c.last - ends.c.last % chunks.PAGE_GROUP))
            .order_by(c.key_id, c.chunk_no)).all()
        whole = {(int(k), int(no)) for k, no, count, points in conn.execute(
            select(p.key_id, p.chunk_no, p.chunks, p.points).where(and_(p.run_pk == run_pk, p.stream_pk == stream_pk)))
            if count == chunks.PAGE_GROUP and points in (None, chunks.PAGE_GROUP * chunks.CHUNK_POINTS)}
        pages, stale = [], []
        for kid, group in itertools.groupby(rows, key=lambda r: int(r[0])):
            held = list(group)
            first, last = int(held[0][1]), int(held[0][2])
            first -= first % chunks.PAGE_GROUP
            if (kid, first) in whole:
                continue  # its group is complete and has its page
            page = None
            if [int(r[1]) for r in held] == list(range(first, last + 1)) and all(
                    r[5][0] == "f" and (r[4] == chunks.CHUNK_POINTS or r[1] == last) for r in held):
                page = _page_row(run_pk, kid, stream_pk, first,
                                 [chunks.decode(r[3], r[4], r[5], r[6], r[7]) for r in held])
            if page is not None:
                pages.append(page)
            else:  # the page of an earlier end (a crashed log synced again in full) no longer holds it
                stale.append(and_(p.key_id == kid, p.chunk_no == first))
        if pages:
            upsert(conn, t.history_pages, pages, ["run_pk", "key_id", "stream_pk", "chunk_no"])
        if stale:
            conn.execute(t.history_pages.delete().where(and_(p.run_pk == run_pk, p.stream_pk == stream_pk,
                                                             or_(*stale))))

    def _write_events(self, conn: Connection, ch: Changes, run_pk: int, stream_pk: int) -> None:
        """Alerts, their delivery results, and console output lines."""
        if ch.alerts:
            upsert(
                conn,
                t.alerts,
                [
                    {
                        "run_pk": run_pk,
                        "stream_pk": stream_pk,
                        "seq": a["seq"],
                        "ts": a["ts"],
                        "title": a["title"],
                        "text": a["text"],
                        "level": a["level"],
                        "wait_ms": a["wait_ms"],
                        "throttled": bool(a.get("throttled")),
                        "delivery": a.get("delivery"),
                    }
                    for a in ch.alerts
                ],
                ["run_pk", "stream_pk", "seq"],
            )
        for alert_seq, delivery in ch.alert_status:
            conn.execute(
                update(t.alerts)
                .where(and_(t.alerts.c.run_pk == run_pk, t.alerts.c.stream_pk == stream_pk, t.alerts.c.seq == alert_seq))
                .values(delivery=delivery)
            )
        if ch.logs:
            upsert(
                conn,
                t.run_logs,
                [
                    {"run_pk": run_pk, "stream_pk": stream_pk, "seq": seq, "ts": ts, "source": source, "text": text}
                    for seq, ts, source, text in ch.logs
                ],
                ["run_pk", "stream_pk", "seq"],
            )

    def _upsert_run(self, conn: Connection, run: dict[str, Any], now: float) -> int:
        key = self.key
        project_id = self.store.project_id(conn, key.entity, key.project, now)
        meta = run.get("metadata") or {}
        start = float(run.get("start_time") or now)
        row = {
            "project_id": project_id,
            "run_id": key.run_id,
            "name": run.get("name"),
            "notes": run.get("notes"),
            "tags": list(run.get("tags") or []),
            "group": run.get("group") or None,
            "job_type": run.get("job_type") or None,
            "state": "running",
            "created_at": start,
            "updated_at": now,
            "heartbeat_at": now,
            "host": meta.get("host"),
            "pid": meta.get("pid"),
            "sweep_id": run.get("sweep_id"),
            "metadata": meta,
            "config": run.get("config") or {},
            "summary": run.get("summary") or {},
            "starting_step": int(run.get("starting_step") or 0),
            "history_rows": 0,
            "forked_from": run.get("forked_from"),
            "fork_step": run.get("fork_step"),
        }
        existing = self.store.find_run_pk(conn, key)
        if existing is None:
            insert_ignore(conn, t.runs, [row])
            existing = self.store.find_run_pk(conn, key)
            assert existing is not None
            return existing
        if not run.get("owns_state", True):
            return existing  # a secondary writer of a shared run: the primary owns the row
        # The run exists (resume, or the primary writer of a shared run): it runs again.
        values: dict[str, Any] = {
            "state": "running",
            "exit_code": None,
            "reason": None,
            "finished_at": None,
            "updated_at": now,
            "heartbeat_at": now,
            "host": row["host"],
            "pid": row["pid"],
            "metadata": meta,
        }
        if run.get("resumed"):
            for field_name in ("name", "notes", "tags", "group", "job_type"):
                if field_name in run:
                    values[field_name] = row[field_name]
        rewind = run.get("rewind_step")
        if rewind is not None:
            # resume_from: hide (not delete) what earlier writers logged after the step.
            top = conn.execute(
                select(func.max(t.run_streams.c.pk)).where(t.run_streams.c.run_pk == existing)
            ).scalar()
            cutoffs = conn.execute(
                select(t.runs.c.history_cutoffs).where(t.runs.c.pk == existing)
            ).scalar() or []
            if top is not None:
                values["history_cutoffs"] = [*cutoffs, [int(top), int(rewind)]]
            values["last_step"] = int(rewind)
        conn.execute(update(t.runs).where(t.runs.c.pk == existing).values(**values))
        return existing

    def _ensure_stream(self, conn: Connection, run_pk: int, now: float, label: str | None) -> int:
        s = t.run_streams.c
        insert_ignore(
            conn,
            t.run_streams,
            [{"run_pk": run_pk, "stream_id": self.stream_id, "applied_seq": 0, "created_at": now, "label": label}],
        )
        return int(
            conn.execute(
                select(s.pk).where(and_(s.run_pk == run_pk, s.stream_id == self.stream_id))
            ).scalar_one()
        )

    def _load_open(self, conn: Connection, table: Any, run_pk: int, kid: int, stream_pk: int) -> _OpenChunk:
        c = table.c
        row = conn.execute(
            select(c.chunk_no, c.step_min, c.n, c.dtype, c.steps, c.vals)
            .where(and_(c.run_pk == run_pk, c.key_id == kid, c.stream_pk == stream_pk))
            .order_by(c.chunk_no.desc())
            .limit(1)
        ).first()
        if row is None:
            return _OpenChunk(0)
        no, step_min, n, dtype, steps, vals = row
        if n >= chunks.CHUNK_POINTS:
            return _OpenChunk(int(no) + 1)
        s, v = chunks.decode(step_min, n, dtype, steps, vals)
        return _OpenChunk(int(no), s, v)


def _page_row(run_pk: int, kid: int, stream_pk: int, first: int,
              parts: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any] | None:
    """The ``history_pages`` row of chunks ``first, first + 1, ...`` (their steps and values,
    in order), or None when their steps are not evenly spaced."""
    steps = np.concatenate([s for s, _ in parts])
    span = chunks.even_span(steps)
    if span is None:
        return None
    return {"run_pk": run_pk, "key_id": kid, "stream_pk": stream_pk, "chunk_no": first, "chunks": len(parts),
            "step_first": span[0], "step_last": span[1], "points": len(steps),
            "page": chunks.pack_f8(np.concatenate([v for _, v in parts]))}


def _merged(current: dict[str, Any] | None, changed: dict[str, Any] | None, removed: list[str]) -> dict[str, Any]:
    out = dict(current or {})
    out.update(changed or {})
    for key in removed:
        out.pop(key, None)
    return out


def _chunk_row(
    run_pk: int, kid: int, stream_pk: int, no: int, steps: np.ndarray, values: np.ndarray
) -> dict[str, Any]:
    enc = chunks.encode(steps, values)
    return {
        "run_pk": run_pk,
        "key_id": kid,
        "stream_pk": stream_pk,
        "chunk_no": no,
        "step_min": enc.step_min,
        "step_max": enc.step_max,
        "n": enc.n,
        "dtype": enc.dtype,
        "steps": enc.steps,
        "vals": enc.values,
    }
