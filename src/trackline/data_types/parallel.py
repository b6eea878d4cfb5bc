"""Helper threads that big media encodes are split across, inside the ``log()`` call.

zlib's compressors and numpy's large ufuncs and reductions release the GIL, and while
the training thread logs the other cores are usually idle. So an encoder hands part of
a big image or histogram to a helper thread, does the rest itself, and waits for the
helper before the call returns: nothing is deferred past ``log()``, so a crash right
after it loses nothing. On one CPU there are no helpers and every part runs in the
caller, in order.

Helpers are daemon threads started on first use (none at import); a forked child starts
its own, since threads do not survive ``fork``.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from typing import Any

_MAX_HELPERS = 3  # encoders split work in at most four parts
THREAD_NAME = "trackline-media-helper"


def helper_count() -> int:
    """Helper threads to use: one per CPU this process may run on, less the caller's, at most 3."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(0, min(_MAX_HELPERS, cpus - 1))


class _Job:
    """``fn(0) .. fn(count - 1)``, each part claimed by whichever thread is free first."""

    def __init__(self, fn: Callable[[int], Any], count: int) -> None:
        self.fn = fn
        self.count = count
        self.results: list[Any] = [None] * count
        self.error: BaseException | None = None
        self.next_part = 0
        self.running = 0  # parts claimed and not finished
        self.lock = threading.Lock()
        self.finished = threading.Lock()  # held while a helper runs a part
        self.finished.acquire()

    def work(self, caller: bool) -> None:
        while True:
            with self.lock:
                part = self.next_part
                if part >= self.count:
                    idle = self.running == 0
                    break
                self.next_part += 1
                self.running += 1
            try:
                self.results[part] = self.fn(part)
            except BaseException as exc:  # raised in the caller by run_parts
                self.error = exc
            with self.lock:
                self.running -= 1
                if self.running == 0 and self.next_part >= self.count and not caller:
                    self.finished.release()
        if caller and not idle:
            self.finished.acquire()  # a helper is still on its last part


class _Pool:
    def __init__(self, size: int) -> None:
        self.size = size
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        for i in range(size):
            threading.Thread(target=self._serve, name=f"{THREAD_NAME}-{i}", daemon=True).start()

    def _serve(self) -> None:
        while True:
            self.jobs.get().work(caller=False)


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def _get_pool() -> _Pool:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = _Pool(helper_count())
    return _pool


def _forget_pool() -> None:
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def helpers() -> int:
    """How many helper threads ``submit`` hands work to (0: every part runs in the caller)."""
    return _get_pool().size


def run_parts(fn: Callable[[int], Any], count: int) -> list[Any]:
    """``[fn(0), ..., fn(count - 1)]``, the parts run at once on the caller and the helpers.

    Parts are claimed in order by whichever thread is free, so when the helpers' cores
    are busy (another process, the sender) the caller does the parts itself and waits
    only for a part a helper has already started: never much slower than one thread.
    """
    pool = _get_pool()
    if pool.size == 0 or count < 2:
        return [fn(part) for part in range(count)]
    job = _Job(fn, count)
    for _ in range(min(pool.size, count - 1)):
        pool.jobs.put(job)
    job.work(caller=True)
    if job.error is not None:
        raise job.error
    return job.results
