"""W&B's step and commit rules for ``log(data, step=None, commit=None)``, as a pure function.

The SDK (to answer ``run.step`` and to warn about late steps) and the handler
(to build history rows) both call :func:`plan_log`, so they cannot disagree.

| call                    | action                                                        |
| ----------------------- | ------------------------------------------------------------- |
| log(d)                  | merge d into the pending row, flush it at cur, cur += 1       |
| log(d, commit=False)    | merge only                                                    |
| log(d, step=s), s > cur | flush the pending row at cur, cur = s, merge (no flush unless |
|                         | commit=True, then flush at s and cur = s + 1)                 |
| log(d, step=s), s == cur| merge (flush if commit=True)                                  |
| log(d, step=s), s < cur | W&B drops d. trackline keeps it: d is written at step s       |
|                         | (last write per key and step wins); cur is unchanged          |
"""

from __future__ import annotations

from typing import NamedTuple

MERGE = 0  # merge into the pending row
MERGE_FLUSH = 1  # merge, then flush the pending row at cur
ADVANCE = 2  # flush pending at cur, move cur to step, merge
ADVANCE_FLUSH = 3  # as ADVANCE, then flush at step
LATE = 4  # step < cur: write the data as its own row at step


class LogPlan(NamedTuple):
    action: int
    new_cur: int


def plan_log(cur: int, step: int | None, commit: bool | None) -> LogPlan:
    if step is None:
        if commit is False:
            return LogPlan(MERGE, cur)
        return LogPlan(MERGE_FLUSH, cur + 1)
    if step > cur:
        if commit:
            return LogPlan(ADVANCE_FLUSH, step + 1)
        return LogPlan(ADVANCE, step)
    if step == cur:
        if commit:
            return LogPlan(MERGE_FLUSH, cur + 1)
        return LogPlan(MERGE, cur)
    return LogPlan(LATE, cur)


def late_step_message(step: int, cur: int) -> str:
    """W&B's warning text, plus what trackline does instead of dropping the data."""
    return (
        f"Tried to log to step {step} that is less than the current step {cur}. "
        "Steps must be monotonically increasing in W&B, which ignores such data; "
        f"trackline keeps it at step {step} (the last value per key and step wins). "
        "To log against another x-axis, use define_metric(name, step_metric=...). "
        "Settings(strict_steps=True) makes this an error. This warning is shown once per run."
    )
