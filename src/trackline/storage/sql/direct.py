"""A SQLite store read straight through the ``sqlite3`` driver, without SQLAlchemy.

For commands whose whole work is a few reads: ``trackline export`` of a project spent
~0.15 s of its ~0.33 s importing SQLAlchemy and opening the store through it, before
reading anything. :class:`DirectReads` answers what the export asks first (the project's
runs, their keys, key ids) and gives ``sqlite3`` connections for the rest; anything else
goes through ``SQLStore`` as before, opened when first needed. Read-only (``mode=ro``,
``query_only``), and only for a store at the schema's head: an older one is opened through
``SQLStore``, which migrates it. ``tests/integration/test_direct_reads.py`` checks every
answer against ``SQLStore``'s.

Also here, for the same reason: a SQLite URL's path and the migrations' head revision.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trackline.storage import jsonvalues

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")
#: The ``runs`` columns stored as JSON (``schema.JSONType``; a test keeps this in step).
JSON_RUN_COLUMNS = ("tags", "config", "summary", "metadata", "history_cutoffs")
_IN_BATCH = 10_000  # values per IN list (SQLite allows 32,766 parameters)
BUSY_TIMEOUT_S = 30.0


def sqlite_path(url: str) -> str:
    """``sqlite:///relative`` / ``sqlite:////abs`` / a plain path -> a filesystem path."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///") :]
    return url


def head_revision() -> str:
    """The newest revision: revision ids are the 4-digit prefixes of the file names, in order.

    Read from the file names so opening a store never imports Alembic; a test checks
    that this agrees with Alembic's own idea of the head.
    """
    names = [n for n in os.listdir(os.path.join(MIGRATIONS_DIR, "versions")) if n[:4].isdigit() and n.endswith(".py")]
    return max(names)[:4]


HEAD_REVISION = head_revision()


class DirectReads:
    """Read-only queries on a SQLite store at the schema's head. Open with :meth:`open`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.conn = self.connect()

    @classmethod
    def open(cls, url: str) -> DirectReads | None:
        """The store at ``url`` (a SQLite URL or a path); None when it is not a SQLite
        file that exists at the schema's head revision (``SQLStore`` creates or migrates)."""
        if "://" in url and not url.startswith("sqlite:///"):
            return None
        path = sqlite_path(url)
        if path in ("", ":memory:") or not os.path.isfile(path):
            return None
        try:
            reads = cls(path)
        except sqlite3.Error:
            return None
        try:
            row = reads.conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            row = None
        if row is None or row[0] != HEAD_REVISION:
            reads.close()
            return None
        return reads

    def connect(self) -> sqlite3.Connection:
        """A new read-only connection (one per thread: ``sqlite3`` connections stay on theirs)."""
        conn = sqlite3.connect(Path(self.path).resolve().as_uri() + "?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        conn.execute("PRAGMA query_only = ON")
        return conn

    def close(self) -> None:
        self.conn.close()

    def project_runs(self, entity: str, project: str, columns: Sequence[str] = ("*",)) -> list[dict[str, Any]] | None:
        """The project's runs, oldest first (``Api.runs(path, order="+created_at")``), as the
        query API's rows: every ``runs`` column (or those of ``columns``), JSON decoded,
        plus ``entity`` and ``project``. None when there is no such project. Unlike
        ``SQLStore``, a running run whose heartbeat stopped is not marked crashed here (that
        is a write)."""
        if self.conn.execute("SELECT 1 FROM projects WHERE entity = ? AND name = ?", (entity, project)).fetchone() is None:
            return None
        return self._runs("p.entity = ? AND p.name = ? ORDER BY r.created_at, r.pk", (entity, project), columns)

    def get_run(self, entity: str, project: str, run_id: str, columns: Sequence[str] = ("*",)) -> dict[str, Any] | None:
        """One run's row (``Api.run("entity/project/run_id")``); None when there is none."""
        rows = self._runs("p.entity = ? AND p.name = ? AND r.run_id = ?", (entity, project, run_id), columns)
        return rows[0] if rows else None

    def _runs(self, where: str, params: tuple[Any, ...], columns: Sequence[str]) -> list[dict[str, Any]]:
        picked = ", ".join(f"r.{c}" for c in columns)  # our own names (``RUN_COLUMNS``), not user input
        cur = self.conn.execute(
            f"SELECT {picked}, p.entity AS entity, p.name AS project FROM runs r JOIN projects p ON p.id = r.project_id "
            f"WHERE {where}", params)
        names = [d[0] for d in cur.description]
        json_at = [i for i, n in enumerate(names) if n in JSON_RUN_COLUMNS]
        rows = []
        for values in cur:
            row = dict(zip(names, values, strict=True))
            for i in json_at:
                if values[i] is not None:
                    row[names[i]] = jsonvalues.loads(values[i])
            rows.append(row)
        return rows

    def keys_of_runs(self, pks: Sequence[int]) -> tuple[list[str], set[str]]:
        """Every history key of the runs (sorted) and those with a non-numeric value
        (``StoreReader.keys_of_runs``)."""
        names: set[str] = set()
        text: set[str] = set()
        for at in range(0, len(pks), _IN_BATCH):
            part = list(pks[at : at + _IN_BATCH])
            marks = ",".join("?" * len(part))
            names.update(n for (n,) in self.conn.execute(
                "SELECT DISTINCT k.name FROM metric_keys k JOIN run_keys rk ON rk.key_id = k.id "
                f"WHERE rk.run_pk IN ({marks})", part))
            text.update(n for (n,) in self.conn.execute(
                "SELECT k.name FROM metric_keys k WHERE k.id IN "
                f"(SELECT DISTINCT hv.key_id FROM history_values hv WHERE hv.run_pk IN ({marks}))", part))
        return sorted(names), text

    @staticmethod
    def key_ids(conn: sqlite3.Connection, names: Sequence[str]) -> dict[str, int]:
        """``name -> id`` of the keys that exist (``SQLStore._lookup_key_ids``)."""
        found: dict[str, int] = {}
        for at in range(0, len(names), _IN_BATCH):
            part = list(names[at : at + _IN_BATCH])
            found.update(conn.execute(
                f"SELECT name, id FROM metric_keys WHERE name IN ({','.join('?' * len(part))})", part))
        return {n: found[n] for n in names if n in found}
