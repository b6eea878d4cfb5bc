"""Console capture: stdout/stderr teed into the run (settings ``console`` = auto / wrap / off).

The terminal always gets the text first, unchanged and in order; then each complete
line (or what is left at a flush) becomes an ``OUTPUT`` record with its timestamp, and
is appended to ``files/output.log``. Records make the output as crash-safe as the rest
of the run and let the store serve it to the UI with timestamps and search.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

Sink = Callable[[str, str, float], None]  # (source, text, ts)


class _Tee:
    """Wraps a text stream's ``write``/``flush``; everything else is the stream's own."""

    def __init__(self, stream: TextIO, source: str, sink: Sink) -> None:
        self._stream = stream
        self._source = source
        self._sink = sink
        self._partial = ""
        self._lock = threading.Lock()
        self._busy = threading.local()

    def write(self, text: str) -> int:
        n = self._stream.write(text)
        if not text or getattr(self._busy, "on", False):
            return n
        self._busy.on = True  # a warning printed while recording must not recurse
        try:
            with self._lock:
                buf = self._partial + text
                cut = buf.rfind("\n")
                if cut < 0:
                    self._partial = buf
                    return n
                self._partial = buf[cut + 1 :]
                complete = buf[: cut + 1]
            self._sink(self._source, complete, time.time())
        except Exception:
            pass  # capture must never break printing
        finally:
            self._busy.on = False
        return n

    def flush(self) -> None:
        self._stream.flush()

    def drain(self) -> None:
        with self._lock:
            rest, self._partial = self._partial, ""
        if rest:
            try:
                self._sink(self._source, rest, time.time())
            except Exception:
                pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class ConsoleCapture:
    """Installs the tees on ``sys.stdout`` and ``sys.stderr``; ``stop`` restores them."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._saved: tuple[Any, Any] | None = None
        self._tees: list[_Tee] = []

    def start(self) -> None:
        if self._saved is not None:
            return
        self._saved = (sys.stdout, sys.stderr)
        out, err = _Tee(sys.stdout, "stdout", self._sink), _Tee(sys.stderr, "stderr", self._sink)
        self._tees = [out, err]
        sys.stdout, sys.stderr = out, err

    def stop(self) -> None:
        if self._saved is None:
            return
        for tee in self._tees:
            tee.drain()
        # Restore only our own wrappers; someone may have wrapped them again since.
        if sys.stdout is self._tees[0]:
            sys.stdout = self._saved[0]
        if sys.stderr is self._tees[1]:
            sys.stderr = self._saved[1]
        self._saved = None
