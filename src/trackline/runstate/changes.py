"""What applying a batch of records changes in the store: the handler's output, the store's input."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


@dataclass
class Changes:
    """Everything one batch of records changed, ready to be written in one transaction.

    ``points`` holds numeric history (int/float) per metric name as parallel step and
    value arrays (int64, and int64 or float64), in arrival order; ``values`` holds every other history value
    (strings, bools, lists, media references) as ``(step, value)`` pairs.
    """

    stream_id: bytes
    first_seq: int = 0
    last_seq: int = 0
    run: dict[str, Any] | None = None  # the RUN record, when it is in this batch
    run_fields: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] | None = None  # changed top-level keys only
    config_removed: list[str] = field(default_factory=list)
    summary: dict[str, Any] | None = None  # changed top-level keys only
    summary_removed: list[str] = field(default_factory=list)
    metric_defs: dict[str, dict[str, Any]] = field(default_factory=dict)
    points: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    values: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    system_points: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    alert_status: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (alert seq, delivery)
    logs: list[tuple[int, float, str, str]] = field(default_factory=list)  # (seq, ts, source, text)
    # Run files to store: {"path": relative to files/, "policy", "ts", "abs": absolute path}
    files: list[dict[str, Any]] = field(default_factory=list)
    # Artifact requests in record order: ("log" | "use" | "link", record body)
    artifacts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rows: int = 0  # history rows flushed in this batch
    end_of_log: bool = False  # the log ended without an exit record (written once per seq)
    #: The stream's history is complete: its exit record, or the end of its log. The store
    #: then gives each metric's last, incomplete group of chunks its page for export.
    ended: bool = False

    @property
    def empty(self) -> bool:
        return self.last_seq == 0

    def point_count(self) -> int:
        return sum(len(s) for s, _ in self.points.values()) + sum(
            len(v) for v in self.values.values()
        )
