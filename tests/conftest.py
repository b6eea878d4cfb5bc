"""Shared fixtures: every test runs in its own folder with its own store and environment."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh cwd, home for trackline (store) and config dir; no WANDB_/TRACKLINE_ leaks."""
    for var in list(os.environ):
        if var.startswith(("WANDB_", "TRACKLINE_")):
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
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "TRACKLINE_"))}
    env.update(
        TRACKLINE_HOME=str(tmp_path / "home"),
        TRACKLINE_CONFIG_DIR=str(tmp_path / "config"),
        TRACKLINE_SILENT="true",
        PYTHONPATH=str(REPO / "src"),
    )
    env.update(extra)
    return env


PYTHON = sys.executable
