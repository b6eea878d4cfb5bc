"""What the export tests of write-behind share: a spy on ``os.fdatasync``/``os.fsync``
that records which thread called them, and a wrapper that makes each write after the first
wait until the one before has been synced, so the overlap is seen every time."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


class SyncSpy:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[tuple[str, str]] = []
        self.waited: list[bool] = []
        self.writes = 0
        self._synced = threading.Event()
        for name in ("fdatasync", "fsync"):
            monkeypatch.setattr(os, name, self._spy(name, getattr(os, name)))

    def _spy(self, name: str, real: Callable[[int], None]) -> Callable[[int], None]:
        def call(fd: int) -> None:
            self.events.append((name, threading.current_thread().name))
            real(fd)
            self._synced.set()
        return call

    def after_a_sync(self, write: Callable[..., Any]) -> Callable[..., Any]:
        """``write``, waiting (on all but the first call) until the file was synced since."""
        def wrapped(*a: Any) -> Any:
            if self.writes:  # not the first: the one before reaches the disk meanwhile
                self.waited.append(self._synced.wait(10))
            self.writes += 1
            return write(*a)
        return wrapped

    def check(self, out: Path) -> None:
        """Every write after the first found the one before synced by the sync thread; the
        last fsync (before the rename) ran on this thread; the sync thread is gone."""
        *during, last = self.events
        assert self.waited == [True] * (self.writes - 1)
        assert during and set(during) == {("fdatasync", "trackline-export-sync")}
        assert last == ("fsync", threading.current_thread().name) and out.exists()
        assert not [t for t in threading.enumerate() if t.name == "trackline-export-sync"]
