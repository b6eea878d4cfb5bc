"""``run.status()``: how far the store has caught up (W&B: ``RunStatus``)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass


@dataclass
class RunStatus:
    """W&B's fields first; then trackline's: records written and stored, last stored step."""

    sync_items_total: int = 0
    sync_items_pending: int = 0
    sync_time: datetime.datetime | None = None
    records_written: int = 0
    records_in_store: int = 0
    last_synced_step: int | None = None
