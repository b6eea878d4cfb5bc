"""Run listings in SQL: W&B's MongoDB-style filters, orders and keyset pagination.

This module only *builds* statements (SQLAlchemy Core); ``SQLStore.query_runs`` and
``SQLStore.count_runs`` execute them, and the REST runs endpoint can reuse them as is::

    stmt = runs_query(filters, order, entity, project, dialect="sqlite", limit=51)
    rows = conn.execute(stmt).mappings().all()
    cursor = next_cursor(rows[49], order)      # pass back as ``cursor=`` for the next page

Nothing here loads runs into Python to filter them: every operator becomes a SQL
expression over the ``runs`` table (``config``, ``summary`` and ``metadata`` are JSON
columns: ``json_type``/``json_extract`` on SQLite, ``jsonb_typeof``/``#>`` on
PostgreSQL's JSONB). Filters that name a JSON key go through per-dialect helpers
(``_SqliteJson`` and ``_PostgresJson``), so the two databases share all the logic.

The filter language (W&B's, which is MongoDB's query language):

* fields: ``config.<key>``, ``summary_metrics.<key>`` (or ``summary.<key>``),
  ``metadata.<key>``, ``tags``, ``state``, ``group``, ``job_type`` (``jobType``),
  ``display_name`` (``displayName``; the run's name), ``name``/``id``/``run_id`` (the
  run id, as in W&B), ``created_at`` (``createdAt``), ``heartbeat_at``, ``runtime``
  (``duration``), ``host``, ``username``, ``notes``, ``sweep``, ``entity``, ``project``.
  Nested keys are dotted (``config.optimizer.lr``); a key that itself contains dots is
  found too. W&B's ``config.<key>.value`` spelling means ``config.<key>``.
* operators: ``$eq $ne $gt $gte $lt $lte $in $nin $exists $regex`` (with ``$options``)
  and ``$not`` on a field; ``$and $or $nor $not`` to combine filters. ``{"f": v}`` is
  ``{"f": {"$eq": v}}``; several keys in one object must all match.
* types are bracketed as in MongoDB: numbers compare with numbers, strings with
  strings, booleans only match booleans (``True`` is not ``1``); a run that lacks the
  key matches ``$ne``, ``$nin``, ``$exists: false`` and ``{"$eq": None}``, and nothing
  else. Dates (``created_at``, ``heartbeat_at``) take ISO 8601 strings (UTC unless an
  offset is given), ``datetime`` objects or epoch seconds.
* ``tags`` is a list: ``{"tags": "a"}`` matches runs tagged ``a``; ``$in`` any of,
  ``$nin`` none of, ``$ne`` not tagged, ``$regex`` any tag matching,
  ``$exists: true`` at least one tag.

Orders are ``"+field"``/``"-field"`` (no sign: ascending) over the same fields, plus
``tags``-free ones. Numbers sort before strings; runs that lack the key come last in
both directions; ties are broken by the run's primary key, so pages never overlap.
"""

from __future__ import annotations

import base64
import datetime
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import (
    Float,
    Select,
    Text,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.sql.elements import ColumnElement

from trackline.storage.sql import schema as t

__all__ = [
    "DEFAULT_ORDER",
    "FIELD_NAMES",
    "OPERATORS",
    "FilterError",
    "Order",
    "compile_filter",
    "count_query",
    "decode_cursor",
    "next_cursor",
    "parse_order",
    "runs_query",
    "validate",
]

DEFAULT_ORDER = "-created_at"
OPERATORS = (
    "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$regex", "$not",
)
LOGICAL = ("$and", "$or", "$nor", "$not")
_REGEX_OPTIONS = set("imsx")


class FilterError(ValueError):
    """A filter or order that cannot be compiled; the message says what to write instead."""


# -- fields -----------------------------------------------------------------------------------

# name -> (column, kind); kind is "text", "number" or "time" (epoch seconds).
_r, _p = t.runs.c, t.projects.c
_COLUMNS: dict[str, tuple[Any, str]] = {
    "state": (_r.state, "text"),
    "group": (_r.group, "text"),
    "job_type": (_r.job_type, "text"),
    "jobType": (_r.job_type, "text"),
    "display_name": (_r.name, "text"),
    "displayName": (_r.name, "text"),
    "name": (_r.run_id, "text"),
    "id": (_r.run_id, "text"),
    "run_id": (_r.run_id, "text"),
    "notes": (_r.notes, "text"),
    "host": (_r.host, "text"),
    "sweep": (_r.sweep_id, "text"),
    "sweep_id": (_r.sweep_id, "text"),
    "entity": (_p.entity, "text"),
    "project": (_p.name, "text"),
    "created_at": (_r.created_at, "time"),
    "createdAt": (_r.created_at, "time"),
    "heartbeat_at": (_r.heartbeat_at, "time"),
    "heartbeatAt": (_r.heartbeat_at, "time"),
    "updated_at": (_r.updated_at, "time"),
    "runtime": (_r.runtime, "number"),
    "duration": (_r.runtime, "number"),
    "last_step": (_r.last_step, "number"),
    "lastHistoryStep": (_r.last_step, "number"),
}
_JSON_PREFIXES: dict[str, Any] = {
    "config": _r.config,
    "summary_metrics": _r.summary,
    "summaryMetrics": _r.summary,
    "summary": _r.summary,
    "metadata": _r.metadata,
}
# Fields that live inside a JSON column under another name.
_JSON_ALIASES = {"username": ("metadata", "username")}
FIELD_NAMES = (
    *sorted(_COLUMNS),
    "tags",
    "username",
    *(f"{p}.<key>" for p in ("config", "summary_metrics", "summary", "metadata")),
)


def _field_help() -> str:
    return (
        "use config.<key>, summary_metrics.<key>, metadata.<key>, tags, state, group, job_type, "
        "display_name, name (the run id), created_at, heartbeat_at, runtime, host, username, "
        "notes, sweep, entity or project"
    )


# -- JSON access per dialect -------------------------------------------------------------------
#
# Kinds are MongoDB's: "number", "string", "true", "false", "null", "array", "object" and
# "missing" (the key is absent). ``path`` arguments are what ``path()`` returns (or a CASE
# choosing between several of them), so one JSON field compiles to one path expression.

_NUMBER, _STRING = "number", "string"


class _SqliteJson:
    """JSON paths on SQLite: ``json_type`` names the kind, ``json_extract`` the value."""

    name = "sqlite"
    _RAW: ClassVar[dict[str, tuple[str, ...]]] = {"number": ("integer", "real"), "string": ("text",)}

    @staticmethod
    def path(parts: Sequence[str]) -> Any:
        bad = [p for p in parts if '"' in p]
        if bad:
            raise FilterError(f"filters: the key {bad[0]!r} has a '\"' in it, which SQLite's JSON paths cannot name")
        return literal("$" + "".join('."' + p + '"' for p in parts))

    def present(self, col: Any, path: Any) -> Any:
        return func.json_type(col, path).isnot(None)

    def is_kind(self, col: Any, path: Any, kinds: Sequence[str]) -> Any:
        raw = [r for k in kinds for r in self._RAW.get(k, (k,))]
        return func.coalesce(func.json_type(col, path), "missing").in_(raw)

    def number(self, col: Any, path: Any) -> Any:
        return func.json_extract(col, path)

    def text(self, col: Any, path: Any) -> Any:
        return func.json_extract(col, path)

    def json_equals(self, col: Any, path: Any, value: Any) -> Any:
        return func.json_extract(col, path) == func.json(_dumps(value))

    def sort_parts(self, col: Any, path: Any) -> tuple[Any, Any, Any]:
        typ = func.json_type(col, path)
        is_num, is_text = typ.in_(("integer", "real")), typ == "text"
        value = func.json_extract(col, path)
        return (
            case((is_num, 0), (is_text, 1), else_=2),
            case((is_num, value), else_=null()),
            case((is_text, value), else_=null()),
        )

    def array_elements(self, col: Any) -> Any:
        return func.json_each(col).table_valued("value")


def _jsonb() -> Any:
    # PostgreSQL's dialect loads only where it is used: a SQLite process (the API, the CLI)
    # would spend ~18 ms importing its catalog.
    from sqlalchemy.dialects.postgresql import JSONB

    return JSONB


class _PostgresJson:
    """JSON paths on PostgreSQL JSONB: ``#>`` for the value, ``jsonb_typeof`` for its kind."""

    name = "postgresql"

    @staticmethod
    def path(parts: Sequence[str]) -> Any:
        from sqlalchemy.dialects.postgresql import ARRAY

        return literal(list(parts), ARRAY(Text))

    @staticmethod
    def _at(col: Any, path: Any) -> Any:
        return col.op("#>", return_type=_jsonb())(path)

    def present(self, col: Any, path: Any) -> Any:
        return self._at(col, path).isnot(None)

    def is_kind(self, col: Any, path: Any, kinds: Sequence[str]) -> Any:
        at = self._at(col, path)
        typ = func.coalesce(func.jsonb_typeof(at), "missing")
        plain = [k for k in kinds if k not in ("true", "false")]
        parts: list[Any] = [typ.in_(plain)] if plain else []
        for b in ("true", "false"):
            if b in kinds:
                parts.append(and_(typ == "boolean", at == cast(literal(b), _jsonb())))
        return or_(false(), *parts)

    def number(self, col: Any, path: Any) -> Any:
        # Guarded: casting a non-number would raise in PostgreSQL.
        return case(
            (
                func.jsonb_typeof(self._at(col, path)) == "number",
                cast(col.op("#>>", return_type=Text)(path), Float),
            ),
            else_=null(),
        )

    def text(self, col: Any, path: Any) -> Any:
        return col.op("#>>", return_type=Text)(path)

    def json_equals(self, col: Any, path: Any, value: Any) -> Any:
        return self._at(col, path) == cast(literal(_dumps(value)), _jsonb())

    def sort_parts(self, col: Any, path: Any) -> tuple[Any, Any, Any]:
        typ = func.jsonb_typeof(self._at(col, path))
        is_num, is_text = typ == "number", typ == "string"
        return (
            case((is_num, 0), (is_text, 1), else_=2),
            case((is_num, cast(self.text(col, path), Float)), else_=null()),
            case((is_text, self.text(col, path)), else_=null()),
        )

    def array_elements(self, col: Any) -> Any:
        return func.jsonb_array_elements_text(col).table_valued("value")


_DIALECTS: dict[str, Any] = {"sqlite": _SqliteJson(), "postgresql": _PostgresJson()}


def _json_for(dialect: str) -> Any:
    try:
        return _DIALECTS[dialect]
    except KeyError:
        raise FilterError(f"no run query support for the {dialect!r} database; use sqlite or postgresql")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=str)


# -- values -----------------------------------------------------------------------------------


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def to_epoch(value: Any, where: str) -> float:
    """A date given as ISO 8601 text, a datetime/date or epoch seconds -> epoch seconds."""
    if _is_number(value):
        return float(value)
    if isinstance(value, datetime.datetime):
        dt = value
    elif isinstance(value, datetime.date):
        dt = datetime.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise FilterError(
                f"filters: {where} needs a date like '2024-05-01' or '2024-05-01T12:00:00Z', got {value!r}"
            )
    else:
        raise FilterError(
            f"filters: {where} needs a date (ISO 8601 text, datetime or epoch seconds), "
            f"got {type(value).__name__} {value!r}"
        )
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt.timestamp()


# -- field objects: each turns one operator into a non-NULL boolean SQL expression -------------
#
# Every predicate below is TRUE or FALSE, never NULL (values are only compared once their
# kind is known), so NOT, $ne, $nin and $nor behave as in MongoDB on missing keys.

_CMP: dict[str, Callable[[Any, Any], Any]] = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


class _ColumnField:
    def __init__(self, name: str, col: Any, kind: str) -> None:
        self.name, self.col, self.kind = name, col, kind

    def _value(self, v: Any, op: str) -> Any:
        if self.kind == "time":
            return to_epoch(v, f"{self.name} {op}")
        if self.kind == "number":
            if not _is_number(v):
                return None
            return v
        return v if isinstance(v, str) else None

    def eq(self, v: Any) -> Any:
        if v is None:
            return self.col.is_(None)
        value = self._value(v, "$eq")
        if value is None:
            return false()
        return and_(self.col.isnot(None), self.col == value)

    def cmp(self, op: str, v: Any) -> Any:
        if isinstance(v, bool) or v is None or isinstance(v, (list, dict)):
            raise FilterError(f"filters: {op} on {self.name} needs a number, text or date, got {v!r}")
        value = self._value(v, op)
        if value is None:
            return false()
        return and_(self.col.isnot(None), _CMP[op](self.col, value))

    def exists(self, flag: bool) -> Any:
        return self.col.isnot(None) if flag else self.col.is_(None)

    def regex(self, pattern: str) -> Any:
        if self.kind != "text":
            return false()
        return and_(self.col.isnot(None), self.col.regexp_match(pattern))

    def in_(self, values: list[Any]) -> Any:
        plain = [self._value(v, "$in") for v in values if v is not None]
        plain = [v for v in plain if v is not None]
        parts = []
        if plain:
            parts.append(and_(self.col.isnot(None), self.col.in_(plain)))
        if any(v is None for v in values):
            parts.append(self.col.is_(None))
        return or_(false(), *parts)

    # sorting: (rank, number, text); rank 0 numbers, 1 text, 2 missing
    def sort_parts(self) -> tuple[Any, Any, Any]:
        missing = self.col.is_(None)
        if self.kind == "text":
            return case((missing, 2), else_=1), None, self.col
        return case((missing, 2), else_=0), self.col, None


class _JsonField:
    """A key inside a JSON column. When a dotted key can be read two ways (nested levels, or
    one key with dots in it; W&B's ``config.<key>.value``), the first spelling present in
    the run is used."""

    def __init__(self, name: str, col: Any, candidates: list[list[str]], dialect: Any) -> None:
        self.name, self.col, self.j = name, col, dialect
        paths = [dialect.path(parts) for parts in candidates]
        if len(paths) == 1:
            self.path = paths[0]
        else:
            self.path = case(*((dialect.present(col, p), p) for p in paths[:-1]), else_=paths[-1])

    def _kind(self, *kinds: str) -> Any:
        return self.j.is_kind(self.col, self.path, kinds)

    def eq(self, v: Any) -> Any:
        if v is None:
            return self._kind("null", "missing")
        if isinstance(v, bool):
            return self._kind("true" if v else "false")
        if _is_number(v):
            if isinstance(v, float) and not math.isfinite(v):
                return false()  # NaN/Inf are stored as objects; SQL cannot compare them
            return and_(self._kind(_NUMBER), self.j.number(self.col, self.path) == v)
        if isinstance(v, str):
            return and_(self._kind(_STRING), self.j.text(self.col, self.path) == v)
        if isinstance(v, (list, tuple, dict)):
            want = "object" if isinstance(v, dict) else "array"
            return and_(self._kind(want), self.j.json_equals(self.col, self.path, v))
        raise FilterError(f"filters: cannot compare {self.name} with a {type(v).__name__}")

    def cmp(self, op: str, v: Any) -> Any:
        if isinstance(v, (datetime.date, datetime.datetime)):
            v = v.isoformat()
        if _is_number(v):
            return and_(self._kind(_NUMBER), _CMP[op](self.j.number(self.col, self.path), v))
        if isinstance(v, str):
            return and_(self._kind(_STRING), _CMP[op](self.j.text(self.col, self.path), v))
        raise FilterError(f"filters: {op} on {self.name} needs a number or text, got {v!r}")

    def exists(self, flag: bool) -> Any:
        missing = self._kind("missing")
        return not_(missing) if flag else missing

    def regex(self, pattern: str) -> Any:
        return and_(self._kind(_STRING), self.j.text(self.col, self.path).regexp_match(pattern))

    def in_(self, values: list[Any]) -> Any:
        return or_(false(), *(self.eq(v) for v in values))

    def sort_parts(self) -> tuple[Any, Any, Any]:
        return self.j.sort_parts(self.col, self.path)


class _TagsField:
    """``tags``, a JSON list: operators apply to its elements, as MongoDB does for arrays."""

    name = "tags"

    def __init__(self, dialect: Any) -> None:
        self.j = dialect

    def _any(self, pred: Callable[[Any], Any]) -> Any:
        elem = self.j.array_elements(t.runs.c.tags)
        return exists(select(literal(1)).select_from(elem).where(pred(elem.c.value)))

    def eq(self, v: Any) -> Any:
        if v is None:
            return not_(self.exists(True))
        if isinstance(v, (list, tuple)):
            return and_(*(self.eq(x) for x in v), not_(self._any(lambda e: e.notin_(list(v))))) if v else self.eq(None)
        if not isinstance(v, str):
            return false()
        return self._any(lambda e: e == v)

    def cmp(self, op: str, v: Any) -> Any:
        if not isinstance(v, str):
            raise FilterError(f"filters: {op} on tags needs text, got {v!r}")
        return self._any(lambda e: _CMP[op](e, v))

    def exists(self, flag: bool) -> Any:
        has = self._any(lambda e: true())
        return has if flag else not_(has)

    def regex(self, pattern: str) -> Any:
        return self._any(lambda e: e.regexp_match(pattern))

    def in_(self, values: list[Any]) -> Any:
        tags = [v for v in values if isinstance(v, str)]
        parts = [self._any(lambda e: e.in_(tags))] if tags else []
        if any(v is None for v in values):
            parts.append(self.eq(None))
        return or_(false(), *parts)

    def sort_parts(self) -> tuple[Any, Any, Any]:
        raise FilterError("order: runs cannot be sorted by tags; sort by a config, summary or run field")


def _candidates(key: str, allow_value_suffix: bool) -> list[list[str]]:
    """The ways to read a dotted key: nested levels (``a\\.b`` is one level with a dot),
    then W&B's ``<key>.value`` as ``<key>``, then the whole name as one key."""
    from trackline.runstate.flatten import split_name

    parts = split_name(key)
    out = [parts]
    if allow_value_suffix and len(parts) > 1 and parts[-1] == "value":
        out.append(parts[:-1])
    if len(parts) > 1 and "\\" not in key:
        out.append([key])
    return out


def _field(name: str, dialect: Any, where: str = "filters") -> Any:
    """The field ``name`` names; an error names ``where`` it came from (filters, order)."""
    if not isinstance(name, str) or not name:
        raise FilterError(f"{where}: field names are text; got {name!r}")
    if name in _COLUMNS:
        col, kind = _COLUMNS[name]
        return _ColumnField(name, col, kind)
    if name == "tags":
        return _TagsField(dialect)
    if name in _JSON_ALIASES:
        prefix, key = _JSON_ALIASES[name]
        return _JsonField(name, _JSON_PREFIXES[prefix], [[key]], dialect)
    prefix, dot, key = name.partition(".")
    if dot and prefix in _JSON_PREFIXES and key:
        return _JsonField(name, _JSON_PREFIXES[prefix], _candidates(key, prefix == "config"), dialect)
    raise FilterError(f"{where}: unknown field {name!r}; {_field_help()}")


# -- filters ----------------------------------------------------------------------------------


def _check_regex(pattern: Any, options: Any, where: str) -> str:
    if not isinstance(pattern, str):
        raise FilterError(f"filters: $regex on {where} needs a pattern string, got {pattern!r}")
    opts = options or ""
    if not isinstance(opts, str) or set(opts) - _REGEX_OPTIONS:
        raise FilterError(f"filters: $options on {where} must use the letters i, m, s, x; got {options!r}")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise FilterError(f"filters: $regex on {where}: {pattern!r} is not a valid pattern ({exc})")
    return f"(?{''.join(sorted(set(opts)))}){pattern}" if opts else pattern


def _list_arg(op: str, value: Any, where: str) -> list[Any]:
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise FilterError(f"filters: {op} on {where} needs a list of values, got {value!r}")
    return list(value)


def _field_ops(field: Any, spec: Mapping[str, Any]) -> Any:
    """The conditions of one field: ``{"$gt": 1, "$lt": 5}``, all of which must hold."""
    clauses = []
    for op, value in spec.items():
        if op == "$options":
            if "$regex" not in spec:
                raise FilterError(f"filters: $options on {field.name} needs a $regex beside it")
            continue
        if op == "$eq":
            clauses.append(field.eq(value))
        elif op == "$ne":
            clauses.append(not_(field.eq(value)))
        elif op in _CMP:
            clauses.append(field.cmp(op, value))
        elif op == "$in":
            clauses.append(field.in_(_list_arg(op, value, field.name)))
        elif op == "$nin":
            clauses.append(not_(field.in_(_list_arg(op, value, field.name))))
        elif op == "$exists":
            if not isinstance(value, (bool, int)):
                raise FilterError(f"filters: $exists on {field.name} needs true or false, got {value!r}")
            clauses.append(field.exists(bool(value)))
        elif op == "$regex":
            clauses.append(field.regex(_check_regex(value, spec.get("$options"), field.name)))
        elif op == "$not":
            if isinstance(value, str):
                inner = field.regex(_check_regex(value, None, field.name))
            elif isinstance(value, Mapping) and value and all(str(k).startswith("$") for k in value):
                inner = _field_ops(field, value)
            else:
                raise FilterError(
                    f"filters: $not on {field.name} needs operators, like {{'$not': {{'$gt': 1}}}}; got {value!r}"
                )
            clauses.append(not_(inner))
        else:
            raise FilterError(
                f"filters: unknown operator {op!r} on {field.name}; use one of {', '.join(OPERATORS)}"
            )
    return and_(true(), *clauses)


def _compile(filters: Any, dialect: Any, where: str = "filters") -> Any:
    if not isinstance(filters, Mapping):
        raise FilterError(f"{where} must be a dict like {{'config.lr': 0.1}}, got {filters!r}")
    clauses = []
    for key, value in filters.items():
        if key in ("$and", "$or", "$nor"):
            if not isinstance(value, (list, tuple)) or not value:
                raise FilterError(f"filters: {key} needs a non-empty list of filters, got {value!r}")
            parts = [_compile(v, dialect, f"each item of {key}") for v in value]
            if key == "$and":
                clauses.append(and_(*parts))
            elif key == "$or":
                clauses.append(or_(*parts))
            else:
                clauses.append(not_(or_(*parts)))
        elif key == "$not":
            clauses.append(not_(_compile(value, dialect, "$not")))
        elif isinstance(key, str) and key.startswith("$"):
            raise FilterError(
                f"filters: unknown operator {key!r} at the top level; use $and, $or, $nor or $not, "
                f"or a field name"
            )
        else:
            field = _field(key, dialect)
            if isinstance(value, Mapping) and value and any(str(k).startswith("$") for k in value):
                if not all(str(k).startswith("$") for k in value):
                    raise FilterError(
                        f"filters: {key} mixes operators and plain keys in {value!r}; "
                        "use only operators ({'$gt': 1}) or only a value"
                    )
                clauses.append(_field_ops(field, value))
            else:
                clauses.append(field.eq(value))
    return and_(true(), *clauses)


def compile_filter(filters: Mapping[str, Any] | None, dialect: str = "sqlite") -> ColumnElement[bool]:
    """The WHERE clause for W&B-style ``filters`` (see the module docstring)."""
    if not filters:
        return true()
    return _compile(filters, _json_for(dialect))


# -- orders and cursors -----------------------------------------------------------------------


@dataclass(frozen=True)
class Order:
    text: str  # normalised, e.g. "-summary_metrics.loss"
    field: str
    descending: bool


def parse_order(order: str | None) -> Order:
    """``"-created_at"``, ``"+config.lr"``, ``"summary_metrics.loss"`` (ascending)."""
    text = (order or DEFAULT_ORDER).strip()
    if not isinstance(order, (str, type(None))) or not text:
        raise FilterError(f"order must be text like '-created_at' or '+summary_metrics.loss', got {order!r}")
    desc = text.startswith("-")
    name = text[1:] if text[0] in "+-" else text
    if name == "tags":
        raise FilterError("order: runs cannot be sorted by tags; sort by a config, summary or run field")
    _field(name, _SqliteJson(), "order")  # raises on an unknown field
    return Order(("-" if desc else "+") + name, name, desc)


def _sort_columns(order: Order, dialect: Any) -> list[Any]:
    """Labelled (rank, number, text) sort columns; a part the field cannot have is NULL."""
    parts = _field(order.field, dialect).sort_parts()
    names = ("_sort_rank", "_sort_num", "_sort_text")
    return [(null() if p is None else p).label(n) for p, n in zip(parts, names, strict=True)]


def _beyond(col: Any, value: Any, desc: bool) -> Any:
    return col < value if desc else col > value


def _after(order: Order, dialect: Any, cursor: str) -> Any:
    """Rows strictly after the cursor's row, in ``order``."""
    rank_v, num_v, text_v, pk_v = decode_cursor(cursor, order)
    rank, number, text = _field(order.field, dialect).sort_parts()
    pk, desc = t.runs.c.pk, order.descending
    if rank_v == 0:
        within = or_(_beyond(number, num_v, desc), and_(number == num_v, _beyond(pk, pk_v, desc)))
    elif rank_v == 1:
        within = or_(_beyond(text, text_v, desc), and_(text == text_v, _beyond(pk, pk_v, desc)))
    else:
        within = _beyond(pk, pk_v, desc)
    return or_(rank > rank_v, and_(rank == rank_v, within))


def next_cursor(row: Mapping[str, Any], order: str | Order | None) -> str:
    """An opaque cursor for the page after ``row`` (a row of :func:`runs_query`)."""
    o = order if isinstance(order, Order) else parse_order(order)
    key = [int(row["_sort_rank"]), row["_sort_num"], row["_sort_text"], int(row["pk"])]
    raw = json.dumps({"o": o.text, "k": key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, order: Order) -> tuple[int, Any, Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        rank, num, text, pk = data["k"]
        saved = data["o"]
    except Exception:
        raise FilterError(f"cursor {cursor!r} is not a cursor this store returned; start without one")
    if saved != order.text:
        raise FilterError(f"cursor was made for order {saved!r}, not {order.text!r}; start without one")
    return int(rank), num, text, int(pk)


# -- statements -------------------------------------------------------------------------------


def _scope(stmt: Any, entity: str | None, project: str | None) -> Any:
    if entity is not None:
        stmt = stmt.where(t.projects.c.entity == entity)
    if project is not None:
        stmt = stmt.where(t.projects.c.name == project)
    return stmt


def runs_query(
    filters: Mapping[str, Any] | None = None,
    order: str | None = DEFAULT_ORDER,
    entity: str | None = None,
    project: str | None = None,
    *,
    dialect: str = "sqlite",
    cursor: str | None = None,
    limit: int | None = None,
) -> Select[Any]:
    """SELECT the runs matching ``filters`` in ``order``, with ``entity`` and ``project``.

    Rows carry every ``runs`` column plus ``entity``, ``project`` and the sort key
    (``_sort_rank``, ``_sort_num``, ``_sort_text``) that :func:`next_cursor` needs.
    ``cursor`` continues after a previous page (keyset pagination: stable while runs
    are added), ``limit`` caps the page.
    """
    j = _json_for(dialect)
    o = parse_order(order)
    sort_cols = _sort_columns(o, j)
    stmt = (
        select(t.runs, t.projects.c.entity, t.projects.c.name.label("project"), *sort_cols)
        .join(t.projects, t.projects.c.id == t.runs.c.project_id)
        .where(compile_filter(filters, dialect))
    )
    stmt = _scope(stmt, entity, project)
    if cursor:
        stmt = stmt.where(_after(o, j, cursor))
    # ORDER BY the labels (short SQL); parts the field cannot have are left out, since
    # PostgreSQL refuses a constant in ORDER BY.
    parts = _field(o.field, j).sort_parts()
    keys = [sort_cols[0].asc()]
    for label, part in zip(sort_cols[1:], parts[1:], strict=True):
        if part is not None:
            keys.append(label.desc() if o.descending else label.asc())
    keys.append(t.runs.c.pk.desc() if o.descending else t.runs.c.pk.asc())
    stmt = stmt.order_by(*keys)
    if limit is not None:
        stmt = stmt.limit(int(limit))
    return stmt


def count_query(
    filters: Mapping[str, Any] | None = None,
    entity: str | None = None,
    project: str | None = None,
    *,
    dialect: str = "sqlite",
) -> Select[Any]:
    """SELECT COUNT(*) of the runs :func:`runs_query` would return (all pages)."""
    stmt = (
        select(func.count())
        .select_from(t.runs.join(t.projects, t.projects.c.id == t.runs.c.project_id))
        .where(compile_filter(filters, dialect))
    )
    return _scope(stmt, entity, project)


def validate(filters: Mapping[str, Any] | None, order: str | None = DEFAULT_ORDER) -> None:
    """Raise :class:`FilterError` now for a malformed filter or order (before any query)."""
    compile_filter(filters, "sqlite")
    parse_order(order)

