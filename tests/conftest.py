"""Shared fixtures: every test runs in its own folder with its own store and environment."""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh cwd, home for trackline (store) and config dir; no WANDB_/TRACKLINE_ leaks."""
    for var in list(os.environ):
        if var.startswith(("WANDB_", "TRACKLINE_")) and not var.startswith("TRACKLINE_TEST_"):
            monkeypatch.delenv(var, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TRACKLINE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TRACKLINE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("TRACKLINE_SILENT", "true")
    yield tmp_path
    import trackline
    from trackline.sdk import lifecycle

    for run in lifecycle.active_runs():
        try:
            run.finish()
        except Exception:
            pass
    lifecycle.reset_for_tests()
    trackline.run = None


@pytest.fixture
def store_path(isolated: Path) -> Path:
    return isolated / "home" / "trackline.db"


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment for a child Python process that uses this test's store."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WANDB_", "TRACKLINE_")) or k.startswith("TRACKLINE_TEST_")}
    env.update(
        TRACKLINE_HOME=str(tmp_path / "home"),
        TRACKLINE_CONFIG_DIR=str(tmp_path / "config"),
        TRACKLINE_SILENT="true",
        PYTHONPATH=str(REPO / "src"),
    )
    env.update(extra)
    return env


PYTHON = sys.executable


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database on the server of $TRACKLINE_TEST_POSTGRES_URL, dropped after.

    ``scripts/test`` starts a throwaway server (scripts/with-postgres) and sets the URL;
    without it the PostgreSQL variants of the tests skip.
    """
    url = os.environ.get("TRACKLINE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("set TRACKLINE_TEST_POSTGRES_URL (scripts/with-postgres does) to test on PostgreSQL")
    import psycopg

    name = f"trackline_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The store every contract test runs against: SQLite, and PostgreSQL when available."""
    if request.param == "sqlite":
        yield f"sqlite:///{isolated / 'home' / 'trackline.db'}"
        return
    with postgres_database() as url:
        monkeypatch.setenv("TRACKLINE_STORE", url)
        monkeypatch.setenv("TRACKLINE_BLOBS", str(isolated / "blobs"))
        yield url


def write_tree(root: Path, files: dict[str, bytes] | dict[str, str]) -> str:
    """Write ``{relative path: content}`` under ``root`` (folders made as needed); returns ``root``."""
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(data)
    return str(root)
