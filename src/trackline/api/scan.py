"""``Run.scan_history()``: every row, unsampled, in step order, in constant memory.

The run is read in windows of steps. Each window asks the reader for the columns of the
wanted keys between two steps, builds that window's rows, and forgets it. The window
adapts to the data: it widens while windows come back sparse (a metric logged every
1,000 steps) and narrows when they come back dense, so each holds a few thousand rows,
and gaps with no data are skipped in one query (``Reader.next_step``, asked only after a
window that came back empty: dense history needs it once at the start and once at the end).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from trackline.api.history import build_rows, common_steps, restrict, union_steps
from trackline.api.reader import Reader

TARGET_ROWS = 4096  # rows per window; page_size (W&B's rows per request) raises it
_MAX_SPAN = 1 << 40


def windows(
    reader: Reader,
    run: dict[str, Any],
    keys: list[str],
    required: list[str],
    min_step: int | None,
    max_step: int | None,
    page_size: int = 1000,
) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
    """Yield ``(steps, columns)`` per window over ``[min_step, max_step)``.

    With ``required``, only steps holding all of those keys are kept (W&B's rule for
    ``scan_history(keys=...)``).
    """
    if not keys:
        return
    target = max(int(page_size), TARGET_ROWS)
    span = target
    first = reader.next_step(run, keys, min_step)
    while True:
        if first is None or (max_step is not None and first >= max_step):
            return
        hi = first + span - 1
        if max_step is not None:
            hi = min(hi, max_step - 1)
        cols = reader.columns(run, keys, first, hi)
        found = any(len(c) for c in cols.values())
        if required:
            need = [cols.get(k) for k in required]
            if any(c is None for c in need):
                steps = np.empty(0, dtype=np.int64)
            else:
                steps = common_steps([c for c in need if c is not None])
            cols = restrict(cols, steps)
        else:
            steps = union_steps(cols.values())
        if len(steps):
            yield steps, cols
        n = len(steps)
        if n < target // 4 and span < _MAX_SPAN:
            span *= 2
        elif n > target * 2 and span > 1:
            span = max(1, span // 2)
        # After a window with data the next one starts right after it (dense data: no query
        # for the next step); after an empty one, skip the gap to the next step with data.
        first = hi + 1 if found else reader.next_step(run, keys, hi + 1)


class HistoryScan:
    """An iterator over history rows (W&B: ``HistoryScan``)."""

    def __init__(
        self,
        reader: Reader,
        run: dict[str, Any],
        keys: list[str],
        required: list[str],
        page_size: int,
        min_step: int | None,
        max_step: int | None,
    ) -> None:
        self.page_size = page_size
        self.min_step = min_step
        self.max_step = max_step
        self._it = self._rows(reader, run, keys, required)

    def _rows(
        self, reader: Reader, run: dict[str, Any], keys: list[str], required: list[str]
    ) -> Iterator[dict[str, Any]]:
        for steps, cols in windows(
            reader, run, keys, required, self.min_step, self.max_step, self.page_size
        ):
            yield from build_rows(steps, cols)

    def __iter__(self) -> HistoryScan:
        return self

    def __next__(self) -> dict[str, Any]:
        return next(self._it)
