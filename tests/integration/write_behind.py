"""What the export tests of write-behind share: a spy on how the export has the disk write
each window while it encodes the next, and a wrapper that makes each write after the first
wait until the one before was handed to the disk, so the overlap is seen every time.

Two ways (``cli/export.write_behind``): on Linux the writing thread asks the kernel to start
writing back each window's bytes (``posix_fadvise(POSIX_FADV_DONTNEED)`` on their range);
elsewhere a thread ``fdatasync``s the file after each window. ``kick`` picks one."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from trackline.cli import export

#: The ways to test here: the kernel's writeback only exists on Linux.
WAYS = [pytest.param(True, id="kick", marks=pytest.mark.skipif(not sys.platform.startswith("linux"),
                                                                reason="Linux's writeback advice")),
        pytest.param(False, id="thread")]


class SyncSpy:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, kick: bool) -> None:
        self.kick = kick
        self.events: list[tuple[str, str]] = []
        self.kicks: list[tuple[int, int, int, str]] = []  # offset, length, advice, thread
        self.waited: list[bool] = []
        self.writes = 0
        self._synced = threading.Event()
        monkeypatch.setattr(export, "_KICK_WRITEBACK", kick)
        for name in ("fdatasync", "fsync"):
            monkeypatch.setattr(os, name, self._spy(name, getattr(os, name)))
        if kick:
            real = os.posix_fadvise

            def advise(fd: int, offset: int, length: int, advice: int) -> None:
                self.kicks.append((offset, length, advice, threading.current_thread().name))
                real(fd, offset, length, advice)
                self._synced.set()

            monkeypatch.setattr(os, "posix_fadvise", advise)

    def _spy(self, name: str, real: Callable[[int], None]) -> Callable[[int], None]:
        def call(fd: int) -> None:
            self.events.append((name, threading.current_thread().name))
            real(fd)
            self._synced.set()
        return call

    def after_a_sync(self, write: Callable[..., Any]) -> Callable[..., Any]:
        """``write``, waiting (on all but the first call) until what was written before was
        handed to the disk since."""
        def wrapped(*a: Any) -> Any:
            if self.writes:  # not the first: the one before reaches the disk meanwhile
                self.waited.append(self._synced.wait(10))
                self._synced.clear()
            self.writes += 1
            return write(*a)
        return wrapped

    def check(self, out: Path) -> None:
        """Every write after the first found the one before handed to the disk; the last
        fsync (before the rename) ran on this thread; no sync thread is left. With ``kick``,
        the writeback asked for covers the file from its start, a window at a time, each
        byte once, on this thread; without it, the sync thread fdatasynced it."""
        me = threading.current_thread().name
        assert self.waited == [True] * (self.writes - 1)
        *during, last = self.events
        assert last == ("fsync", me) and out.exists()
        assert not [t for t in threading.enumerate() if t.name == "trackline-export-sync"]
        if self.kick:
            assert during == []  # no fdatasync: the kernel writes back on its own
            assert len(self.kicks) == self.writes
            at = 0
            for offset, length, advice, thread in self.kicks:
                assert (offset, advice, thread) == (at, os.POSIX_FADV_DONTNEED, me) and length > 0
                at += length
            assert 0 < at <= out.stat().st_size
        else:
            assert during and set(during) == {("fdatasync", "trackline-export-sync")}
            assert self.kicks == []
