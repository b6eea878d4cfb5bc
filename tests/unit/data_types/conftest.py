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


@pytest.fixture
def one_helper(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Media encoders split their work with one helper thread, whatever this machine's CPU count."""
    from trackline.data_types import parallel

    monkeypatch.setattr(parallel, "helper_count", lambda: 1)
    parallel._forget_pool()
    yield
    parallel._forget_pool()


@pytest.fixture
def no_helpers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Media encoders run as on a single-CPU machine: every part in the caller."""
    from trackline.data_types import parallel

    monkeypatch.setattr(parallel, "helper_count", lambda: 0)
    parallel._forget_pool()
    yield
    parallel._forget_pool()
