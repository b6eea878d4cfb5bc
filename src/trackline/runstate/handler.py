"""The run handler: replays records into history rows, summary, config and run state.

This is the one place where records gain their meaning. The live sender, ``trackline
sync`` and the SDK's offline summary all feed records through :class:`RunHandler`, so a
run looks the same whichever path brought it into the store. It is pure: no I/O, no
clocks (times come from the records), so replaying the same log gives the same result.

Flushed rows are buffered (:mod:`trackline.runstate.rows`) and turned into columns when
the batch ends or before anything that depends on them (an explicit summary edit, a new
metric definition, the exit record), so the summary and aggregates are always applied
in record order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trackline.records import kinds
from trackline.runstate import steps
from trackline.runstate.blocks import Block
from trackline.runstate.changes import Changes
from trackline.runstate.flatten import delete_path, iter_leaves, join_name, set_path, split_name
from trackline.runstate.metrics import Aggregate, MetricDef, MetricRegistry
from trackline.runstate.rows import Group, RowBuffer, column, nested_rows, plain_name, split_mixed

_HISTORY = kinds.HISTORY
_MERGE_FLUSH = steps.MERGE_FLUSH
_ARTIFACT_OPS = {kinds.ARTIFACT: "log", kinds.ARTIFACT_USE: "use", kinds.ARTIFACT_LINK: "link"}
_SPARK_POINTS = 96  # points kept per metric for the end-of-run sparklines (halved when full)


class RunHandler:
    """State of one run as seen by one record stream."""

    def __init__(self, stream_id: bytes, sample_sparklines: bool = False) -> None:
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
        self._buffer = RowBuffer()
        # Per top-level numeric metric: [stride, count, sampled values] for the footer.
        self._sample = sample_sparklines
        self.spark: dict[str, list[Any]] = {}
        self._changes = Changes(stream_id)
        self._segments: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        # Top-level keys changed in this batch: the store merges them key by key, so
        # several writers of one run (shared mode) never overwrite each other.
        self._summary_keys: set[str] = set()
        self._config_keys: set[str] = set()
        self._sys_step = 0
        self._sys_points: dict[str, tuple[list[int], list[Any]]] = {}

    # -- driving -------------------------------------------------------------------------

    def apply(self, seq: int, record: list[Any]) -> None:
        kind = record[0]
        if kind == _HISTORY:
            self._history(record[1], record[2], record[3], record[4])
        else:
            self._columns()  # everything else sees the rows before it applied
            if kind == kinds.CONFIG:
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
            elif kind == kinds.ALERT:
                self._changes.alerts.append({"seq": seq, **record[1]})
            elif kind == kinds.ALERT_STATUS:
                self._changes.alert_status.append((record[1], record[2]))
            elif kind == kinds.OUTPUT:
                self._changes.logs.append((seq, record[3], record[1], record[2]))
            elif kind == kinds.STATS:
                self._stats(record[1], record[2])
            elif kind == kinds.FILES:
                self._changes.files.extend(record[1])
            elif kind in _ARTIFACT_OPS:
                self._changes.artifacts.append((_ARTIFACT_OPS[kind], record[1]))
            # Unknown kinds come from newer writers: skipped, never fatal.
        self._book_seqs(seq, seq)

    def apply_many(self, first_seq: int, records: list[list[Any]]) -> None:
        """``apply`` for consecutive records, with the common ``log(d)`` row inlined.

        A training loop's records are nearly all ``log(d)`` without step or commit, of
        the same keys as the row before; for those this loop does what ``_history``,
        ``_write_row`` and ``RowBuffer.add`` would do, without their calls (half the
        replay time). Anything else goes through ``apply``; the result is the same.
        """
        buf = self._buffer
        group = buf.current()
        keyset = group.keyset if group is not None else None
        steps_append = group.steps.append if group is not None else None
        rows_append = group.rows.append if group is not None else None
        base = self.start_time - self.runtime_offset
        cur = self.cur
        fast = 0
        last_ts = None
        seq = first_seq
        for record in records:
            if record[0] == _HISTORY and record[2] is None and record[3] is None and not self.pending:
                data = record[1]
                ts = record[4]
                if type(ts) is float and "_step" not in data and "_timestamp" not in data:
                    data["_timestamp"] = ts
                    data["_runtime"] = ts - base
                    if steps_append is not None and data.keys() == keyset:
                        steps_append(cur)
                        rows_append(data)  # type: ignore[misc]
                    else:
                        buf.add(cur, data)
                        group = buf.current()
                        assert group is not None
                        keyset, steps_append, rows_append = group.keyset, group.steps.append, group.rows.append
                    cur += 1
                    fast += 1
                    last_ts = ts
                    seq += 1
                    continue
            if fast:
                self._settle(cur, fast, last_ts)
                fast = 0
            self.apply(seq, record)
            seq += 1
            # apply() may have drained the buffer or moved the step: pick both up again.
            cur = self.cur
            base = self.start_time - self.runtime_offset
            group = buf.current()
            keyset = group.keyset if group is not None else None
            steps_append = group.steps.append if group is not None else None
            rows_append = group.rows.append if group is not None else None
        if fast:
            self._settle(cur, fast, last_ts)
        if records:
            self._book_seqs(first_seq, first_seq + len(records) - 1)

    def apply_block(self, first_seq: int, block: Block) -> None:
        """``apply_many`` of ``block.rows`` plain ``log(d)`` records, from their decoded columns.

        The caller checks ``pending`` first: a block is only the common row when no
        ``commit=False`` row is waiting.
        """
        assert not self.pending
        n = block.rows
        base = self.start_time - self.runtime_offset
        steps_arr = np.arange(self.cur, self.cur + n, dtype=np.int64)
        keys = (*block.keys, "_timestamp", "_runtime")
        self._buffer.add_block(keys, steps_arr, [*block.columns, block.ts, block.ts - base])
        self._settle(self.cur + n, n, float(block.ts[-1]))
        self._book_seqs(first_seq, first_seq + n - 1)

    def _book_seqs(self, first_seq: int, last_seq: int) -> None:
        """Records ``first_seq..last_seq`` are applied: the batch's changes reach ``last_seq``."""
        self.seq = last_seq
        ch = self._changes
        if ch.first_seq == 0:
            ch.first_seq = first_seq
        ch.last_seq = last_seq

    def _settle(self, cur: int, n: int, last_ts: float | None) -> None:
        """Book ``n`` rows written by ``apply_many``'s inlined path, the last at step ``cur - 1``."""
        self.cur = cur
        self.rows += n
        self._changes.rows += n
        if last_ts is not None:
            self.last_ts = last_ts
        if self.last_step is None or cur - 1 >= self.last_step:
            self.last_step = cur - 1

    def take(self) -> Changes:
        """Return what changed since the last call, and start a new batch."""
        self._columns()
        ch = self._changes
        for name, segs in self._segments.items():
            if len(segs) == 1:
                ch.points[name] = segs[0]
            else:
                ch.points[name] = (
                    np.concatenate([s for s, _ in segs]),
                    np.concatenate([v for _, v in segs]),
                )
        self._segments = {}
        for name, (s, v) in self._sys_points.items():
            ch.system_points[name] = (np.asarray(s, dtype=np.int64), np.asarray(v))
        self._sys_points = {}
        if self._summary_keys:
            ch.summary = {k: self.summary[k] for k in self._summary_keys if k in self.summary}
            ch.summary_removed = [k for k in self._summary_keys if k not in self.summary]
            self._summary_keys = set()
        if self._config_keys:
            ch.config = {k: self.config[k] for k in self._config_keys if k in self.config}
            ch.config_removed = [k for k in self._config_keys if k not in self.config]
            self._config_keys = set()
        self._changes = Changes(self.stream_id)
        return ch

    def end_of_log(self, state: str = "crashed", ts: float | None = None) -> None:
        """The log ended without an exit record (the writer died): flush and mark the run."""
        if self.exit is not None:
            return
        if self.pending:
            self._flush()
        self._columns()
        self._changes.ended = True
        if self.state == "preempting":
            state = "preempted"  # it announced its preemption: resumable, not a crash
        self.state = state
        # It ran until its last record that we have (a killed process says no more).
        runtime = max(0.0, self.last_ts - self.start_time) + self.runtime_offset
        fields: dict[str, Any] = {"state": state, "reason": "the process stopped without finishing the run",
                                  "runtime": runtime}
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
            self._config_keys.update(run["config"])
        if run.get("summary"):
            self.summary.update(run["summary"])
            self._summary_keys.update(run["summary"])
        for d in run.get("metric_defs") or ():
            self._metric(d)

    def _history(self, data: dict[str, Any], step: int | None, commit: bool | None, ts: float) -> None:
        self.last_ts = ts
        data.pop("_step", None)
        if "_timestamp" not in data:
            data["_timestamp"] = ts
        if step is None and commit is None and not self.pending:
            # The common case, log(d): d is the whole row, flushed at cur.
            self._write_row(data, self.cur)
            self.cur += 1
            return
        action, new_cur = steps.plan_log(self.cur, step, commit)
        if action == steps.LATE:
            assert step is not None
            self._write_row(data, step)
            self.late_rows += 1
            return
        if action >= steps.ADVANCE:
            if self.pending:
                self._flush()
            self.cur = step  # type: ignore[assignment]
        if not self.pending:
            self.pending = data
        else:
            _merge(self.pending, data)
        if action == steps.MERGE_FLUSH or action == steps.ADVANCE_FLUSH:
            self._flush()
        self.cur = new_cur

    def _flush(self) -> None:
        row = self.pending
        self.pending = {}
        self._write_row(row, self.cur)

    def _write_row(self, row: dict[str, Any], step: int) -> None:
        ts = row.get("_timestamp", self.last_ts)
        if type(ts) is float or type(ts) is int:
            row["_runtime"] = ts - self.start_time + self.runtime_offset
        self._buffer.add(step, row)
        self.rows += 1
        self._changes.rows += 1
        if self.last_step is None or step >= self.last_step:
            self.last_step = step

    # -- rows -> columns -------------------------------------------------------------------

    def _columns(self) -> None:
        """Turn buffered rows into columns: points, values, summary, aggregates."""
        if not self._buffer:
            return
        for group in self._buffer.drain():
            self._group(group)
        if self.last_step is not None:
            self.summary["_step"] = self.last_step
            self._summary_keys.add("_step")

    def _group(self, g: Group) -> None:
        if g.arrays is not None:
            self._group_columns(g, g.arrays, list(g.arrays))
            return
        cols = g.columns()
        arrays = [column(col) for col in cols]
        if any(nested_rows(col) for col, arr in zip(cols, arrays, strict=True) if arr is None):
            # Some values are nested dicts: flatten those rows and regroup them.
            regrouped = RowBuffer()
            for step, row in zip(g.steps, g.rows, strict=True):
                regrouped.add(step, dict(iter_leaves(row)), flat=True)
            for sub_group in regrouped.drain():
                sub_cols = sub_group.columns()
                self._group_columns(sub_group, sub_cols, [column(c) for c in sub_cols])
            return
        self._group_columns(g, cols, arrays)

    def _group_columns(
        self, g: Group, cols: list[Any], arrays: list[np.ndarray | None]
    ) -> None:
        """Book a group's columns (tuples of values, or a block's arrays): points, summary, aggregates."""
        steps_arr = np.asarray(g.steps, dtype=np.int64)
        has_defs = bool(self.metrics.defs)
        sync: set[str] = set()
        summary = self.summary
        for name, col, arr in zip(g.keys, cols, arrays, strict=True):
            last = col[-1].item() if isinstance(col, np.ndarray) else col[-1]  # a Python number either way
            if arr is not None:
                self._segments.setdefault(name, []).append((steps_arr, arr))
            else:
                num_steps, num_vals, others = split_mixed(steps_arr, tuple(col))
                if len(num_steps):
                    self._segments.setdefault(name, []).append((num_steps, num_vals))
                if others:
                    self._changes.values.setdefault(name, []).extend(others)
            if name in self._step_metrics:
                self._step_metric_values[name] = last
            d = self.metrics.lookup(name) if has_defs else None
            plain = plain_name(name)
            self._summary_keys.add(name if plain else split_name(name)[0])
            if d is None or not d.summary:
                if plain:
                    summary[name] = last
                else:
                    set_path(summary, split_name(name), last)
            else:
                agg = self._aggs.get(name)
                if agg is None:
                    agg = self._aggs[name] = Aggregate()
                agg.add_many(arr if arr is not None else col)
                entry = agg.value(d.summary, d.goal)
                path = [name] if plain else split_name(name)
                if entry is None:
                    delete_path(summary, path)
                else:
                    set_path(summary, path, entry)
            if d is not None and d.step_metric and d.step_sync:
                sync.add(d.step_metric)
            if self._sample and plain and arr is not None:
                self._spark_add(name, arr)
        for metric in sync - set(g.keys):
            # Step sync: rows without their step metric get its last value (0 if never logged).
            value = self._step_metric_values.get(metric, 0.0)
            self._group(Group((metric,), g.steps, [{metric: value}] * len(g.steps)))

    def _spark_add(self, name: str, arr: np.ndarray) -> None:
        entry = self.spark.get(name)
        if entry is None:
            entry = self.spark[name] = [1, 0, []]
        stride, count, kept = entry
        idx = np.arange(count, count + len(arr))
        kept.extend(arr[(idx + 1) % stride == 0].tolist())
        count += len(arr)
        while len(kept) >= _SPARK_POINTS:
            kept = kept[1::2]
            stride *= 2
        entry[:] = [stride, count, kept]

    # -- other records -------------------------------------------------------------------

    def _config(self, updates: dict[str, Any], removes: list[str]) -> None:
        self.config.update(updates)
        for key in removes:
            self.config.pop(key, None)
        self._config_keys.update(updates)
        self._config_keys.update(removes)

    def _summary(self, updates: list[list[Any]], removes: list[list[str]]) -> None:
        for path, value in updates:
            set_path(self.summary, path, value)
            self._aggs.pop(join_name(path), None)
            self._summary_keys.add(path[0])
        for path in removes:
            delete_path(self.summary, path)
            self._aggs.pop(join_name(path), None)
            self._summary_keys.add(path[0])

    def _metric(self, d: dict[str, Any]) -> None:
        md = self.metrics.define(MetricDef.from_dict(d), overwrite=bool(d.get("overwrite")))
        self._step_metrics = self.metrics.step_metrics()
        self._changes.metric_defs[md.name] = md.to_dict()

    def _exit(self, info: dict[str, Any]) -> None:
        if self.pending:
            self._flush()
        self._columns()
        self._changes.ended = True
        self.exit = info
        self.state = info.get("state") or ("finished" if not info.get("exit_code") else "failed")
        ts = info.get("ts") or self.last_ts
        runtime = ts - self.start_time + self.runtime_offset
        self.summary["_runtime"] = runtime
        self._summary_keys.add("_runtime")
        if not self.run.get("owns_state", True):
            return  # a secondary writer in shared mode: the primary owns the run's state
        self._changes.run_fields.update(
            {
                "state": self.state,
                "exit_code": info.get("exit_code"),
                "reason": info.get("reason"),
                "finished_at": ts,
                "runtime": runtime,
            }
        )

    def _stats(self, sample: dict[str, Any], ts: float) -> None:
        """One system-metrics sample: a row of the run's "system" stream."""
        step = self._sys_step
        self._sys_step += 1
        row = {**sample, "_timestamp": ts, "_runtime": ts - self.start_time + self.runtime_offset}
        for name, value in row.items():
            t = type(value)
            if t is not float and t is not int:
                continue
            entry = self._sys_points.get(name)
            if entry is None:
                entry = self._sys_points[name] = ([], [])
            entry[0].append(step)
            entry[1].append(value)

    # -- reads for the SDK ---------------------------------------------------------------

    def sparkline_series(self) -> dict[str, list[float]]:
        """Top-level numeric series (sampled evenly), for the end-of-run footer."""
        return {k: [float(v) for v in e[2]] for k, e in self.spark.items() if not k.startswith("_")}


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
