"""``writer.upsert``: statements are built once per table and column set, and still upsert right."""

from __future__ import annotations

import sqlalchemy as sa

from trackline.storage.sql import writer


def test_upsert_reuses_its_statement_and_updates_only_the_given_columns() -> None:
    meta = sa.MetaData()
    table = sa.Table("t", meta, sa.Column("k", sa.Integer, primary_key=True), sa.Column("a", sa.Integer),
                     sa.Column("b", sa.Integer))
    engine = sa.create_engine("sqlite://")
    meta.create_all(engine)
    with engine.begin() as conn:
        writer.upsert(conn, table, [{"k": 1, "a": 1, "b": 1}, {"k": 2, "a": 2, "b": 2}], ["k"])
        built = dict(writer._UPSERTS)
        writer.upsert(conn, table, [{"k": 1, "a": 10, "b": 10}], ["k"])
        assert built == writer._UPSERTS  # same table and columns: the statement is reused
        writer.upsert(conn, table, [{"k": 2, "a": 20}], ["k"])  # another column set: its own statement
        writer.upsert(conn, table, [{"k": 3}], ["k"])  # keys only: insert or leave alone
        writer.upsert(conn, table, [{"k": 3}], ["k"])
        rows = conn.execute(sa.select(table).order_by(table.c.k)).all()
    assert [tuple(r) for r in rows] == [(1, 10, 10), (2, 20, 2), (3, None, None)]
    assert len(writer._UPSERTS) >= len(built) + 2


def test_tables_of_one_name_get_their_own_statements() -> None:
    engine = sa.create_engine("sqlite://")
    first = sa.Table("same", sa.MetaData(), sa.Column("k", sa.Integer, primary_key=True), sa.Column("a", sa.Integer))
    other_meta = sa.MetaData()
    other = sa.Table("same", other_meta, sa.Column("k", sa.Integer, primary_key=True), sa.Column("a", sa.Text))
    other_meta.create_all(engine)
    with engine.begin() as conn:
        writer.upsert(conn, first, [{"k": 1, "a": 1}], ["k"])
        writer.upsert(conn, other, [{"k": 1, "a": "text"}], ["k"])
        stmts = [v for (dialect, table, *_), v in writer._UPSERTS.items() if table is first or table is other]
        assert len(stmts) == 2 and stmts[0] is not stmts[1]
        assert conn.execute(sa.select(other.c.a)).scalar() == "text"
