"""The sender: tails a run's record log, replays it through the handler, writes the store.

The same :class:`Pump` serves three callers:

* the live sender thread of an online run (``Sender``), which polls the log file,
  so a slow or locked store makes records wait on disk, never in memory;
* ``trackline sync``, which pumps a finished or crashed log to its end;
* an offline run, which pumps on demand (no store) to answer ``run.summary``.

Replay is idempotent: the store records, per stream, the last sequence number it
applied; records up to it are replayed through the handler (to rebuild its state)
without being written again.
"""

from __future__ import annotations

import copy
import datetime
import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from trackline.records import codec, kinds
from trackline.records.frames import RecordReader
from trackline.runstate import blocks
from trackline.runstate.handler import RunHandler
from trackline.sender.snapshot import Snapshot
from trackline.storage.paths import join_inside

if TYPE_CHECKING:
    import numpy as np

    from trackline.storage.base import RunKey, StreamWriter
    from trackline.storage.sql.store import SQLStore

log = logging.getLogger("trackline.sender")

# A sender thread yields the GIL every this many records, so the training thread's
# log() calls are not held up behind a long replay.
_YIELD_EVERY = 256


class Pump:
    """Reads new frames from a record log and applies them (to the store, if any)."""

    def __init__(
        self, log_path: str, store: SQLStore | None = None, sparklines: bool = False, dedicated: bool = False
    ) -> None:
        self.log_path = log_path
        # ``dedicated``: this process does nothing but replay (the sender child, ``trackline
        # sync``). Then the cyclic collector is paused per batch (a batch makes ~10 objects
        # per record and frees them all at its end; the collector would walk them several
        # times meanwhile: ~20% of replay time), and the GIL is never yielded (no other
        # thread wants it; each yield is a system call: ~10% of replay time).
        self.dedicated = dedicated
        self._step = None if dedicated else _YIELD_EVERY
        self.reader = RecordReader(log_path)
        self.handler = RunHandler(self.reader.stream_id, sample_sparklines=sparklines)
        self.store = store
        self.writer: StreamWriter | None = None
        self.key: RunKey | None = None
        self.applied_seq = 0  # last seq applied to the handler
        self.stored_seq = 0  # last seq durable in the store
        self.records_total = 0
        self.points_total = 0
        self.lock = threading.RLock()

    def close(self) -> None:
        self.reader.close()

    def pump(self, max_bytes: int = 4 << 20) -> int:
        """Apply what is available (about ``max_bytes`` of frames); returns frames applied."""
        if not self.dedicated or not gc.isenabled():
            return self._pump(max_bytes)
        gc.disable()
        try:
            return self._pump(max_bytes)
        finally:
            gc.enable()

    def _pump(self, max_bytes: int) -> int:
        with self.lock:
            first, items = self.reader.poll_rows(max_bytes)
            if not items:
                return 0
            count = blocks.count(items)
            end = first + count
            # Records up to the store's applied_seq only rebuild the handler's state: the
            # batch is cut there and what it produced is dropped.
            skip_to = self.writer.applied_seq if self.writer is not None else 0
            if first <= skip_to < end - 1:
                payloads = blocks.expand(items)
                self._apply(first, payloads[: skip_to + 1 - first])
                self.handler.take()
                self._apply(skip_to + 1, payloads[skip_to + 1 - first :])
            else:
                self._apply(first, items)
                if skip_to == end - 1:
                    self.handler.take()
            self.applied_seq = end - 1
            self.records_total += count
            self.flush_changes()
            return count

    def _apply(self, first: int, items: Sequence[bytes | np.ndarray]) -> None:
        """Replay consecutive records: runs of plain ``log(d)`` rows as blocks, the rest one by one."""
        handler = self.handler
        for offset, part in blocks.plan(items):
            if isinstance(part, blocks.Block):
                if not handler.pending:
                    handler.apply_block(first + offset, part)
                else:  # a commit=False row is waiting: these rows are not plain log(d) rows
                    self._apply_records(first + offset, list(map(codec.decode, part.payloads())))
            else:
                self._apply_records(first + offset, list(map(codec.decode, part)))
            if self._step is not None:
                time.sleep(0)  # a sender thread lets the training thread's log() in

    def _apply_records(self, first: int, records: list[Any]) -> None:
        if self.key is None:
            for record in records:
                if record[0] == kinds.RUN:
                    self._start(record[1])
                    break
        step = self._step or len(records)
        for at in range(0, len(records), step):
            self.handler.apply_many(first + at, records[at : at + step])
            if self._step is not None and at + step < len(records):
                time.sleep(0)

    def flush_changes(self) -> None:
        with self.lock:
            changes = self.handler.take()
            if changes.files:
                files_dir = os.path.join(os.path.dirname(os.path.abspath(self.log_path)), "files")
                folders: dict[str, str] = {}  # resolved once per folder and batch (realpath is a stat per part)
                for f in changes.files:
                    try:
                        f["abs"] = join_inside(files_dir, f["path"], folders)
                    except ValueError as exc:
                        log.warning("trackline: ignoring run file %r: %s", f.get("path"), exc)
            self.points_total += changes.point_count()
            if self.writer is not None and not changes.empty:
                if changes.last_seq > self.writer.applied_seq:
                    self.writer.apply(changes)
                self.stored_seq = self.writer.applied_seq
            elif self.writer is None:
                self.stored_seq = self.applied_seq

    def snapshot(self, sync_time: datetime.datetime | None = None, error: str | None = None) -> Snapshot:
        with self.lock:
            return Snapshot(
                stored_seq=self.stored_seq,
                summary=copy.deepcopy(self.handler.summary),
                last_step=self.handler.last_step,
                sync_time=sync_time,
                sparklines=self.handler.sparkline_series(),
                error=error,
            )

    def _start(self, run: dict[str, Any]) -> None:
        from trackline.storage.base import RunKey

        self.key = RunKey(run["entity"], run["project"], run["run_id"])
        if self.store is not None:
            self.writer = self.store.stream_writer(self.key, self.reader.stream_id)

    def end_of_log(self, ts: float | None = None) -> None:
        """The writer is gone without an exit record: flush what is pending, mark crashed.

        The store remembers the sequence number at which it applied this, so
        syncing the same crashed log again writes nothing.
        """
        with self.lock:
            if self.handler.exit is not None or self.key is None:
                return
            self.handler.end_of_log("crashed", ts)
            ch = self.handler.take()
            ch.first_seq = ch.last_seq = self.applied_seq
            ch.end_of_log = True
            if self.writer is not None:
                self.writer.apply(ch)
                self.stored_seq = self.writer.applied_seq


class Sender(threading.Thread):
    """The live sender thread of an online run."""

    def __init__(
        self,
        log_path: str,
        store_factory: Callable[[], SQLStore],
        heartbeat_seconds: float = 10.0,
        fsync: Callable[[], None] | None = None,
        fsync_seconds: float = 2.0,
        poll_seconds: float = 0.05,
        sparklines: bool = False,
    ) -> None:
        super().__init__(name="trackline-sender", daemon=True)
        self.log_path = log_path
        self._store_factory = store_factory
        self.heartbeat_seconds = heartbeat_seconds
        self.fsync = fsync
        self.fsync_seconds = fsync_seconds
        self.poll_seconds = poll_seconds
        self.sparklines = sparklines
        self.pump: Pump | None = None
        self.error: BaseException | None = None
        self.last_store_time: datetime.datetime | None = None
        self._wake = threading.Event()
        self._stop_at: int | None = None
        self._progress = threading.Condition()
        self._ready = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop_after(self, seq: int) -> None:
        """Finish once everything up to ``seq`` is in the store."""
        self._stop_at = seq
        self._wake.set()

    def wait_for(self, seq: int, timeout: float | None) -> bool:
        """Block until the store holds every record up to ``seq`` (or the sender failed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._wake.set()
        with self._progress:
            while True:
                pump = self.pump
                if pump is not None and pump.stored_seq >= seq:
                    return True
                if self.error is not None or (not self.is_alive() and self._ready.is_set()):
                    return False
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._progress.wait(0.05 if remaining is None else min(remaining, 0.05))

    def snapshot(self, seq: int, timeout: float | None, stop: bool = False) -> Snapshot | None:
        """Wait until the store holds every record up to ``seq``; None on timeout or failure.

        With ``stop=True`` the sender finishes once it got there (``finish()``).
        """
        if stop:
            self.stop_after(seq)
        ok = self.wait_for(seq, timeout)
        pump = self.pump
        if not ok or pump is None:
            return None
        return pump.snapshot(self.last_store_time)

    def progress(self) -> Snapshot:
        pump = self.pump
        err = None if self.error is None else str(self.error)
        if pump is None:
            return Snapshot(error=err)
        return pump.snapshot(self.last_store_time, err)

    def run(self) -> None:
        try:
            store = self._store_factory()
            self.pump = Pump(self.log_path, store, sparklines=self.sparklines)
        except BaseException as exc:  # the store could not be opened: the log keeps everything
            self.error = exc
            log.warning("trackline: could not open the store (%s); data stays in %s", exc, self.log_path)
            self._ready.set()
            with self._progress:
                self._progress.notify_all()
            return
        self._ready.set()
        pump = self.pump
        last_beat = last_sync = time.monotonic()
        try:
            while True:
                n = pump.pump()
                if n:
                    self.last_store_time = datetime.datetime.now(datetime.timezone.utc)
                with self._progress:
                    self._progress.notify_all()
                now = time.monotonic()
                if self.fsync is not None and now - last_sync >= self.fsync_seconds:
                    self.fsync()
                    last_sync = now
                if pump.writer is not None and now - last_beat >= self.heartbeat_seconds:
                    pump.writer.heartbeat(time.time())
                    last_beat = now
                if n:
                    continue
                if self._stop_at is not None and pump.applied_seq >= self._stop_at:
                    break
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
        except BaseException as exc:
            self.error = exc
            log.warning("trackline: sender stopped (%s); data is safe in %s", exc, self.log_path)
        finally:
            pump.close()
            with self._progress:
                self._progress.notify_all()
