"""The Alembic migrations build exactly the schema in schema.py; opening is cheap once current."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from trackline.storage import open_store
from trackline.storage.sql import migrate
from trackline.storage.sql.schema import metadata


def test_head_constant_matches_the_scripts() -> None:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", migrate.MIGRATIONS_DIR)
    assert ScriptDirectory.from_config(cfg).get_current_head() == migrate.HEAD_REVISION


def test_migrations_match_schema(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "m.db"))
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    assert diff == []
    assert migrate.current_revision(store.engine) == migrate.HEAD_REVISION


def test_reopening_a_current_store_does_not_run_alembic(tmp_path: Path, monkeypatch) -> None:
    open_store(str(tmp_path / "m.db")).close()
    monkeypatch.setattr(migrate, "upgrade", lambda *a, **k: (_ for _ in ()).throw(AssertionError("migrated again")))
    open_store(str(tmp_path / "m.db")).close()
