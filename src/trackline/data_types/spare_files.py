"""Empty files made ahead of time, so that writing a media file inside ``log()`` creates no inode.

Creating a file is the slow part of writing a small one on some file systems: on a network
file system (NFS, Lustre: where clusters keep run folders) it is a round trip to a server,
and a local one may first have to read an inode bitmap back from disk (measured on the
development VM: 0.5 ms to create and write a 15 KB file when the disk's metadata had gone
cold, 35 us to write into a file made earlier and rename it). Writing into a file that
exists and renaming it needs neither. So each run keeps a few empty files in
``<run folder>/tmp/``, made by a background thread, and ``binding.write_file`` writes a media
file into one of them and renames it to its name; with none ready it creates the file
itself, as before.

Nothing is deferred past ``log()``: the media file has its name and its bytes when ``log()``
returns. A spare file is empty until it is renamed, and nothing refers to a media file until
the FILES record after it, so a crash leaves at most unused files in ``tmp/``; ``close()``
(at ``finish()``) removes them, and after a crash :func:`remove_leftovers` does (the sender,
when it marks the run crashed; ``trackline sync``, after replaying an offline run's log).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque

KEEP = 16  # spare files ready at most: a burst of images (a list of 16) takes no inode
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
THREAD_NAME = "trackline-spare-files"


class SpareFiles:
    """Empty files in ``folder``, made by a daemon thread started on the first ``take()``."""

    def __init__(self, folder: str, keep: int = KEEP) -> None:
        self.folder = folder
        self.keep = keep
        self._ready: deque[str] = deque()  # append and popleft are atomic: no lock needed
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._made = 0

    def take(self) -> str | None:
        """The path of an empty spare file, now the caller's to fill and rename; None if none is ready."""
        try:
            path: str | None = self._ready.popleft()
        except IndexError:
            path = None
        if len(self._ready) <= self.keep // 2:
            self._refill()
        return path

    def _refill(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._closed:
                    self._thread = threading.Thread(target=self._fill, name=THREAD_NAME, daemon=True)
                    self._thread.start()
        self._wake.set()

    def _fill(self) -> None:
        try:
            os.makedirs(self.folder, exist_ok=True)
        except OSError:
            return  # no spares: every media file is created in place
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            while not self._closed and len(self._ready) < self.keep:
                self._made += 1
                path = os.path.join(self.folder, f"spare-{os.getpid()}-{self._made}")
                try:
                    os.close(os.open(path, _CREATE, 0o644))
                except FileExistsError:
                    continue  # left by a killed process with the same pid: take the next name
                except OSError:
                    return  # a full disk or a read-only folder: stop making spares
                self._ready.append(path)

    def close(self) -> None:
        """Stop making files; remove the ones not taken (and the folder, when that leaves it empty)."""
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        while self._ready:
            with contextlib.suppress(OSError):
                os.remove(self._ready.popleft())
        with contextlib.suppress(OSError):
            os.rmdir(self.folder)


def remove_leftovers(run_folder: str) -> int:
    """Remove the empty spare files a killed run left in ``<run_folder>/tmp/`` (and the folder
    when that empties it); the number removed. For a run whose process is gone: the sender
    calls it when it marks the run crashed, ``trackline sync`` after replaying the log.
    Only empty ``spare-*`` files go: a media file is renamed out of ``tmp/`` before anything
    refers to it, so nothing else there is ever needed, but nothing else is touched either."""
    folder = os.path.join(run_folder, "tmp")
    removed = 0
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    for name in names:
        path = os.path.join(folder, name)
        with contextlib.suppress(OSError):
            if name.startswith("spare-") and os.lstat(path).st_size == 0:
                os.remove(path)
                removed += 1
    with contextlib.suppress(OSError):
        os.rmdir(folder)
    return removed
