"""``trackline query "SELECT ..."``: read-only SQL over the embedded store, with views.

SQLite: the connection is opened read-only (``mode=ro``, ``PRAGMA query_only``) and an
authorizer refuses ATTACH and every statement that writes, so a query can never change the
store or create files. PostgreSQL: one prepared statement in a READ ONLY transaction
(:func:`run_postgres`). The views below are created as TEMP views on that connection only,
in each database's SQL with the same names and columns; they are documented in
``docs/cli.md`` (a test keeps the two in step).
"""

from __future__ import annotations

import csv
import sqlite3
import sys
from typing import Any

import click

from trackline.cli.common import (
    PathError,
    console,
    dumps,
    fmt_value,
    missing_store,
    no_store,
    store_option,
)

# name -> (description, SQL). ISO times are UTC text; *_ts columns are epoch seconds.
_RUN_COLS = """p.entity AS entity, p.name AS project, r.run_id AS run_id"""
_RUN_JOIN = """FROM runs r JOIN projects p ON p.id = r.project_id"""


def _iso(column: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"""to_char(to_timestamp({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
    return f"strftime('%Y-%m-%dT%H:%M:%SZ', {column}, 'unixepoch')"


def _leaves(column: str, dialect: str, skip: str | None) -> str:
    """One row per leaf of a JSON column: the dotted key (``opt.lr``, ``layers[0]``) and value.

    SQLite's json_tree quotes labels that are not plain words (``$."batch_size"``): the
    quotes are dropped, so ``key = 'batch_size'`` finds it. ``skip``: a top-level key left out.
    """
    if dialect == "postgresql":
        root = "'{}'::jsonb"
        return f"""WITH RECURSIVE leaves(run_pk, key, value) AS (
              SELECT r.pk, e.key, e.value FROM runs r CROSS JOIN LATERAL jsonb_each(
                  CASE WHEN jsonb_typeof(r.{column}) = 'object' THEN r.{column} ELSE {root} END) e
              {"" if skip is None else f"WHERE e.key <> '{skip}'"}
              UNION ALL
              SELECT l.run_pk, c.key, c.value FROM leaves l CROSS JOIN LATERAL (
                  SELECT l.key || '.' || e.key AS key, e.value FROM jsonb_each(
                      CASE WHEN jsonb_typeof(l.value) = 'object' THEN l.value ELSE {root} END) e
                  UNION ALL
                  SELECT l.key || '[' || (a.i - 1) || ']', a.v FROM jsonb_array_elements(
                      CASE WHEN jsonb_typeof(l.value) = 'array' THEN l.value ELSE '[]'::jsonb END)
                      WITH ORDINALITY a(v, i)) c
           )
           SELECT {_RUN_COLS}, l.key AS key, l.value AS value
           FROM leaves l JOIN runs r ON r.pk = l.run_pk JOIN projects p ON p.id = r.project_id
           WHERE jsonb_typeof(l.value) NOT IN ('object', 'array')"""
    where = "" if skip is None else f" AND replace(j.fullkey, '\"', '') NOT GLOB '$.{skip}*'"
    return f"""SELECT {_RUN_COLS}, substr(replace(j.fullkey, '"', ''), 3) AS key, j.value AS value
           {_RUN_JOIN}, json_tree(r.{column}) j
           WHERE j.type NOT IN ('object', 'array'){where}"""


def views(dialect: str = "sqlite") -> dict[str, tuple[str, str]]:
    """The documented views, in SQLite's or PostgreSQL's SQL (the same names and columns)."""
    pg = dialect == "postgresql"
    json_text = "::text" if pg else ""  # JSON columns as JSON text on both
    tags = (
        "CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(r.tags) = 'array' "
        "THEN r.tags ELSE '[]'::jsonb END) AS j(value)" if pg else ", json_each(r.tags) j"
    )
    return {
        "v_projects": (
            "one row per project: entity, project, created_at, runs",
            f"""SELECT p.entity, p.name AS project, {_iso("p.created_at", dialect)} AS created_at,
                      (SELECT count(*) FROM runs r WHERE r.project_id = p.id) AS runs
               FROM projects p""",
        ),
        "v_runs": (
            "one row per run: entity, project, run_id, path, name, state, reason, exit_code, created_at, "
            "finished_at, heartbeat_at (ISO, UTC), created_ts (epoch s), runtime, last_step, history_rows, "
            '"group", job_type, tags, notes, host, sweep_id, config, summary, metadata (JSON text)',
            f"""SELECT {_RUN_COLS}, p.entity || '/' || p.name || '/' || r.run_id AS path,
                      r.name, r.state, r.reason, r.exit_code,
                      {_iso("r.created_at", dialect)} AS created_at,
                      {_iso("r.finished_at", dialect)} AS finished_at,
                      {_iso("r.heartbeat_at", dialect)} AS heartbeat_at,
                      r.created_at AS created_ts, r.runtime, r.last_step, r.history_rows,
                      r."group", r.job_type, r.tags{json_text} AS tags, r.notes, r.host, r.sweep_id,
                      r.config{json_text} AS config, r.summary{json_text} AS summary,
                      r.metadata{json_text} AS metadata
               {_RUN_JOIN}""",
        ),
        "v_config": (
            "one row per config leaf: entity, project, run_id, key (dotted), value",
            _leaves("config", dialect, "_wandb"),
        ),
        "v_summary": (
            "one row per summary leaf: entity, project, run_id, key (dotted), value",
            _leaves("summary", dialect, None),
        ),
        "v_tags": (
            "one row per run tag: entity, project, run_id, tag",
            f"""SELECT {_RUN_COLS}, j.value AS tag {_RUN_JOIN} {tags}""",
        ),
        "v_metrics": (
            "one row per metric a run logged: entity, project, run_id, key, points (numeric points "
            "stored: a step written twice counts twice; reads show its last write)",
            f"""SELECT {_RUN_COLS}, k.name AS key,
                      (SELECT coalesce(sum(c.n), 0) FROM history_chunks c
                        WHERE c.run_pk = r.pk AND c.key_id = k.id) AS points
               {_RUN_JOIN} JOIN run_keys rk ON rk.run_pk = r.pk JOIN metric_keys k ON k.id = rk.key_id""",
        ),
        "v_history_values": (
            "non-numeric history values (text, bools, media references): entity, project, run_id, key, step, value",
            f"""SELECT {_RUN_COLS}, k.name AS key, v.step AS step, v.value{json_text} AS value
               {_RUN_JOIN} JOIN history_values v ON v.run_pk = r.pk JOIN metric_keys k ON k.id = v.key_id""",
        ),
        "v_files": (
            "run files: entity, project, run_id, path, size, md5, sha256, updated_at",
            f"""SELECT {_RUN_COLS}, f.path, f.size, f.md5, f.sha256, {_iso("f.updated_at", dialect)} AS updated_at
               {_RUN_JOIN} JOIN run_files f ON f.run_pk = r.pk""",
        ),
    }


VIEWS = views("sqlite")

_ALLOWED_PRAGMAS = {"table_info", "table_xinfo", "table_list", "index_list", "index_info", "foreign_key_list"}


def _authorizer(action: int, arg1: Any, arg2: Any, db: Any, source: Any) -> int:
    if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and arg1 in _ALLOWED_PRAGMAS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def connect(path: str) -> sqlite3.Connection:
    """A read-only connection to the store file with the documented views."""
    from pathlib import Path

    conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for name, (_, sql) in VIEWS.items():
        if name == "v_files" and "run_files" not in tables:
            continue
        conn.execute(f"CREATE TEMP VIEW {name} AS {sql}")
    conn.execute("PRAGMA query_only = ON")
    conn.set_authorizer(_authorizer)
    return conn


def _run_sqlite(url: str, sql: str | None) -> tuple[list[str], list[Any]]:
    from trackline.storage.sql.direct import sqlite_path

    path = sqlite_path(url)
    if not sql:
        raise click.UsageError('give a query, e.g. trackline query "SELECT * FROM v_runs LIMIT 5"')
    conn = connect(path)
    try:
        cur = conn.execute(sql)
        names = [d[0] for d in cur.description or []]
        rows = cur.fetchall()
    except sqlite3.Warning as exc:  # e.g. several statements
        raise click.UsageError(f"{exc}; give one SELECT statement")
    except sqlite3.DatabaseError as exc:
        msg = str(exc)
        if "not authorized" in msg or "readonly" in msg or "read-only" in msg:
            raise click.UsageError(f"the store is read-only here ({msg}); trackline query only reads")
        raise click.UsageError(f"SQL error: {msg}")
    finally:
        conn.close()
    return names, rows


def run_postgres(url: str, sql: str) -> tuple[list[str], list[Any]]:
    """One statement over a PostgreSQL store, in a READ ONLY transaction, with the views.

    The views are TEMP views of this session (created before the read-only transaction:
    PostgreSQL refuses every CREATE inside one). The statement is sent as a prepared
    statement, which PostgreSQL takes only one of, so ``SELECT 1; DELETE ...`` is refused
    whole. The server's privileges still apply on top: give untrusted SQL a read-only role.
    """
    try:
        import psycopg
    except ImportError:
        raise click.UsageError("a PostgreSQL store needs psycopg: pip install 'psycopg[binary]'")
    dsn = "postgresql://" + url.split("://", 1)[1]  # postgresql+psycopg:// and postgres:// too
    try:
        conn = psycopg.connect(dsn, autocommit=True)
    except psycopg.Error as exc:
        raise PathError(f"cannot connect to the store {url}: {exc}")
    try:
        for name, (_, view_sql) in views("postgresql").items():
            conn.execute(f"CREATE TEMP VIEW {name} AS {view_sql}")
        conn.autocommit = False
        conn.execute("SET TRANSACTION READ ONLY")
        try:
            cur = conn.execute(sql, prepare=True)
            names = [d.name for d in cur.description or []]
            rows = cur.fetchall() if cur.description else []
        except psycopg.errors.ReadOnlySqlTransaction as exc:
            raise click.UsageError(f"the store is read-only here ({exc}); trackline query only reads")
        except psycopg.Error as exc:
            msg = str(exc).strip()
            if "multiple commands" in msg:
                raise click.UsageError(f"{msg}; give one SELECT statement")
            raise click.UsageError(f"SQL error: {msg}")
        finally:
            conn.rollback()
    finally:
        conn.close()
    return names, rows


@click.command("query")
@click.argument("sql", metavar='"SELECT ..."', required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of row objects.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV with a header row.")
@click.option("--views", "show_views", is_flag=True, help="List the views and their columns, then exit.")
@store_option
def query_cmd(sql: str | None, as_json: bool, as_csv: bool, show_views: bool, store: str | None) -> None:
    """Run one read-only SQL query over the store (SQLite or PostgreSQL) and print the rows.

    \b
    Views: v_projects, v_runs, v_config, v_summary, v_tags, v_metrics,
    v_history_values, v_files (`trackline query --views` lists them; docs/cli.md);
    the store's own tables can be read too. Numeric history points are stored as
    compressed chunks: use `trackline export` for them.

    \b
    trackline query "SELECT run_id, value FROM v_summary WHERE key = 'val.acc' ORDER BY value DESC LIMIT 5"
    trackline query "SELECT state, count(*) AS n FROM v_runs GROUP BY state" --json
    """

    from trackline.settings import resolve

    url = resolve(None, {"store": store} if store else None).store_url
    postgres = url.startswith(("postgresql", "postgres:"))
    if not postgres and not url.startswith("sqlite"):
        raise PathError(f"trackline query reads a SQLite or PostgreSQL store; {url} is neither")
    if not postgres and (missing := missing_store(url)) is not None:
        raise no_store(missing)
    if show_views:
        for name, (desc, _) in VIEWS.items():
            click.echo(f"{name}: {desc}")
        return
    if postgres:
        if not sql:
            raise click.UsageError('give a query, e.g. trackline query "SELECT * FROM v_runs LIMIT 5"')
        names, rows = run_postgres(url, sql)
    else:
        names, rows = _run_sqlite(url, sql)
    if as_json:
        click.echo(dumps([dict(zip(names, r, strict=True)) for r in rows], indent=2))
    elif as_csv:
        w = csv.writer(sys.stdout)
        w.writerow(names)
        w.writerows(rows)
    else:
        from rich.table import Table

        table = Table(box=None, header_style="bold")
        for n in names:
            table.add_column(n)
        for r in rows:
            table.add_row(*("" if v is None else fmt_value(v, 80) for v in r))
        console().print(table)
        click.echo(f"{len(rows)} row(s)", err=True)
