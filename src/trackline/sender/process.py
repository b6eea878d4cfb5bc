"""The sender as a child process: the default for online runs.

Why a process and not a thread (measured in ``benchmarks/``): a sender thread competes
with the training loop for the GIL, so while it replays a burst of records every
``log()`` that needs the GIL waits up to the interpreter's switch interval (5 ms);
with the thread, ``log()`` p99 was ~0.7 ms and its max tens of ms in the 100k-step
benchmark. In a process the two run on separate cores: ``log()`` only appends to the
file. It also makes crashes cheaper: when the training process dies (even SIGKILL),
the sender sees its control pipe close, replays the rest of the log and marks the run
crashed at once, so the store is complete without ``trackline sync``.

``init()`` does not wait for the child: it is spawned (a few ms) and imports the store
in parallel. ``Settings(x_sender="thread")`` keeps the in-process thread.

Protocol on two pipes (parent -> child requests, child -> parent replies), each
message a 4-byte length and msgpack: request ``[id, seq, stop]`` asks for a
:class:`Snapshot` once the store holds every record up to ``seq`` (``seq`` 0: now);
``stop`` makes the child exit after answering.
"""

from __future__ import annotations

import json
import logging
import os
import select
import struct
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, NoReturn

from trackline.records import codec
from trackline.sender.snapshot import Snapshot

if TYPE_CHECKING:
    from trackline.sender.sender import Pump

log = logging.getLogger("trackline.sender")
_LEN = struct.Struct("<I")
# After a batch that drained the log, the child waits this long for more records (unless
# the parent asks for something) before the next batch: a loop that logs an image every
# millisecond then costs one store transaction per ~20 records instead of one per record
# (measured: ~0.7 ms of sender CPU per image, competing with the training process).
COALESCE_S = 0.02
_BACKLOG = 512  # a batch this big did not drain the log: go on at once

# The child's entry point. ``trackline/__init__`` loads the SDK facade (init, Run,
# settings: ~45 ms) that the child never uses, and the child's start-up is on the
# critical path of ``finish()`` after a fast loop, so it registers the package as a bare
# module with the right ``__path__`` and imports only the sender and the store.
BOOT_PACKAGE = (
    "import sys, types\n"
    "pkg = types.ModuleType('trackline')\n"
    "pkg.__path__ = [sys.argv[1]]\n"
    "sys.modules['trackline'] = pkg\n"
)
_BOOT = BOOT_PACKAGE + "from trackline.sender.process import main\nmain(sys.argv[2])\n"


def _send(fd: int, obj: Any) -> None:
    data = codec.encode(obj)
    os.write(fd, _LEN.pack(len(data)) + data)


def _read_exact(fd: int, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _recv(fd: int) -> Any:
    head = _read_exact(fd, _LEN.size)
    if head is None:
        return None
    body = _read_exact(fd, _LEN.unpack(head)[0])
    return None if body is None else codec.decode(body)


def _snapshot_dict(snap: Snapshot) -> dict[str, Any]:
    d = asdict(snap)
    d["sync_time"] = None if snap.sync_time is None else snap.sync_time.timestamp()
    return d


def _snapshot_from(d: dict[str, Any]) -> Snapshot:
    import datetime

    ts = d.get("sync_time")
    d["sync_time"] = None if ts is None else datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return Snapshot(**d)


class ProcessSender:
    """Parent side: spawns the child (``main`` below, started through ``_BOOT``) and talks to it."""

    def __init__(
        self,
        log_path: str,
        store_url: str,
        blob_url: str | None,
        heartbeat_seconds: float = 10.0,
        fsync_seconds: float = 2.0,
        sparklines: bool = False,
    ) -> None:
        self.args = {
            "log_path": log_path,
            "store_url": store_url,
            "blob_url": blob_url,
            "heartbeat_seconds": heartbeat_seconds,
            "fsync_seconds": fsync_seconds,
            "sparklines": sparklines,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self._req_w = -1
        self._rep_r = -1
        self._lock = threading.Lock()
        self._next_id = 0
        self.error: str | None = None
        self._last = Snapshot()
        self._stop: tuple[int | None, int] | None = None  # (request id, seq) of a stop sent ahead

    def start(self) -> None:
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        import trackline

        root = os.path.dirname(os.path.dirname(os.path.abspath(trackline.__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        args = {**self.args, "requests": req_r, "replies": rep_w, "parent": os.getpid()}
        pkg_dir = os.path.dirname(os.path.abspath(trackline.__file__))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT, pkg_dir, json.dumps(args)],
            pass_fds=(req_r, rep_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # Ctrl-C in the terminal must not kill it mid-write
        )
        os.close(req_r)
        os.close(rep_w)
        self._req_w, self._rep_r = req_w, rep_r

    def _request(self, seq: int, stop: bool) -> int | None:
        """Send a request (caller holds the lock); its id, or None if the child is gone."""
        self._next_id += 1
        try:
            _send(self._req_w, [self._next_id, seq, stop])
        except OSError as exc:
            self.error = f"the sender process is gone ({exc})"
            return None
        return self._next_id

    def stop_after(self, seq: int) -> None:
        """Ask the child to finish once the store holds ``seq``, without waiting.

        ``finish()`` sends this before it fsyncs the log, so the child's last batch and the
        fsync overlap; ``snapshot(seq, stop=True)`` then collects the answer.
        """
        if self.proc is None:
            return
        with self._lock:
            self._stop = (self._request(seq, True), seq)

    def _ask(self, seq: int, timeout: float | None, stop: bool) -> Snapshot | None:
        if self.proc is None:
            return None
        with self._lock:
            if stop and self._stop is not None and self._stop[1] == seq:
                rid = self._stop[0]
            else:
                rid = self._request(seq, stop)
            if rid is None:
                return None
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                ready, _, _ = select.select([self._rep_r], [], [], remaining)
                if not ready:
                    return None
                msg = _recv(self._rep_r)
                if msg is None:
                    self.error = self.error or "the sender process exited"
                    return None
                mid, payload = msg
                snap = _snapshot_from(payload)
                self._last = snap
                if snap.error:
                    self.error = snap.error
                if mid == rid:
                    return snap if snap.stored_seq >= seq else None

    def snapshot(self, seq: int, timeout: float | None, stop: bool = False) -> Snapshot | None:
        snap = self._ask(seq, timeout, stop)
        if stop and self.proc is not None:
            # The answer means the store has committed everything up to ``seq``; the
            # child's own exit (closing the store, interpreter teardown: ~0.1 s) is not
            # waited for. A daemon thread reaps it so no zombie is left behind.
            threading.Thread(target=self.proc.wait, name="trackline-sender-reaper", daemon=True).start()
        return snap

    def progress(self) -> Snapshot:
        snap = self._ask(0, 5.0, False)
        return snap if snap is not None else self._last

    def close(self) -> None:
        for fd in (self._req_w, self._rep_r):
            try:
                os.close(fd)
            except OSError:
                pass


# -- the child ----------------------------------------------------------------------------


def main(argv: str | None = None) -> None:
    args = json.loads(sys.argv[1] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    req, rep, parent = args["requests"], args["replies"], args["parent"]
    from trackline.sender.sender import Pump
    from trackline.storage import open_store

    error: str | None = None
    pump: Pump | None = None
    try:
        store = open_store(args["store_url"], args.get("blob_url"))
        pump = Pump(args["log_path"], store, sparklines=args.get("sparklines", False), dedicated=True)
    except Exception as exc:  # the log keeps everything; tell the parent why
        error = f"could not open the store: {exc}"
        log.warning("trackline: %s; data stays in %s", error, args["log_path"])
    pending: list[tuple[int, int, bool]] = []
    parent_gone = False
    stop_after: int | None = None
    last_beat = last_sync = time.monotonic()
    sync_time = None
    import datetime

    while True:
        n = 0
        if pump is not None:
            try:
                n = pump.pump()
            except Exception as exc:
                error = f"sender failed: {exc}"
                log.warning("trackline: %s; data is safe in %s", error, args["log_path"])
                pump = None
            if n:
                sync_time = datetime.datetime.now(datetime.timezone.utc)
        # Requests from the parent (and its death, seen as end-of-file).
        wait = next_wait(n, stop_after is not None)
        while not parent_gone:
            ready, _, _ = select.select([req], [], [], wait)
            if not ready:
                break
            msg = _recv(req)
            if msg is None:
                parent_gone = True
                break
            rid, seq, stop = msg
            pending.append((rid, seq, stop))
            if stop:
                stop_after = seq
            wait = 0.0
        stored = pump.stored_seq if pump is not None else 0
        still: list[tuple[int, int, bool]] = []
        for rid, seq, stop in pending:
            if stored >= seq or pump is None:
                snap = pump.snapshot(sync_time, error) if pump is not None else Snapshot(error=error)
                try:
                    _send(rep, [rid, _snapshot_dict(snap)])
                except OSError:
                    parent_gone = True
            else:
                still.append((rid, seq, stop))
        pending = still
        now = time.monotonic()
        if pump is not None and pump.writer is not None and not parent_gone:
            if now - last_beat >= args["heartbeat_seconds"]:
                pump.writer.heartbeat(time.time())
                last_beat = now
            if now - last_sync >= args["fsync_seconds"]:
                os.fsync(pump.reader._f.fileno())
                last_sync = now
        if stop_after is not None and (pump is None or stored >= stop_after) and not pending:
            _exit_now(pump)
        if parent_gone and not n:
            # The training process died: the log holds everything it wrote. Mark the run.
            if pump is not None:
                while pump.pump():
                    pass
                if pump.handler.exit is None and not _alive(parent):
                    pump.end_of_log()
                    from trackline.data_types.spare_files import remove_leftovers

                    remove_leftovers(os.path.dirname(os.path.abspath(pump.log_path)))
            return
        if pump is None and parent_gone:
            return


def next_wait(applied: int, stopping: bool) -> float:
    """How long the child waits for a request before its next batch, after applying ``applied`` records."""
    if applied >= _BACKLOG or stopping:
        return 0.0  # the log is not drained, or finish() is waiting: go on at once
    return COALESCE_S if applied else 0.05


def _exit_now(pump: Pump | None) -> NoReturn:
    """Close the log and the store, then leave without the interpreter's teardown.

    Everything is committed by now; unloading SQLAlchemy and numpy module by module
    would only keep the run's files open ~0.1 s longer.
    """
    if pump is not None:
        pump.close()
        if pump.store is not None:
            pump.store.close()
    logging.shutdown()
    sys.stderr.flush()
    os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); read its state where /proc exists.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


if __name__ == "__main__":
    main()
