"""What a sender reports to the run: store progress and the handler's summary."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Snapshot:
    """What a run's sender knows: how far the store is, and the handler's summary."""

    stored_seq: int = 0
    summary: dict[str, Any] = field(default_factory=dict)
    last_step: int | None = None
    sync_time: datetime.datetime | None = None
    sparklines: dict[str, list[float]] = field(default_factory=dict)
    error: str | None = None
