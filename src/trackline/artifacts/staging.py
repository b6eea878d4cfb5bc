"""Hashing and staging the files added to an artifact.

W&B copies a ``policy="mutable"`` file into a read-only staging folder so later edits of
the user's file cannot change what gets uploaded. trackline's staging folder *is* the
content-addressed blob store (when the blob store is a local folder, the default), so
one pass over each new file reads it once in 1 MiB blocks, feeds both digests (sha256
for storage, MD5 for W&B's manifest) and writes the block to a temporary file in the
blob folder, which is then renamed to its sha256 name (or dropped if that content is
stored already). Files are staged on one thread per core: hashlib releases the GIL for
large buffers, and the copy is mostly kernel time. ``policy="immutable"`` only hashes;
the sender copies the file when it stores the version.

Blobs are always copies, never hard links to the user's files: one blob serves every
version, run and project with that content, so an in-place edit of a linked file would
silently change all of them (and make the blob disagree with its name), and making the
blob read-only would change the user's file too.

When most of the files seen so far turn out to be stored already (a copy of a folder
logged before, a hash cache that was cleared), staging hashes first and copies only
the content the store lacks, so known content costs a read and no write.

A small persistent cache of ``(path, device, inode, size, mtime) -> digests`` (as git's
index and W&B's own hash cache keep) lets a re-log of unchanged files skip reading them.
An entry is only trusted when the file had not changed for a while before it was
hashed, so a write in the same timestamp tick cannot go unnoticed.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from trackline.storage.blobs import BlobInfo, LocalBlobStore, hash_file, open_blob_store

if TYPE_CHECKING:
    from trackline.settings import Settings

HASH_THREADS = max(1, min(32, os.cpu_count() or 1))  # the work is CPU-bound: one thread per core
_RACY_SECONDS = 2.0  # files modified this close to hashing are not cached (coarse mtimes)
_stores: dict[str, LocalBlobStore] = {}
_stores_lock = threading.Lock()


def current_settings() -> Settings:
    """The active run's settings, else the settings of this environment."""
    import trackline
    from trackline.settings import Settings, resolve

    run = getattr(trackline, "run", None)
    s = getattr(run, "_settings", None)
    if isinstance(s, Settings):
        return s
    return resolve()


def _store_at(root: str) -> LocalBlobStore:
    with _stores_lock:
        store = _stores.get(root)
        if store is None:
            store = _stores[root] = LocalBlobStore(root)
        return store


def staging_store(settings: Settings | None = None) -> LocalBlobStore:
    """The local blob store files are staged into (the run's blob store when it is a folder)."""
    s = settings or current_settings()
    url = s.blob_url
    if "://" not in url or url.startswith("file://"):
        return _store_at(open_blob_store(url).root)
    return _store_at(os.path.join(s.trackline_home, "staging"))


def cache_root(settings: Settings | None = None) -> str:
    """``$TRACKLINE_CACHE_DIR`` (or ``$WANDB_CACHE_DIR``), else ``<trackline home>/cache``."""
    for var in ("TRACKLINE_CACHE_DIR", "WANDB_CACHE_DIR"):
        if os.environ.get(var):
            return os.path.abspath(os.path.expanduser(os.environ[var]))
    s = settings or current_settings()
    return os.path.join(s.trackline_home, "cache")


@dataclass(frozen=True)
class Staged:
    md5_b64: str
    sha256: str
    size: int
    local_path: str  # the staged blob (mutable) or the user's file (immutable)


class HashCache:
    """Digests of files by path and stat, in a SQLite file; any failure just means a miss."""

    def __init__(self, path: str) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=5.0)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, dev INTEGER, ino INTEGER, "
            "size INTEGER, mtime_ns INTEGER, md5 TEXT, sha256 TEXT)"
        )
        return conn

    def lookup(self, paths: Sequence[str], stats: Sequence[os.stat_result]) -> dict[int, tuple[str, str]]:
        found: dict[int, tuple[str, str]] = {}
        try:
            conn = self._connect()
        except sqlite3.Error:
            return found
        try:
            index = {p: i for i, p in enumerate(paths)}
            for start in range(0, len(paths), 500):
                part = list(paths[start : start + 500])
                q = f"SELECT path, dev, ino, size, mtime_ns, md5, sha256 FROM hashes WHERE path IN ({','.join('?' * len(part))})"
                for path, dev, ino, size, mtime_ns, md5, sha in conn.execute(q, part):
                    i = index[path]
                    st = stats[i]
                    if (dev, ino, size, mtime_ns) == (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns):
                        found[i] = (md5, sha)
        except sqlite3.Error:
            return {}
        finally:
            conn.close()
        return found

    def store(self, rows: Sequence[tuple[str, os.stat_result, BlobInfo]], hashed_at: float) -> None:
        keep = [
            (p, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, info.md5_b64, info.sha256)
            for p, st, info in rows
            if hashed_at - st.st_mtime_ns / 1e9 > _RACY_SECONDS
        ]
        if not keep:
            return
        try:
            conn = self._connect()
            try:
                with conn:
                    conn.executemany("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?, ?, ?)", keep)
            finally:
                conn.close()
        except sqlite3.Error:
            pass


def hash_cache(settings: Settings | None = None) -> HashCache:
    return HashCache(os.path.join(cache_root(settings), "hashes.sqlite"))


class _Seen:
    """What staging has met so far in one call: new content, or content already stored.

    Threads update it without a lock: a lost count only delays the switch of strategy.
    """

    def __init__(self) -> None:
        self.new = 0
        self.stored = 0

    def mostly_stored(self) -> bool:
        return self.stored > self.new


def stage_files(
    paths: Sequence[str],
    policy: str,
    store: LocalBlobStore,
    cache: HashCache | None = None,
    threads: int = HASH_THREADS,
) -> list[Staged]:
    """Hash (and for ``mutable``, stage) files in parallel; results in input order."""
    paths = [os.path.abspath(p) for p in paths]
    started = time.time()
    stats = [os.stat(p) for p in paths]
    known = cache.lookup(paths, stats) if cache is not None else {}
    fresh: list[tuple[str, os.stat_result, BlobInfo]] = []
    lock = threading.Lock()
    seen = _Seen()

    def copy_new(p: str, st: os.stat_result) -> BlobInfo:
        if seen.mostly_stored():
            # Hash (read only); write only content the store lacks, copied in the kernel
            # and only if the file did not change after it was hashed.
            info = hash_file(p)
            if store.exists(info.sha256):
                store.touch(info.sha256)
                seen.stored += 1
                return info
            stored = store.put_known(p, info, st)
            if stored is not None:
                seen.new += 1
                return stored
        # One pass: read once, both digests, written as it is read.
        info, new = store.put_file_new(p)
        if new:
            seen.new += 1
        else:
            seen.stored += 1
        return info

    def one(i: int) -> Staged:
        p, st = paths[i], stats[i]
        hit = known.get(i)
        if hit is not None:
            md5, sha = hit
            if policy == "immutable":
                return Staged(md5, sha, st.st_size, p)
            if store.exists(sha):
                store.touch(sha)
                return Staged(md5, sha, st.st_size, store.path(sha))
        if policy == "immutable":
            info = hash_file(p)
            local = p
        else:
            info = copy_new(p, st)
            local = store.path(info.sha256)
        after = os.stat(p)
        if (after.st_size, after.st_mtime_ns) == (st.st_size, st.st_mtime_ns):
            with lock:
                fresh.append((p, st, info))
        return Staged(info.md5_b64, info.sha256, info.size, local)

    out: list[Staged | None] = [None] * len(paths)
    for i, (md5, sha) in known.items():  # known and stored: no thread, no copy
        if policy == "immutable":
            out[i] = Staged(md5, sha, stats[i].st_size, paths[i])
        elif store.touch(sha):  # it exists (and now counts as just written, for gc)
            out[i] = Staged(md5, sha, stats[i].st_size, store.path(sha))
    misses = [i for i in range(len(paths)) if out[i] is None]
    if len(misses) <= 1 or threads <= 1:
        for i in misses:
            out[i] = one(i)
    else:
        # A few chunks per thread: a future per file costs more than a small file's hash.
        n_chunks = min(len(misses), threads * 4)
        chunks = [misses[k::n_chunks] for k in range(n_chunks)]

        def run_chunk(chunk: list[int]) -> list[tuple[int, Staged]]:
            return [(i, one(i)) for i in chunk]

        with ThreadPoolExecutor(max_workers=min(threads, n_chunks)) as ex:
            for done in ex.map(run_chunk, chunks):
                for i, staged in done:
                    out[i] = staged
    if cache is not None and fresh:
        cache.store(fresh, started)
    return [s for s in out if s is not None]
