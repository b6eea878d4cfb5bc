"""Filters and orders that cannot compile say what to write instead; PostgreSQL SQL renders."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from trackline.storage.sql import query
from trackline.storage.sql.query import (
    FilterError,
    compile_filter,
    next_cursor,
    parse_order,
    runs_query,
)


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"config.lr": {"$foo": 1}}, "unknown operator '$foo' on config.lr; use one of $eq"),
        ({"$xor": []}, "unknown operator '$xor' at the top level"),
        ({"colour": "red"}, "unknown field 'colour'; use config.<key>"),
        ({"config.lr": {"$in": 0.1}}, "$in on config.lr needs a list of values"),
        ({"config.lr": {"$nin": "abc"}}, "$nin on config.lr needs a list of values"),
        ({"state": {"$exists": "yes"}}, "$exists on state needs true or false"),
        ({"config.arch": {"$regex": "("}}, "is not a valid pattern"),
        ({"config.arch": {"$regex": 5}}, "$regex on config.arch needs a pattern string"),
        ({"config.arch": {"$regex": "a", "$options": "q"}}, "$options on config.arch must use the letters"),
        ({"config.arch": {"$options": "i"}}, "$options on config.arch needs a $regex beside it"),
        ({"config.lr": {"$gt": 1, "x": 2}}, "mixes operators and plain keys"),
        ({"$or": {"state": "x"}}, "$or needs a non-empty list of filters"),
        ({"$and": []}, "$and needs a non-empty list"),
        ({"config.lr": {"$gt": None}}, "$gt on config.lr needs a number or text"),
        ({"state": {"$gt": True}}, "$gt on state needs a number, text or date"),
        ({"created_at": {"$gt": "yesterday"}}, "created_at $gt needs a date like '2024-05-01'"),
        ({"config.lr": {"$not": 5}}, "$not on config.lr needs operators"),
        ({"tags": {"$gt": 1}}, "$gt on tags needs text"),
        ({'config.a"b': 1}, "which SQLite's JSON paths cannot name"),
    ],
)
def test_bad_filters_name_the_problem(filters: dict, message: str) -> None:
    with pytest.raises(FilterError) as info:
        compile_filter(filters)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_filters_must_be_a_dict() -> None:
    with pytest.raises(FilterError, match="filters must be a dict"):
        compile_filter([{"state": "x"}])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("order", "message"),
    [("-tags", "^order: runs cannot be sorted by tags"), ("+colour", "^order: unknown field 'colour'"), ("", None)],
)
def test_orders(order: str, message: str | None) -> None:
    if message is None:
        assert parse_order(order).text == "-created_at"
        return
    with pytest.raises(FilterError, match=message):
        parse_order(order)


def test_order_spellings() -> None:
    assert parse_order("summary_metrics.acc") == query.Order("+summary_metrics.acc", "summary_metrics.acc", False)
    assert parse_order("-config.lr.value").descending


def test_cursor_is_tied_to_its_order() -> None:
    row = {"_sort_rank": 0, "_sort_num": 1.5, "_sort_text": None, "pk": 7}
    cur = next_cursor(row, "-summary_metrics.acc")
    assert query.decode_cursor(cur, parse_order("-summary_metrics.acc")) == (0, 1.5, None, 7)
    with pytest.raises(FilterError, match=r"made for order '-summary_metrics\.acc'"):
        runs_query(order="+created_at", cursor=cur)
    with pytest.raises(FilterError, match="is not a cursor"):
        runs_query(cursor="garbage!")


def test_unknown_database() -> None:
    with pytest.raises(FilterError, match="no run query support for the 'mysql' database"):
        runs_query(dialect="mysql")


EVERY_OPERATOR = {
    "$and": [
        {"config.lr": {"$gt": 0.1, "$gte": 0.1, "$lt": 1, "$lte": 1, "$ne": 0.5}},
        {"config.arch": {"$regex": "^res", "$options": "i"}},
        {"config.opt.name": {"$in": ["adam", None]}, "config.flag": True, "config.layers": [64, 64]},
        {"summary_metrics.acc": {"$nin": [1, 2]}, "summary.loss": {"$exists": True}},
        {"config.lr.value": {"$not": {"$lt": 0}}},
        {"tags": "gpu"}, {"tags": {"$in": ["a"], "$nin": ["b"], "$regex": "x", "$exists": True}},
        {"state": "finished", "group": None, "job_type": {"$in": ["train", None]}},
        {"created_at": {"$gt": "2024-01-01T00:00:00Z"}, "runtime": {"$lt": 60}},
        {"username": "me", "display_name": {"$regex": "a"}},
    ],
    "$or": [{"name": "abc"}, {"$not": {"group": "g"}}],
    "$nor": [{"host": "x"}],
}


def test_every_operator_renders_for_postgresql_jsonb() -> None:
    stmt = runs_query(EVERY_OPERATOR, "-summary_metrics.acc", "e", "p", dialect="postgresql", limit=10)
    sql = str(stmt.compile(dialect=postgresql.dialect()))
    assert "jsonb_typeof" in sql and "#>" in sql and "jsonb_array_elements_text" in sql
    assert "json_extract" not in sql and "json_type(" not in sql
    assert " ~ " in sql  # regex
    assert "ORDER BY _sort_rank ASC, _sort_num DESC, _sort_text DESC, runs.pk DESC" in sql
    count = query.count_query(EVERY_OPERATOR, "e", "p", dialect="postgresql")
    assert "count(*)" in str(count.compile(dialect=postgresql.dialect()))


def test_every_operator_renders_for_sqlite() -> None:
    stmt = runs_query(EVERY_OPERATOR, "+created_at", "e", "p", dialect="sqlite")
    sql = str(stmt.compile(dialect=sqlite.dialect()))
    assert "json_type" in sql and "json_each(runs.tags)" in sql and "REGEXP" in sql
    # a column order has no JSON parts in its ORDER BY (PostgreSQL refuses constants there)
    assert "ORDER BY _sort_rank ASC, _sort_num ASC, runs.pk ASC" in sql
