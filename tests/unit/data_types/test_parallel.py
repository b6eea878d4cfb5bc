"""The helper threads media encoders split big encodes across: results in order, errors raised, no helper on one CPU."""

from __future__ import annotations

import threading
import time

import pytest

from trackline.data_types import parallel


def test_parts_come_back_in_order_and_helpers_take_some(one_helper: None) -> None:
    def part(i: int) -> tuple[int, str]:
        if threading.current_thread() is threading.main_thread():
            time.sleep(0.02)  # the caller is slow: the helper is sure to claim a part meanwhile
        return i, threading.current_thread().name

    results = parallel.run_parts(part, 6)
    assert [i for i, _ in results] == list(range(6))
    assert any(name.startswith(parallel.THREAD_NAME) for _, name in results)


def test_the_caller_does_every_part_a_busy_helper_has_not_claimed(one_helper: None) -> None:
    release = threading.Event()
    busy = parallel._Job(lambda i: release.wait(5), 1)
    parallel._get_pool().jobs.put(busy)  # the only helper is stuck on another job until released
    try:
        names = parallel.run_parts(lambda i: threading.current_thread().name, 4)
        assert names == [threading.current_thread().name] * 4
    finally:
        release.set()
    busy.finished.acquire(timeout=5)


def test_a_failing_part_raises_in_the_caller(one_helper: None) -> None:
    def part(i: int) -> int:
        if i == 3:
            raise ZeroDivisionError("part 3")
        return i

    with pytest.raises(ZeroDivisionError, match="part 3"):
        parallel.run_parts(part, 5)
    assert parallel.run_parts(lambda i: i * i, 3) == [0, 1, 4]  # the pool still works


def test_without_helpers_every_part_runs_in_the_caller(no_helpers: None) -> None:
    assert parallel.helpers() == 0
    assert parallel.run_parts(lambda i: threading.current_thread().name, 3) == [threading.current_thread().name] * 3


def test_helper_count_leaves_the_caller_its_cpu() -> None:
    assert 0 <= parallel.helper_count() <= 3
