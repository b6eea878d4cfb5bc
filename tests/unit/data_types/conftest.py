"""Helpers for data type tests: a run in the test's folder and its record log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import trackline
from trackline.records import codec, kinds
from trackline.records.frames import read_all


@pytest.fixture
def run() -> Iterator[trackline.Run]:
    r = trackline.init(project="media", mode="offline")
    yield r
    r.finish()


def records(run: trackline.Run, kind: int) -> list[list[Any]]:
    _, frames, _ = read_all(run.settings.sync_file)
    return [r for r in (codec.decode(f.payload) for f in frames) if r[0] == kind]


def last_row(run: trackline.Run) -> dict[str, Any]:
    return records(run, kinds.HISTORY)[-1][1]


def _with_helpers(monkeypatch: pytest.MonkeyPatch, count: int) -> Iterator[None]:
    from trackline.data_types import parallel

    monkeypatch.setattr(parallel, "helper_count", lambda: count)
    parallel._forget_pool()
    yield
    parallel._forget_pool()


@pytest.fixture
def one_helper(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Media encoders split their work with one helper thread, whatever this machine's CPU count."""
    yield from _with_helpers(monkeypatch, 1)


@pytest.fixture
def no_helpers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Media encoders run as on a single-CPU machine: every part in the caller."""
    yield from _with_helpers(monkeypatch, 0)


def threads_running(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[str]:
    """The names of the threads that run ``module.name`` from now on (the caller is made slow,
    so a helper surely claims a part)."""
    import threading
    import time

    real = getattr(module, name)
    threads: list[str] = []

    def spy(*args: object) -> object:
        if threading.current_thread() is threading.main_thread():
            time.sleep(0.01)
        threads.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(module, name, spy)
    return threads
