"""Engines for the SQL store, and the write-transaction discipline.

SQLite: WAL mode, one ``BEGIN IMMEDIATE`` transaction per batch (so writers queue
on the database lock instead of failing half-way), a long busy timeout, and a retry
loop on top, so several processes writing into one file never see "database is
locked". Readers use plain deferred transactions and never block writers.
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from trackline.storage import jsonvalues
from trackline.storage.sql.direct import sqlite_path

log = logging.getLogger("trackline.store")
T = TypeVar("T")

BUSY_TIMEOUT_MS = 60_000
# New stores use 8 KB pages. ``history_values`` is clustered by its key (WITHOUT ROWID), and
# an index b-tree keeps at most ~1 KB of a row on a 4 KB page (SQLite's default): a media
# reference or a 64-bin histogram (~1.5-1.8 KB of JSON; ``watch()`` logs one per tensor) then
# took a 4 KB overflow page of its own. With 8 KB pages rows up to ~2 KB stay inline:
# measured on 5,000 histogram values, 1.7 KB per value instead of 4.7 KB, inserted 2.8x faster.
# A store made before keeps its page size (SQLite changes it only on VACUUM outside WAL).
PAGE_SIZE = 8192
WAL_CHECKPOINT_BYTES = 4096 * 1000
_WRITE = "trackline_write"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path not in ("", ":memory:"):
            os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
        engine = create_engine(
            f"sqlite:///{path}",
            json_serializer=jsonvalues.dumps,
            json_deserializer=jsonvalues.loads,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # transactions are begun below, explicitly
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute(f"PRAGMA page_size={PAGE_SIZE}")  # takes effect on a new file only: before WAL
            _set_wal(cur)
            # SQLite checkpoints the WAL every 1,000 pages: 4 MB of 4 KB pages. Keep that in
            # bytes whatever the file's page size, so the WAL a run leaves open is no bigger.
            page_size = cur.execute("PRAGMA page_size").fetchone()[0]
            cur.execute(f"PRAGMA wal_autocheckpoint={max(1, WAL_CHECKPOINT_BYTES // page_size)}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            write = conn.get_execution_options().get(_WRITE)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    if url.startswith(("postgresql", "postgres")):
        pg_url = url.replace("postgres://", "postgresql://", 1)
        if pg_url.startswith("postgresql://"):
            pg_url = "postgresql+psycopg://" + pg_url[len("postgresql://") :]
        return create_engine(
            pg_url,
            json_serializer=jsonvalues.dumps,
            json_deserializer=jsonvalues.loads,
            pool_pre_ping=True,
        )
    raise ValueError(
        f"unsupported store URL {url!r}: use sqlite:///path/to/trackline.db or postgresql://..."
    )


def _set_wal(cur: Any) -> None:
    """Switch the database to WAL, waiting while another process holds it.

    On a new database file SQLite can answer "database is locked" at once, without
    calling the busy handler, while another connection is creating it or switching it
    to WAL itself; several processes opening one new store would then fail at random.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.002
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.1)


def write_connection(conn: Connection) -> Connection:
    """``conn`` with transactions begun as ``BEGIN IMMEDIATE`` on SQLite (the write lock up front)."""
    return conn.execution_options(**{_WRITE: True})


def _is_lock_error(exc: OperationalError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return "locked" in text or "busy" in text or "deadlock" in text or "serialize" in text


def write_transaction(engine: Engine, fn: Callable[[Connection], T], attempts: int = 50) -> T:
    """Run ``fn`` in one write transaction, retrying when another writer holds the lock."""
    delay = 0.005
    for attempt in range(attempts):
        try:
            with engine.connect() as conn:
                conn = write_connection(conn)
                with conn.begin():
                    return fn(conn)
        except OperationalError as exc:
            if not _is_lock_error(exc) or attempt == attempts - 1:
                raise
            log.debug("store busy (attempt %d): %s", attempt + 1, exc)
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 1.0)
    raise AssertionError("unreachable")


def read_connection(engine: Engine) -> Connection:
    return engine.connect()
