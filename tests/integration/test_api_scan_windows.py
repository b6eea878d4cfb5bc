"""scan_history's windows ask for the next step with data only after an empty window, and
still skip any gap in one query and stop at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trackline
from tests.unit.api.seeding import make_run


class Counting:
    """A reader that counts next_step calls (the Reader interface, forwarded)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.next_steps: list[int | None] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def next_step(self, run: dict[str, Any], keys: list[str], at_or_after: int | None) -> int | None:
        self.next_steps.append(at_or_after)
        return self._inner.next_step(run, keys, at_or_after)


def test_dense_history_asks_for_the_next_step_twice(isolated: Path) -> None:
    make_run("p", "dense", rows=[{"loss": float(i)} for i in range(20_000)])
    reader = Counting(trackline.Api().reader)
    api = trackline.Api(reader=reader)  # type: ignore[arg-type]
    rows = list(api.run("p/dense").scan_history(keys=["loss"]))
    assert [r["_step"] for r in rows] == list(range(20_000))
    # 20,000 rows are five 4,096-row windows: one call at the start, one after the end.
    assert len(reader.next_steps) == 2 and reader.next_steps[0] is None


def test_a_huge_gap_is_skipped_in_one_query(isolated: Path) -> None:
    # One full chunk (2,048 points), then two points 10**12 steps later in the next chunk.
    make_run("p", "gap", rows=[*[({"a": 1.0}, s) for s in range(2048)], ({"a": 2.0}, 10**12), ({"a": 3.0}, 10**12 + 5)])
    reader = Counting(trackline.Api().reader)
    api = trackline.Api(reader=reader)  # type: ignore[arg-type]
    rows = list(api.run("p/gap").scan_history(keys=["a"]))
    assert [r["_step"] for r in rows] == [*range(2048), 10**12, 10**12 + 5]
    # start; after the first empty window (jumps the gap); after the end
    assert len(reader.next_steps) == 3 and reader.next_steps[0] is None
    assert list(api.run("p/gap").scan_history(keys=["a"], min_step=2048, max_step=10**12)) == []
