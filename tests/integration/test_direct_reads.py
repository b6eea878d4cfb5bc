"""``storage/sql/direct.py``: a SQLite store read through the driver gives what ``SQLStore``
and the query API give, and is used only for a store at the schema's head."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

import trackline
from tests.unit.api.seeding import make_run, store_path
from trackline.storage import open_store
from trackline.storage.sql import direct, migrate
from trackline.storage.sql import schema as t
from trackline.storage.sql.direct import DirectReads
from trackline.storage.sql.engine import make_engine


@pytest.fixture
def reads(isolated: Path) -> Iterator[DirectReads]:
    """The seeded store, read through the driver."""
    seed()
    opened = DirectReads.open(str(store_path(isolated)))
    assert opened is not None
    yield opened
    opened.close()


def seed() -> None:
    make_run("p", "a", rows=[{"loss": 1.0 / (s + 1), "n": s} for s in range(50)],
             config={"lr": 0.1, "nested": {"x": [1, 2]}}, tags=["x", "y"], summary={"best": math.inf})
    make_run("p", "b", rows=[{"loss": 0.5, "note": "text"}], group="g", job_type="train", notes="hi")
    make_run("p", "c")  # no history
    make_run("other", "a", rows=[{"acc": 0.9}])


def test_the_project_s_runs_are_the_query_api_s(reads: DirectReads) -> None:
    got = reads.project_runs(trackline.Api().default_entity, "p")
    want = [r._row for r in trackline.Api().runs("p", order="+created_at")]
    assert got is not None and [r["run_id"] for r in got] == ["a", "b", "c"]
    assert got == want  # every column, JSON decoded (inf included), in the same order
    assert reads.project_runs(trackline.Api().default_entity, "nope") is None
    assert reads.project_runs("someone-else", "p") is None


def test_the_export_reads_only_the_columns_it_uses(reads: DirectReads) -> None:
    """``trackline export`` asks for a run's pk, id, row count and rewinds (``RunRow``):
    config, summary and metadata are not read, nor their JSON decoded."""
    from trackline.cli.export import RunRow

    entity = trackline.Api().default_entity
    full = reads.project_runs(entity, "p")
    some = reads.project_runs(entity, "p", RunRow.COLUMNS)
    assert full is not None and some is not None
    assert some == [{k: r[k] for k in (*RunRow.COLUMNS, "entity", "project")} for r in full]
    assert reads.get_run(entity, "p", "a", RunRow.COLUMNS) == some[0]


def test_a_run_s_row_is_the_query_api_s(reads: DirectReads) -> None:
    entity = trackline.Api().default_entity
    for project, run_id in (("p", "a"), ("p", "c"), ("other", "a")):
        assert reads.get_run(entity, project, run_id) == trackline.Api().run(f"{entity}/{project}/{run_id}")._row
    assert reads.get_run(entity, "p", "zz") is None and reads.get_run(entity, "nope", "a") is None


def test_keys_and_key_ids_are_the_store_s(reads: DirectReads, isolated: Path) -> None:
    store = open_store(str(store_path(isolated)))
    try:
        api = trackline.Api()
        rows = [r._row for r in api.runs("p")]
        assert reads.keys_of_runs([r["pk"] for r in rows]) == api.reader.keys_of_runs(rows)
        assert reads.keys_of_runs([]) == ([], set())
        names = ["loss", "note", "n", "missing", "acc"]
        with store.engine.connect() as conn:
            assert DirectReads.key_ids(reads.conn, names) == store._lookup_key_ids(conn, names)
    finally:
        store.close()


def test_only_a_sqlite_store_at_the_head_revision_is_read_directly(isolated: Path, tmp_path: Path) -> None:
    assert DirectReads.open(str(tmp_path / "missing.db")) is None
    assert DirectReads.open("postgresql://localhost/db") is None
    assert DirectReads.open("sqlite:///:memory:") is None
    (tmp_path / "not-a-store.db").write_bytes(b"hello, not sqlite" * 100)
    assert DirectReads.open(str(tmp_path / "not-a-store.db")) is None
    old = tmp_path / "old.db"
    migrate.upgrade(make_engine(f"sqlite:///{old}"), "0006")
    assert DirectReads.open(str(old)) is None  # SQLStore migrates it first
    open_store(str(old)).close()
    reads = DirectReads.open(f"sqlite:///{old}")
    assert reads is not None
    reads.close()


def test_it_cannot_write(reads: DirectReads) -> None:
    import sqlite3

    with pytest.raises(sqlite3.OperationalError):
        reads.conn.execute("DELETE FROM runs")


def test_the_json_columns_are_the_schema_s() -> None:
    assert set(direct.JSON_RUN_COLUMNS) == {c.name for c in t.runs.columns if c.type is t.JSONType}
    assert direct.HEAD_REVISION == migrate.HEAD_REVISION
