"""The Alembic migrations build exactly the schema in schema.py; opening is cheap once current."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from tests.conftest import postgres_database
from trackline.storage import open_store
from trackline.storage.sql import engine as engine_module
from trackline.storage.sql import migrate
from trackline.storage.sql.engine import make_engine
from trackline.storage.sql.schema import metadata


def test_head_constant_matches_the_scripts() -> None:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", migrate.MIGRATIONS_DIR)
    assert ScriptDirectory.from_config(cfg).get_current_head() == migrate.HEAD_REVISION


def _shape(engine: Engine) -> dict[str, Any]:
    """Every table's columns, keys, indexes and constraints, as the database reports them."""
    insp = inspect(engine)
    out: dict[str, Any] = {}
    for name in sorted(insp.get_table_names()):
        out[name] = {
            "columns": sorted(
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default"))) for c in insp.get_columns(name)
            ),
            "pk": sorted(insp.get_pk_constraint(name)["constrained_columns"]),
            "fks": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]), str(f.get("options")))
                for f in insp.get_foreign_keys(name)
            ),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(name)),
            "uniques": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(name)),
        }
    return out


def _migrated(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    return engine


def test_migrations_match_schema(tmp_path: Path) -> None:
    engine = _migrated(tmp_path / "m.db")
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    assert diff == []
    assert migrate.current_revision(engine) == migrate.HEAD_REVISION


def test_a_new_store_is_built_from_the_schema_exactly_as_the_migrations_build_it(tmp_path: Path) -> None:
    fresh = open_store(str(tmp_path / "fresh.db")).engine
    assert migrate.current_revision(fresh) == migrate.HEAD_REVISION
    assert _shape(fresh) == _shape(_migrated(tmp_path / "migrated.db"))


def test_on_postgresql_too() -> None:
    with postgres_database() as a, postgres_database() as b:
        fresh = open_store(a).engine
        migrated = make_engine(b)
        migrate.upgrade(migrated)
        try:
            assert migrate.current_revision(fresh) == migrate.HEAD_REVISION
            assert _shape(fresh) == _shape(migrated)
        finally:
            fresh.dispose()
            migrated.dispose()


def test_a_new_store_is_not_built_by_replaying_migrations(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(migrate, "upgrade", lambda *a, **k: (_ for _ in ()).throw(AssertionError("migrated")))
    store = open_store(str(tmp_path / "m.db"))
    assert migrate.current_revision(store.engine) == migrate.HEAD_REVISION


def test_an_old_store_is_migrated_not_rebuilt(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO projects (entity, name, created_at) VALUES ('e', 'p', 0)"))
    store = open_store(str(tmp_path / "old.db"))
    assert migrate.current_revision(store.engine) == migrate.HEAD_REVISION
    assert store.list_projects("e")[0]["name"] == "p"


def _a_page_at(path: Path, revision: str, **page: Any) -> Engine:
    """A SQLite store at ``revision`` (0006 or later) with one run (pk 1) and one page of
    its history: ``page``'s columns beside ``run_pk, key_id, stream_pk`` (all 1)."""
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine, revision)
    row = {"run_pk": 1, "key_id": 1, "stream_pk": 1, **page}
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO projects (entity, name, created_at) VALUES ('e', 'p', 0)"))
        conn.execute(text("INSERT INTO runs (project_id, run_id, state, created_at, updated_at, history_rows) "
                          "VALUES (1, 'r', 'finished', 0, 0, 0)"))
        conn.execute(text(f"INSERT INTO history_pages ({', '.join(row)}) VALUES ({', '.join(':' + c for c in row)})"),
                     row)
    return engine


def test_0007_drops_the_pages_that_do_not_say_their_steps(tmp_path: Path) -> None:
    """Pages of 0006 had no step range, which the export now reads instead of their chunks:
    0007 deletes them (the export packs those chunks itself) and adds the range columns."""
    engine = _a_page_at(tmp_path / "pages.db", "0006", chunk_no=0, chunks=16, page=b"\x00")
    migrate.upgrade(engine, "0007")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM history_pages")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM runs")).scalar() == 1
    assert {c["name"] for c in inspect(engine).get_columns("history_pages")} >= {"step_first", "step_last"}


def test_0008_keeps_the_pages_and_indexes_how_many_points_each_holds(tmp_path: Path) -> None:
    """Pages of 0007 hold 16 full chunks: they stay, with no count (read as 32,768). The
    pages' index gains the count, so the export's probe still reads no page row; going back
    drops the pages of a run's last group, which 0007 cannot tell from full ones."""
    engine = _a_page_at(tmp_path / "points.db", "0007", chunk_no=0, chunks=16, page=b"\x00", step_first=0,
                        step_last=32767)
    migrate.upgrade(engine, "0008")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT chunk_no, points FROM history_pages")).all() == [(0, None)]
        conn.execute(text("INSERT INTO history_pages (run_pk, key_id, stream_pk, chunk_no, chunks, page, "
                          "step_first, step_last, points) VALUES (1, 1, 1, 16, 2, x'00', 32768, 32799, 32)"))
    index = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("history_pages")}
    assert index["ix_history_pages_steps"][-1] == "points"
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", migrate.MIGRATIONS_DIR)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT chunk_no FROM history_pages")).all() == [(0,)]
    assert "points" not in {c["name"] for c in inspect(engine).get_columns("history_pages")}


def test_reopening_a_current_store_does_not_run_alembic(tmp_path: Path, monkeypatch) -> None:
    open_store(str(tmp_path / "m.db")).close()
    monkeypatch.setattr(migrate, "upgrade", lambda *a, **k: (_ for _ in ()).throw(AssertionError("migrated again")))
    open_store(str(tmp_path / "m.db")).close()


def test_building_a_new_store_waits_for_a_writer_instead_of_failing(tmp_path: Path) -> None:
    """Another process writes into the new file while this one looks at its tables.

    A deferred transaction would read the (empty) table list, then fail at once with
    "database is locked" when it tries to write after the other commit; the build takes
    the write lock first, waits, and then sees the other side's tables.
    """
    path = tmp_path / "new.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect():
        pass  # the file exists, in WAL mode
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE made_elsewhere (x INTEGER)")

    def commit_later() -> None:
        threading.Event().wait(0.3)
        other.execute("COMMIT")

    thread = threading.Thread(target=commit_later)
    thread.start()
    try:
        assert migrate.create_fresh(engine) is False
    finally:
        thread.join()
        other.close()


def test_switching_to_wal_retries_while_the_new_file_is_locked() -> None:
    """SQLite can refuse ``journal_mode=WAL`` on a file being created without calling the busy handler."""
    class Cursor:
        calls = 0

        def execute(self, sql: str) -> None:
            self.calls += 1
            if self.calls < 3:
                raise sqlite3.OperationalError("database is locked")

    cur = Cursor()
    engine_module._set_wal(cur)
    assert cur.calls == 3

    class Broken:
        def execute(self, sql: str) -> None:
            raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        engine_module._set_wal(Broken())


def test_a_new_store_has_8_kb_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    new = open_store(f"sqlite:///{tmp_path / 'new.db'}")
    with new.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == engine_module.PAGE_SIZE == 8192
    old_path = tmp_path / "old.db"
    with sqlite3.connect(old_path) as conn:  # made by an older trackline: SQLite's default 4 KB
        conn.execute("PRAGMA page_size=4096")
        conn.execute("CREATE TABLE made_before (x INTEGER)")
    old = open_store(f"sqlite:///{old_path}")  # migrated in place, still 4 KB pages
    with old.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 4096
        assert "runs" in inspect(conn).get_table_names()


def test_histogram_values_stay_inline_on_their_pages(isolated: Path) -> None:
    """A 64-bin histogram is ~1.5-1.8 KB of JSON: on 4 KB pages each took an overflow page
    (~4.7 KB per value); on 8 KB pages it stays in its b-tree leaf (~1.7 KB)."""
    import numpy as np

    import trackline

    rng = np.random.default_rng(0)
    run = trackline.init(project="pages")
    for _ in range(1000):
        run.log({"h": trackline.Histogram(rng.normal(size=2000), num_bins=64)})
    run.finish()
    db = isolated / "home" / "trackline.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size, pages = conn.execute("PRAGMA page_size").fetchone()[0], conn.execute("PRAGMA page_count").fetchone()[0]
    assert page_size * pages / 1000 < 3000  # bytes per histogram, everything else in the store included
