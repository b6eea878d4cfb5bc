"""The Store contract: what the sender writes and what readers (Api, CLI, server) read.

Implementations are chosen by URL scheme in :func:`trackline.storage.open_store`:
``sqlite:///path`` (the embedded default) and, later, ``postgresql://``. The
contract stays narrow on purpose: the write side is "apply a batch of Changes
from one record stream", the read side is runs, projects and history columns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from trackline.runstate.changes import Changes


#: The states of a run whose process is (as far as the store knows) still running.
LIVE_STATES = ("running", "preempting")


def run_duration(row: dict[str, Any], now: float | None = None) -> float | None:
    """Seconds a run (a ``runs`` row) ran: its ``runtime`` once it ended; while it runs, up to
    now. An ended run without one (a store written before crashed runs got theirs, or a run
    marked crashed when its heartbeat stopped) ran until it was marked ended
    (``finished_at``), else until its last heartbeat."""
    if row.get("runtime") is not None and row.get("state") not in LIVE_STATES:
        return float(row["runtime"])
    start = row.get("created_at")
    if start is None:
        return None
    end = row.get("finished_at") if row.get("state") not in LIVE_STATES else None
    if end is None:
        end = now if now is not None else time.time()
        if row.get("state") not in LIVE_STATES:
            end = row.get("heartbeat_at") or end
    return max(0.0, float(end) - float(start))


@dataclass(frozen=True)
class RunKey:
    entity: str
    project: str
    run_id: str

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}/{self.run_id}"


class StreamWriter(Protocol):
    """Writes one record stream's batches into the store, each in one transaction."""

    applied_seq: int

    def apply(self, changes: Changes) -> None: ...

    def heartbeat(self, now: float) -> None: ...


class Store(Protocol):
    url: str

    # write side
    def stream_writer(self, key: RunKey, stream_id: bytes) -> StreamWriter: ...

    # read side
    def get_run(self, key: RunKey) -> dict[str, Any] | None: ...

    def list_runs(self, entity: str, project: str) -> list[dict[str, Any]]: ...

    def list_projects(self, entity: str | None = None) -> list[dict[str, Any]]: ...

    def run_keys(self, run_pk: int) -> list[str]: ...

    def metric_defs(self, run_pk: int) -> list[dict[str, Any]]: ...

    def numeric_history(
        self, run_pk: int, keys: list[str], min_step: int | None = None, max_step: int | None = None
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]: ...

    def value_history(
        self, run_pk: int, keys: list[str], min_step: int | None = None, max_step: int | None = None
    ) -> dict[str, list[tuple[int, Any]]]: ...

    def close(self) -> None: ...
