"""The run handler: replays records into history rows, summary, config and run state.

This is the one place where records gain their meaning. The live sender, ``trackline
sync`` and the SDK's offline summary all feed records through :class:`RunHandler`, so a
run looks the same whichever path brought it into the store. It is pure: no I/O, no
clocks (times come from the records), so replaying the same log gives the same result.
"""

from __future__ import annotations

from typing import Any

from trackline.records import kinds
from trackline.runstate import steps
from trackline.runstate.changes import Changes
from trackline.runstate.flatten import (
    delete_path,
    escape,
    iter_leaves,
    join_name,
    set_path,
    split_name,
)
from trackline.runstate.metrics import Aggregate, MetricDef, MetricRegistry

_INT64_MAX = (1 << 63) - 1
_INT64_MIN = -(1 << 63)
_SPARK_ROWS = 96  # rows kept for the end-of-run sparklines (halved when full)


class RunHandler:
    """State of one run as seen by one record stream."""

    def __init__(self, stream_id: bytes) -> None:
        self.stream_id = stream_id
        self.run: dict[str, Any] = {}
        self.start_time = 0.0
        self.runtime_offset = 0.0
        self.cur = 0
        self.pending: dict[str, Any] = {}
        self.last_ts = 0.0
        self.config: dict[str, Any] = {}
        self.summary: dict[str, Any] = {}
        self.metrics = MetricRegistry()
        self._aggs: dict[str, Aggregate] = {}
        self._step_metric_values: dict[str, Any] = {}
        self._step_metrics: set[str] = set()
        self.state = "running"
        self.exit: dict[str, Any] | None = None
        self.rows = 0
        self.late_rows = 0
        self.last_step: int | None = None
        self.seq = 0
        # Rows for end-of-run sparklines: every `_spark_stride`-th flushed row.
        self.spark: list[dict[str, Any]] = []
        self._spark_stride = 1
        self._changes = Changes(stream_id)
        self._summary_dirty = False
        self._config_dirty = False

    # -- driving -------------------------------------------------------------------------

    def apply(self, seq: int, record: list[Any]) -> None:
        kind = record[0]
        if kind == kinds.HISTORY:
            self._history(record[1], record[2], record[3], record[4])
        elif kind == kinds.CONFIG:
            self._config(record[1], record[2])
        elif kind == kinds.SUMMARY:
            self._summary(record[1], record[2])
        elif kind == kinds.METRIC:
            self._metric(record[1])
        elif kind == kinds.RUN:
            self._run(record[1])
        elif kind == kinds.RUN_UPDATE:
            self.run.update(record[1])
            self._changes.run_fields.update(record[1])
        elif kind == kinds.EXIT:
            self._exit(record[1])
        elif kind == kinds.PREEMPTING:
            self.state = "preempting"
            self._changes.run_fields["state"] = "preempting"
        # Unknown kinds come from newer writers: skipped, never fatal.
        self.seq = seq
        ch = self._changes
        if ch.first_seq == 0:
            ch.first_seq = seq
        ch.last_seq = seq

    def take(self) -> Changes:
        """Return what changed since the last call, and start a new batch."""
        ch = self._changes
        if self._summary_dirty:
            ch.summary = self.summary
            self._summary_dirty = False
        if self._config_dirty:
            ch.config = self.config
            self._config_dirty = False
        self._changes = Changes(self.stream_id)
        return ch

    def end_of_log(self, state: str = "crashed", ts: float | None = None) -> None:
        """The log ended without an exit record (the writer died): flush and mark the run."""
        if self.exit is not None:
            return
        if self.pending:
            self._flush()
        self.state = state
        fields: dict[str, Any] = {"state": state, "reason": "the process stopped without finishing the run"}
        if ts is not None:
            fields["finished_at"] = ts
        self._changes.run_fields.update(fields)

    # -- records -------------------------------------------------------------------------

    def _run(self, run: dict[str, Any]) -> None:
        self.run = run
        self._changes.run = run
        self.start_time = float(run.get("start_time") or 0.0)
        self.runtime_offset = float(run.get("runtime_offset") or 0.0)
        self.cur = int(run.get("starting_step") or 0)
        self.last_ts = self.start_time
        if run.get("config"):
            self.config.update(run["config"])
            self._config_dirty = True
        if run.get("summary"):
            self.summary.update(run["summary"])
            self._summary_dirty = True
        for d in run.get("metric_defs") or ():
            self._metric(d)

    def _history(self, data: dict[str, Any], step: int | None, commit: bool | None, ts: float) -> None:
        self.last_ts = ts
        data.pop("_step", None)
        if "_timestamp" not in data:
            data["_timestamp"] = ts
        action, new_cur = steps.plan_log(self.cur, step, commit)
        if action == steps.LATE:
            assert step is not None
            self._write_row(data, step, ts)
            self.late_rows += 1
            return
        if action >= steps.ADVANCE:
            if self.pending:
                self._flush()
            self.cur = step  # type: ignore[assignment]
        pending = self.pending
        if not pending:
            self.pending = data
        else:
            _merge(pending, data)
        if action == steps.MERGE_FLUSH or action == steps.ADVANCE_FLUSH:
            self._flush()
        self.cur = new_cur

    def _flush(self) -> None:
        row = self.pending
        self.pending = {}
        self._write_row(row, self.cur, row.get("_timestamp", self.last_ts))

    def _write_row(self, row: dict[str, Any], step: int, ts: Any) -> None:
        if type(ts) is float or type(ts) is int:
            row["_runtime"] = ts - self.start_time + self.runtime_offset
        ch = self._changes
        points = ch.points
        summary = self.summary
        plain_summary = not self.metrics.defs
        sync: list[str] | None = None
        for key, value in row.items():
            if type(key) is not str:
                key = str(key)
            t = type(value)
            if t is dict and value and "_type" not in value:
                for name, leaf in iter_leaves(value, escape(key) + "."):
                    sync = self._leaf(name, leaf, step, True, sync)
                continue
            if "." in key or "\\" in key:
                sync = self._leaf(escape(key), value, step, True, sync)
                continue
            if (t is float or (t is int and _INT64_MIN <= value <= _INT64_MAX)) and plain_summary:
                p = points.get(key)
                if p is None:
                    points[key] = ([step], [value])
                else:
                    p[0].append(step)
                    p[1].append(value)
                summary[key] = value
            else:
                sync = self._leaf(key, value, step, False, sync)
        if sync:
            for name in sync:
                if name not in row:
                    self._leaf(name, self._step_metric_values.get(name, 0.0), step, False, None)
        if self.last_step is None or step >= self.last_step:
            self.last_step = step
            summary["_step"] = step
        self._summary_dirty = True
        self.rows += 1
        ch.rows += 1
        if self.rows % self._spark_stride == 0:
            self.spark.append(row)
            if len(self.spark) >= _SPARK_ROWS:
                self.spark = self.spark[::2]
                self._spark_stride *= 2

    def _leaf(
        self, name: str, value: Any, step: int, nested: bool, sync: list[str] | None
    ) -> list[str] | None:
        """Store one leaf value and update the summary; returns step metrics to sync."""
        t = type(value)
        if t is float or (t is int and _INT64_MIN <= value <= _INT64_MAX):
            p = self._changes.points.get(name)
            if p is None:
                self._changes.points[name] = ([step], [value])
            else:
                p[0].append(step)
                p[1].append(value)
        else:
            self._changes.values.setdefault(name, []).append((step, value))
        if name in self._step_metrics:
            self._step_metric_values[name] = value
        d = self.metrics.lookup(name) if self.metrics.defs else None
        parts = split_name(name) if (nested or "\\" in name) else None
        if d is None or not d.summary:
            if parts is None:
                self.summary[name] = value
            else:
                set_path(self.summary, parts, value)
        else:
            agg = self._aggs.get(name)
            if agg is None:
                agg = self._aggs[name] = Aggregate()
            agg.add(value)
            entry = agg.value(d.summary, d.goal)
            path = parts if parts is not None else [name]
            if entry is None:
                delete_path(self.summary, path)
            else:
                set_path(self.summary, path, entry)
        if d is not None and d.step_metric and d.step_sync:
            if sync is None:
                sync = []
            if d.step_metric not in sync:
                sync.append(d.step_metric)
        return sync

    def _config(self, updates: dict[str, Any], removes: list[str]) -> None:
        self.config.update(updates)
        for key in removes:
            self.config.pop(key, None)
        self._config_dirty = True

    def _summary(self, updates: list[list[Any]], removes: list[list[str]]) -> None:
        for path, value in updates:
            set_path(self.summary, path, value)
            self._aggs.pop(join_name(path), None)
        for path in removes:
            delete_path(self.summary, path)
            self._aggs.pop(join_name(path), None)
        self._summary_dirty = True

    def _metric(self, d: dict[str, Any]) -> None:
        md = self.metrics.define(MetricDef.from_dict(d), overwrite=bool(d.get("overwrite")))
        self._step_metrics = self.metrics.step_metrics()
        self._changes.metric_defs[md.name] = md.to_dict()

    def _exit(self, info: dict[str, Any]) -> None:
        if self.pending:
            self._flush()
        self.exit = info
        self.state = info.get("state") or ("finished" if not info.get("exit_code") else "failed")
        ts = info.get("ts") or self.last_ts
        runtime = ts - self.start_time + self.runtime_offset
        self.summary["_runtime"] = runtime
        self._summary_dirty = True
        self._changes.run_fields.update(
            {
                "state": self.state,
                "exit_code": info.get("exit_code"),
                "reason": info.get("reason"),
                "finished_at": ts,
                "runtime": runtime,
            }
        )

    # -- reads for the SDK ---------------------------------------------------------------

    def sparkline_series(self) -> dict[str, list[float]]:
        """Top-level numeric series from the sampled rows, for the end-of-run footer."""
        out: dict[str, list[float]] = {}
        for row in self.spark:
            for key, value in row.items():
                if key.startswith("_") or type(value) not in (int, float):
                    continue
                out.setdefault(key, []).append(float(value))
        return out


def _merge(pending: dict[str, Any], data: dict[str, Any]) -> None:
    """Merge a log() call into the pending row; nested levels merge key by key."""
    for key, value in data.items():
        old = pending.get(key)
        if type(value) is dict and type(old) is dict and "_type" not in value and "_type" not in old:
            merged = dict(old)
            _merge(merged, value)
            pending[key] = merged
        else:
            pending[key] = value
