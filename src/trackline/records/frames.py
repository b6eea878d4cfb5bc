"""The run's record log: one append-only file of framed, checksummed records.

File layout::

    header  = b"TLOG" | version u8 | 3 reserved bytes | stream id (16 bytes)      (24 bytes)
    frame   = length u32 | crc32 u32 | seq u64 | payload (length bytes)             (16 + n)

``crc32`` covers the sequence number and the payload, so a frame whose header or
body was torn or overwritten is detected. Sequence numbers start at 1 and grow by
one per frame; together with the stream id they make ingest idempotent.

A frame is handed to the kernel with one ``os.write`` before the Run call that
produced it returns, so a killed process (SIGKILL) loses nothing it acknowledged;
``fsync`` (power loss) happens periodically and at finish. A reader stops at the
first incomplete or corrupt frame and reports how many bytes it dropped.
"""

from __future__ import annotations

import os
import struct
import threading
import uuid
import zlib
from collections.abc import Iterator
from typing import Any, NamedTuple

MAGIC = b"TLOG"
VERSION = 1
FILE_HEADER = struct.Struct("<4sB3x16s")
FRAME_HEADER = struct.Struct("<IIQ")
_SEQ = struct.Struct("<Q")
# A length beyond this is treated as corruption: no Run call produces a 1 GiB record.
MAX_PAYLOAD = 1 << 30


class RecordLogError(Exception):
    """The file is not a trackline record log (bad magic or unsupported version)."""


def frame_crc(seq: int, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(_SEQ.pack(seq)))


def encode_frame(seq: int, payload: bytes) -> bytes:
    return FRAME_HEADER.pack(len(payload), frame_crc(seq, payload), seq) + payload


class RecordWriter:
    """Appends frames to a record log; safe to call from several threads.

    ``append`` returns only after the frame is in the kernel's page cache, which
    survives the death of this process. Call ``sync`` for durability across power
    loss (the sender does it periodically, ``close`` always does).
    """

    def __init__(self, path: str | os.PathLike[str], stream_id: bytes | None = None) -> None:
        self.path = os.fspath(path)
        self.stream_id = stream_id or uuid.uuid4().bytes
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        if os.fstat(fd).st_size == 0:
            os.write(fd, FILE_HEADER.pack(MAGIC, VERSION, self.stream_id))
        else:
            os.close(fd)
            raise RecordLogError(f"{self.path} already exists; a record log is written by one writer")
        self._fd = fd
        self._lock = threading.Lock()
        self.seq = 0
        self.bytes_written = FILE_HEADER.size
        self._pack = FRAME_HEADER.pack
        self._crc = zlib.crc32
        self._seq_pack = _SEQ.pack
        self.closed = False

    def append(self, payload: bytes) -> int:
        """Write one frame and return its sequence number.

        Exception-safe: if a KeyboardInterrupt (or any exception raised by a signal
        handler) lands mid-call, the file is left either with the whole frame (and
        the sequence number advanced) or without any of it.
        """
        with self._lock:
            if self.closed:
                raise ValueError("record log is closed")
            seq = self.seq + 1
            frame = (
                self._pack(len(payload), self._crc(payload, self._crc(self._seq_pack(seq))), seq)
                + payload
            )
            start = self.bytes_written
            end = start + len(frame)
            try:
                written = os.write(self._fd, frame)
                while written < len(frame):  # short writes happen on full disks and signals
                    written += os.write(self._fd, frame[written:])
                self.bytes_written = end
                self.seq = seq
            except BaseException:
                self._settle(seq, start, end)
                raise
            return seq

    def _settle(self, seq: int, start: int, end: int) -> None:
        """After an interrupted append: keep a complete frame, cut a partial one."""
        try:
            size = os.fstat(self._fd).st_size
            if size >= end:
                self.bytes_written = end
                self.seq = seq
            elif size > start:
                os.ftruncate(self._fd, start)
                self.bytes_written = start
        except OSError:
            pass

    def sync(self) -> None:
        with self._lock:
            if not self.closed:
                os.fsync(self._fd)

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            os.fsync(self._fd)
            os.close(self._fd)
            self.closed = True

    def abandon(self) -> None:
        """Forget the file descriptor without touching the file (used in forked children)."""
        self.closed = True
        try:
            os.close(self._fd)
        except OSError:
            pass


class Frame(NamedTuple):
    seq: int
    payload: bytes
    end: int  # file offset just after this frame


class RecordReader:
    """Reads frames from a record log, from the start or incrementally (tailing).

    ``poll`` returns the complete, valid frames that follow the last one read.
    An incomplete or corrupt frame at the end is left alone: a live writer may
    still be finishing it. ``dropped_bytes`` tells how much lies beyond the
    last valid frame, which is what a crashed writer lost.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._f = open(self.path, "rb")  # noqa: SIM115 - kept open for tailing
        head = self._f.read(FILE_HEADER.size)
        if len(head) < FILE_HEADER.size:
            self._f.close()
            raise RecordLogError(f"{self.path}: file is too short to be a trackline record log")
        magic, version, stream_id = FILE_HEADER.unpack(head)
        if magic != MAGIC:
            self._f.close()
            raise RecordLogError(f"{self.path}: not a trackline record log (bad magic {magic!r})")
        if version != VERSION:
            self._f.close()
            raise RecordLogError(f"{self.path}: record log version {version} is not supported")
        self.stream_id: bytes = stream_id
        self.offset = FILE_HEADER.size
        self.last_seq = 0
        self._buf = b""
        self._buf_start = self.offset
        self.corrupt = False

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> RecordReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def poll(self, max_bytes: int = 8 << 20) -> list[Frame]:
        """Return the next complete frames (up to about ``max_bytes`` of them)."""
        first = self.last_seq + 1
        payloads, ends = self._scan(max_bytes, keep_ends=True)
        return [Frame(first + i, p, e) for i, (p, e) in enumerate(zip(payloads, ends, strict=True))]

    def poll_payloads(self, max_bytes: int = 8 << 20) -> tuple[int, list[bytes]]:
        """Like :meth:`poll`, without Frame objects: (first seq, payloads in order)."""
        first = self.last_seq + 1
        payloads, _ = self._scan(max_bytes, keep_ends=False)
        return first, payloads

    def poll_rows(self, max_bytes: int = 8 << 20, min_run: int = 64) -> tuple[int, list[Any]]:
        """Like :meth:`poll_payloads`, with runs of equal-size frames given as arrays.

        Each run of at least ``min_run`` consecutive frames of one payload size comes back as
        one 2-D uint8 numpy array (a payload per row, a view of the read buffer), checked as
        every frame is (length, sequence number, CRC). A training loop's records have one
        size, so the sender gets them in bulk without a Python step per frame for anything
        but the CRC; other frames come back as ``bytes``.
        """
        first = self.last_seq + 1
        payloads, _ = self._scan(max_bytes, keep_ends=False, min_run=min_run)
        return first, payloads

    def _scan(self, max_bytes: int, keep_ends: bool, min_run: int = 0) -> tuple[list[Any], list[int]]:
        if self.corrupt:
            return [], []
        self._f.seek(self._buf_start + len(self._buf))
        chunk = self._f.read(max_bytes)
        if chunk:
            self._buf += chunk
        payloads: list[Any] = []
        ends: list[int] = []
        buf = self._buf
        view = memoryview(buf)
        pos = 0
        n = len(buf)
        hsize = FRAME_HEADER.size
        unpack = FRAME_HEADER.unpack_from
        crc32 = zlib.crc32
        base = self._buf_start
        expect = self.last_seq + 1
        try_run_at = 0 if min_run else n  # where a run is looked for next
        while n - pos >= hsize:
            length, crc, seq = unpack(buf, pos)
            if length > MAX_PAYLOAD:
                self.corrupt = True
                break
            end = pos + hsize + length
            if end > n:
                break
            if pos >= try_run_at and length and (n - pos) // (hsize + length) >= min_run:
                rows = _run(buf, view, pos, length, expect)
                if len(rows) >= min_run:
                    payloads.append(rows)
                    expect += len(rows)
                    pos += len(rows) * (hsize + length)
                    continue
                try_run_at = pos + min_run * (hsize + length)  # not a run here: look again later
            # The sequence number and the payload are contiguous: one CRC over both.
            if crc32(view[pos + 8 : end]) != crc or seq != expect:
                # A complete frame with a bad checksum or a gap: what follows is not trusted.
                self.corrupt = True
                break
            payloads.append(buf[pos + hsize : end])
            if keep_ends:
                ends.append(base + end)
            expect = seq + 1
            pos = end
        view.release()
        self.last_seq = expect - 1
        self._buf = buf[pos:]
        self._buf_start += pos
        self.offset = self._buf_start
        return payloads, ends

    def __iter__(self) -> Iterator[Frame]:
        while True:
            frames = self.poll()
            if not frames:
                return
            yield from frames

    @property
    def dropped_bytes(self) -> int:
        """Bytes after the last valid frame (a torn or corrupt tail)."""
        return os.path.getsize(self.path) - self.offset


def _run(buf: bytes, view: memoryview, pos: int, length: int, expect: int) -> Any:
    """The payloads of the valid frames of size ``length`` from ``pos`` on, as rows of a uint8 array.

    Lengths and sequence numbers are checked over the whole run at once; the CRCs one by
    one (a frame that fails ends the run there: the per-frame path then reports it).
    """
    import numpy as np

    size = FRAME_HEADER.size + length
    count = (len(buf) - pos) // size
    frames = np.frombuffer(buf, np.uint8, count=count * size, offset=pos).reshape(count, size)
    head = frames[:, :16].copy().view(np.dtype([("length", "<u4"), ("crc", "<u4"), ("seq", "<u8")]))[:, 0]
    good = (head["length"] == length) & (head["seq"] == np.arange(expect, expect + count, dtype=np.uint64))
    if not good.all():
        count = int(np.argmin(good))
    starts = range(pos + 8, pos + count * size, size)  # each CRC covers sequence number and payload
    bodies = map(view.__getitem__, map(slice, starts, range(pos + size, pos + (count + 1) * size, size)))
    crcs = np.fromiter(map(zlib.crc32, bodies), np.uint32, count)  # all C-level iteration
    bad = crcs != head["crc"][:count]
    if bad.any():
        count = int(np.argmax(bad))
    return frames[:count, FRAME_HEADER.size :]


def read_all(path: str | os.PathLike[str]) -> tuple[bytes, list[Frame], int]:
    """Read a whole log: (stream id, valid frames, bytes dropped from a torn tail)."""
    with RecordReader(path) as reader:
        frames = list(reader)
        return reader.stream_id, frames, reader.dropped_bytes
