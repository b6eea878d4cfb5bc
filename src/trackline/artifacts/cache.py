"""The download cache: bytes fetched once are never fetched again.

``<cache>/artifacts/obj/sha256/<ab>/<digest>`` holds blobs fetched from a blob store that
is not a local folder (S3 with the team server); ``<cache>/artifacts/refs/<key>`` holds
the content of references (``http(s)://``, ``s3://``) keyed by URI and ETag, so a
reference whose ETag is unchanged is served without a request (W&B's
``check_etag_obj_path``). A local folder blob store is its own cache: its blobs are read
in place. Files are written to a temporary name and renamed, so a reader never sees a
partial file; ``cleanup(target_bytes)`` drops the least recently used files.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from typing import BinaryIO

from trackline.storage.blobs import copy_hashing


class ArtifactCache:
    def __init__(self, root: str) -> None:
        self.root = os.path.join(os.path.abspath(root), "artifacts")
        self.hits = 0
        self.misses = 0

    def _blob_path(self, sha256: str) -> str:
        return os.path.join(self.root, "obj", "sha256", sha256[:2], sha256)

    def _ref_path(self, uri: str, digest: str) -> str:
        key = hashlib.sha256(f"{uri}\n{digest}".encode()).hexdigest()
        return os.path.join(self.root, "refs", key[:2], key)

    def _lookup(self, path: str) -> str | None:
        if os.path.isfile(path):
            self.hits += 1
            try:
                os.utime(path)  # recently used: kept longest by cleanup()
            except OSError:
                pass
            return path
        self.misses += 1
        return None

    def _store(self, path: str, src: BinaryIO, expect_sha256: str | None = None) -> str:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as dst:
                info = copy_hashing(src, dst)
            if expect_sha256 is not None and info.sha256 != expect_sha256:
                raise ValueError(f"downloaded content does not match its sha256 {expect_sha256}")
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        return path

    def blob(self, sha256: str, fetch: Callable[[], BinaryIO]) -> str:
        """A local copy of blob ``sha256``, fetched (and verified) on a miss."""
        path = self._blob_path(sha256)
        found = self._lookup(path)
        if found is not None:
            return found
        with fetch() as src:
            return self._store(path, src, expect_sha256=sha256)

    def ref(self, uri: str, digest: str, fetch: Callable[[], BinaryIO]) -> str:
        """A local copy of a reference's content for this URI and digest (ETag), fetched on a miss."""
        path = self._ref_path(uri, digest)
        found = self._lookup(path)
        if found is not None:
            return found
        with fetch() as src:
            return self._store(path, src)

    def size(self) -> int:
        total = 0
        for dirpath, _, files in os.walk(self.root):
            for f in files:
                try:
                    total += os.path.getsize(os.path.join(dirpath, f))
                except OSError:
                    pass
        return total

    def cleanup(self, target_bytes: int) -> int:
        """Remove least recently used files until the cache holds at most ``target_bytes``; returns bytes freed."""
        files: list[tuple[float, int, str]] = []
        for dirpath, _, names in os.walk(self.root):
            for n in names:
                p = os.path.join(dirpath, n)
                try:
                    st = os.stat(p)
                except OSError:
                    continue
                files.append((st.st_mtime, st.st_size, p))
        total = sum(s for _, s, _ in files)
        freed = 0
        for _, size, p in sorted(files):
            if total - freed <= target_bytes:
                break
            try:
                os.remove(p)
                freed += size
            except OSError:
                pass
        return freed
