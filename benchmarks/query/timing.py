"""Timing one read: wall and CPU time of each repeat, after untimed warm-ups."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any], repeats: int, warmup: int = 1, expect: int | None = None,
          before: Callable[[], None] | None = None, count_of: Callable[[Any], int] | None = None) -> dict[str, Any]:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times timed.

    ``fn`` returns how many items (points, rows, runs) it read, or what ``count_of`` turns
    into that count; with ``expect`` a wrong count is an error, so a fast but incomplete read
    never counts. ``before`` runs before each call and ``count_of`` after it, both outside
    the clock: clearing what the last call left (deleting a 34 MB file that was fsynced
    takes ~7 ms on ext4) or reading back what it wrote is not what is measured.
    """
    walls: list[float] = []
    cpus: list[float] = []
    count = 0
    for i in range(warmup + max(1, repeats)):
        if before is not None:
            before()
        c0, t0 = time.process_time(), time.perf_counter()
        got = fn()
        t1, c1 = time.perf_counter(), time.process_time()
        count = count_of(got) if count_of is not None else got
        if expect is not None and count != expect:
            raise RuntimeError(f"read {count} items, expected {expect}")
        if i >= warmup:
            walls.append(t1 - t0)
            cpus.append(c1 - c0)
    med = statistics.median(walls)
    return {
        "count": count,
        "wall_s": med,
        "min_wall_s": min(walls),
        "cpu_s": statistics.median(cpus),
        "raw_wall_s": walls,
        "raw_cpu_s": cpus,
        "per_s": count / med if med > 0 else None,
    }
