"""Bring a store's schema to the current Alembic head.

Opening a store that is already current costs one query: Alembic itself is imported
only when a migration has to run. A new, empty database is built straight from
``schema.metadata`` and stamped with the head revision (Alembic's "create from scratch"
recipe): a tenth of the time of replaying every migration, which a new user's first run
and every benchmark pay for. A test checks that both ways give the same schema. Concurrent first opens are serialised with a lock
(a file lock next to a SQLite database, an advisory lock on PostgreSQL).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from trackline.storage.sql.direct import HEAD_REVISION, MIGRATIONS_DIR, head_revision
from trackline.storage.sql.engine import sqlite_path, write_connection, write_transaction

__all__ = ["HEAD_REVISION", "MIGRATIONS_DIR", "current_revision", "ensure_schema", "head_revision", "upgrade"]

_PG_LOCK_ID = 0x7472_616B  # "trak"


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "sqlite":
        path = sqlite_path(str(engine.url))
        if path in ("", ":memory:"):
            yield
            return
        import fcntl

        with open(path + ".migrate-lock", "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
    else:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_ID})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_ID})
                conn.commit()


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS_DIR)
    with engine.connect() as conn:
        conn = write_connection(conn)
        with conn.begin():
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)


def create_fresh(engine: Engine) -> bool:
    """Build the head schema in an empty database; False if it holds any table already.

    One write transaction, begun with the write lock (``BEGIN IMMEDIATE`` on SQLite): a
    deferred one that reads the table list first and then writes fails at once with
    "database is locked" if anything else wrote in between, instead of waiting.
    """
    from trackline.storage.sql.schema import metadata

    def build(conn: Connection) -> bool:
        if inspect(conn).get_table_names():
            return False
        metadata.create_all(conn, checkfirst=False)
        conn.execute(
            text(
                "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
            )
        )
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": HEAD_REVISION})
        return True

    return write_transaction(engine, build)


def ensure_schema(engine: Engine) -> None:
    if current_revision(engine) == HEAD_REVISION:
        return
    with _migration_lock(engine):
        if current_revision(engine) != HEAD_REVISION and not create_fresh(engine):
            upgrade(engine)
