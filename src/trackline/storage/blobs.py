"""Content-addressed blobs: run files, media and artifact contents, stored once by sha256.

The contract is small on purpose (``put_file``/``put_bytes``/``open``/``exists``/
``delete``/``iter_digests``), so a local folder (``file://``, the embedded default:
``~/.trackline/blobs``) and an S3-compatible bucket (``s3://``, for the team server) are
interchangeable. Blobs are immutable: writing the same content twice stores it once.
A folder blob lives at ``<root>/<sha[:2]>/<sha[2:4]>/<sha>``; it is written to a temporary
file and renamed into place, so a reader never sees a partial blob.

Garbage collection (``trackline gc``) needs two more things: every blob's size and age
(:meth:`LocalBlobStore.iter_blobs`) and a way to tell "just written, not yet indexed" from
"unreferenced". Writing content that already exists refreshes the blob's modification
time, so a grace period on the age protects blobs that a run is about to reference.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

_CHUNK = 1 << 20
_INCOMING = ".incoming-"
_INCOMING_DIR = ".incoming"  # per-thread folders of temporary files (LocalBlobStore._incoming_dir)
_INCOMING_SLOTS = 64
_thread_slot = threading.local()
_slots = itertools.count()


@dataclass(frozen=True)
class BlobInfo:
    sha256: str
    md5_b64: str  # W&B's entry digest: base64 of the MD5
    size: int


@dataclass(frozen=True)
class BlobStat:
    sha256: str
    size: int
    mtime: float  # last written (or re-written with the same content)


class BlobStore(Protocol):
    url: str

    def put_file(self, path: str | os.PathLike[str]) -> BlobInfo: ...

    def put_own_file(self, path: str | os.PathLike[str]) -> BlobInfo: ...

    def put_bytes(self, data: bytes) -> BlobInfo: ...

    def open(self, sha256: str) -> BinaryIO: ...

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int: ...

    def delete(self, sha256: str) -> int: ...

    def iter_digests(self) -> Iterator[str]: ...

    def iter_blobs(self) -> Iterator[BlobStat]: ...


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _check_digest(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return sha256


def _info(sha: hashlib._Hash, md5: hashlib._Hash, size: int) -> BlobInfo:
    return BlobInfo(sha.hexdigest(), base64.b64encode(md5.digest()).decode(), size)


def hash_file(path: str | os.PathLike[str]) -> BlobInfo:
    """sha256, base64 MD5 and size of a file, read once."""
    sha, md5, size = hashlib.sha256(), hashlib.md5(), 0
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            chunk = view[:n]
            sha.update(chunk)
            md5.update(chunk)
            size += n
    return _info(sha, md5, size)


def copy_hashing(src: BinaryIO, dst: BinaryIO) -> BlobInfo:
    """Copy ``src`` to ``dst`` and hash it in the same pass."""
    sha, md5, size = hashlib.sha256(), hashlib.md5(), 0
    readinto = getattr(src, "readinto", None)
    if readinto is None:  # streams that only read() (S3 bodies)
        while data := src.read(_CHUNK):
            sha.update(data)
            md5.update(data)
            dst.write(data)
            size += len(data)
        return _info(sha, md5, size)
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    while n := readinto(buf):
        chunk = view[:n]
        sha.update(chunk)
        md5.update(chunk)
        dst.write(chunk)
        size += n
    return _info(sha, md5, size)


class LocalBlobStore:
    """Blobs in a folder (the embedded default)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.path.abspath(os.fspath(root))
        self.url = "file://" + self.root
        os.makedirs(self.root, exist_ok=True)

    def path(self, sha256: str) -> str:
        d = _check_digest(sha256)
        return os.path.join(self.root, d[:2], d[2:4], d)

    def _place(self, tmp: str, info: BlobInfo) -> BlobInfo:
        dest = self.path(info.sha256)
        if os.path.exists(dest):
            os.remove(tmp)
            self.touch(info.sha256)
            return info
        folder = os.path.dirname(dest)
        if not os.path.isdir(folder):  # a stat; mkdir of an existing folder costs far more
            os.makedirs(folder, exist_ok=True)
        os.chmod(tmp, 0o444)
        os.replace(tmp, dest)
        return info

    def touch(self, sha256: str) -> bool:
        """Mark a blob as just written (gc's grace period counts from here); False if it is not there."""
        try:
            os.utime(self.path(sha256))
            return True
        except OSError:
            return False

    def put_file(self, path: str | os.PathLike[str]) -> BlobInfo:
        """Hash and copy in one pass (the file is read once)."""
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=_INCOMING)
        try:
            with open(path, "rb", buffering=0) as src, os.fdopen(fd, "wb") as dst:
                info = copy_hashing(src, dst)
            return self._place(tmp, info)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    def put_own_file(self, path: str | os.PathLike[str]) -> BlobInfo:
        """Store a file that trackline wrote itself and never rewrites (a run's media file).

        The blob becomes a hard link to the file when both are on one file system, so the
        content is on disk once; the shared file is read-only, like every blob. Where links
        are not possible (another file system, no link support) it is copied. Files the user
        owns (``save``, artifacts) are always copied: an edit in place would change the blob.
        """
        if os.path.islink(path):  # a link would make the blob a link (and chmod its target)
            return self.put_file(path)
        info = hash_file(path)
        dest = self.path(info.sha256)
        if os.path.exists(dest):
            self.touch(info.sha256)
            return info
        tmp = os.path.join(self._incoming_dir(), f"{_INCOMING}link-{info.sha256}-{os.getpid()}-{threading.get_ident()}")
        try:
            os.link(path, tmp)
        except OSError:
            return self.put_file(path)
        try:
            folder = os.path.dirname(dest)
            if not os.path.isdir(folder):
                os.makedirs(folder, exist_ok=True)
            os.chmod(tmp, 0o444)
            os.replace(tmp, dest)
        except BaseException:
            if os.path.lexists(tmp):
                os.remove(tmp)
            raise
        return info

    def _incoming_dir(self) -> str:
        """This thread's folder for temporary files (``<root>/.incoming/<slot>``).

        Creating files in one folder is serialised by the file system (the folder's lock; on
        some systems a file creation costs most of a millisecond), so writers on parallel
        threads each get a folder of their own.
        """
        slot = getattr(_thread_slot, "n", None)
        if slot is None:
            slot = _thread_slot.n = next(_slots) % _INCOMING_SLOTS
            _thread_slot.made = set()
        folder = os.path.join(self.root, _INCOMING_DIR, str(slot))
        if folder not in _thread_slot.made or not os.path.isdir(folder):
            os.makedirs(folder, exist_ok=True)
            _thread_slot.made.add(folder)
        return folder

    def put_file_new(self, path: str | os.PathLike[str]) -> tuple[BlobInfo, bool]:
        """:meth:`put_file`, also saying whether the content was new to the store (False: it
        was there already and only the temporary copy was written). Artifact staging uses
        it to switch to hashing before copying when most of what it sees is stored already."""
        fd, tmp = tempfile.mkstemp(dir=self._incoming_dir(), prefix=_INCOMING)
        try:
            with open(path, "rb", buffering=0) as src, os.fdopen(fd, "wb") as dst:
                info = copy_hashing(src, dst)
            new = not self.exists(info.sha256)
            return self._place(tmp, info), new
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    def put_known(self, path: str | os.PathLike[str], info: BlobInfo, expect: os.stat_result) -> BlobInfo | None:
        """Store a file already hashed (as ``info``, when its stat was ``expect``), copied in the kernel.

        Returns None (and stores nothing) if the file changed since it was hashed; the
        caller then falls back to :meth:`put_file`, which hashes what it copies.
        """
        if self.exists(info.sha256):
            self.touch(info.sha256)
            return info
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=_INCOMING)
        os.close(fd)
        try:
            shutil.copyfile(path, tmp)  # sendfile / copy_file_range: no copy through Python
            st = os.stat(path)
            same = (st.st_size, st.st_mtime_ns, st.st_ino) == (expect.st_size, expect.st_mtime_ns, expect.st_ino)
            if not same or os.path.getsize(tmp) != info.size:
                os.remove(tmp)
                return None
            return self._place(tmp, info)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    def put_stream(self, src: BinaryIO) -> BlobInfo:
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=_INCOMING)
        try:
            with os.fdopen(fd, "wb") as dst:
                info = copy_hashing(src, dst)
            return self._place(tmp, info)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    def put_bytes(self, data: bytes) -> BlobInfo:
        info = BlobInfo(
            hashlib.sha256(data).hexdigest(), base64.b64encode(hashlib.md5(data).digest()).decode(), len(data)
        )
        if self.exists(info.sha256):
            self.touch(info.sha256)
            return info
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=_INCOMING)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return self._place(tmp, info)

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path(sha256), "rb")

    def exists(self, sha256: str) -> bool:
        return os.path.exists(self.path(sha256))

    def size(self, sha256: str) -> int:
        return os.path.getsize(self.path(sha256))

    def delete(self, sha256: str) -> int:
        """Remove a blob; returns the bytes freed (0 if it was not there)."""
        p = self.path(sha256)
        try:
            size = os.path.getsize(p)
            os.remove(p)
        except FileNotFoundError:
            return 0
        for folder in (os.path.dirname(p), os.path.dirname(os.path.dirname(p))):
            try:
                os.rmdir(folder)  # only when empty
            except OSError:
                break
        return size

    def iter_digests(self) -> Iterator[str]:
        for stat in self.iter_blobs():
            yield stat.sha256

    def iter_blobs(self) -> Iterator[BlobStat]:
        """Every blob with its size and modification time, in digest order."""
        for top in sorted(os.listdir(self.root)):
            if len(top) != 2:
                continue
            top_dir = os.path.join(self.root, top)
            if not os.path.isdir(top_dir):
                continue
            for mid in sorted(os.listdir(top_dir)):
                folder = os.path.join(top_dir, mid)
                if not os.path.isdir(folder):
                    continue
                with os.scandir(folder) as it:
                    found = sorted((e for e in it if len(e.name) == 64), key=lambda e: e.name)
                for entry in found:
                    try:
                        st = entry.stat()
                    except FileNotFoundError:
                        continue
                    yield BlobStat(entry.name, st.st_size, st.st_mtime)

    def total_size(self) -> int:
        return sum(s.size for s in self.iter_blobs())

    def clean_incoming(self, older_than: float) -> int:
        """Remove temporary files left by writers that died (older than ``older_than`` seconds)."""
        freed = 0
        cutoff = time.time() - older_than
        folders = [self.root]
        slots = os.path.join(self.root, _INCOMING_DIR)
        if os.path.isdir(slots):
            folders += [os.path.join(slots, n) for n in os.listdir(slots)]
        for folder in folders:
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            for name in names:
                if not name.startswith(_INCOMING):
                    continue
                p = os.path.join(folder, name)
                try:
                    st = os.stat(p)
                    if st.st_mtime < cutoff:
                        os.remove(p)
                        freed += st.st_size
                except OSError:
                    continue
        return freed


class MemoryBlobStore:
    """The in-memory twin of :class:`LocalBlobStore` (tests, and code that must not touch disk)."""

    def __init__(self) -> None:
        self.url = "memory://"
        self._blobs: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()
        self.opens = 0  # how many times content was read (tests count cache misses with it)

    def put_bytes(self, data: bytes) -> BlobInfo:
        info = BlobInfo(
            hashlib.sha256(data).hexdigest(), base64.b64encode(hashlib.md5(data).digest()).decode(), len(data)
        )
        with self._lock:
            self._blobs[info.sha256] = (bytes(data), time.time())
        return info

    def put_file(self, path: str | os.PathLike[str]) -> BlobInfo:
        with open(path, "rb") as f:
            return self.put_bytes(f.read())

    put_own_file = put_file

    def open(self, sha256: str) -> BinaryIO:
        with self._lock:
            if sha256 not in self._blobs:
                raise FileNotFoundError(f"no blob {sha256}")
            self.opens += 1
            return io.BytesIO(self._blobs[sha256][0])

    def exists(self, sha256: str) -> bool:
        return sha256 in self._blobs

    def size(self, sha256: str) -> int:
        return len(self._blobs[sha256][0])

    def delete(self, sha256: str) -> int:
        with self._lock:
            item = self._blobs.pop(sha256, None)
        return 0 if item is None else len(item[0])

    def iter_digests(self) -> Iterator[str]:
        yield from sorted(self._blobs)

    def iter_blobs(self) -> Iterator[BlobStat]:
        for d in sorted(self._blobs):
            data, mtime = self._blobs[d]
            yield BlobStat(d, len(data), mtime)


def open_blob_store(url: str) -> LocalBlobStore:
    """``file:///path`` or a plain path (``s3://`` comes with the team server)."""
    if url.startswith("file://"):
        return LocalBlobStore(url[len("file://") :])
    if "://" in url:
        raise ValueError(f"unsupported blob store URL {url!r}: use a folder path or file:///path")
    return LocalBlobStore(url)
