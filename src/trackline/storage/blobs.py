"""Content-addressed blobs: run files, media and artifact contents, stored once by sha256.

The contract is small on purpose (``put_file``/``put_bytes``/``open``/``exists``/
``delete``/``iter_digests``), so a local folder (``file://``, the embedded default:
``~/.trackline/blobs``) and an S3-compatible bucket (``s3://``, for the team server) are
interchangeable. Blobs are immutable: writing the same content twice stores it once.
A folder blob lives at ``<root>/<sha[:2]>/<sha>``: one level of 256 folders, made once,
where two levels (``<sha[:2]>/<sha[2:4]>/``, the layout before) cost a folder creation for
almost every new blob of a 10,000-file artifact (~9,300 of them, a quarter of the CPU
time of staging it beside the hashing). Stores written with two levels are still read
(see :attr:`LocalBlobStore.legacy`). A blob is written to a temporary file and renamed
into place, so a reader never sees a partial blob.

Garbage collection (``trackline gc``) needs two more things: every blob's size and age
(:meth:`LocalBlobStore.iter_blobs`) and a way to tell "just written, not yet indexed" from
"unreferenced". Writing content that already exists refreshes the blob's modification
time, so a grace period on the age protects blobs that a run is about to reference.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import itertools
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from trackline.storage.paths import move_into

_CHUNK = 1 << 20
_LAYOUT = ".layout-one-level"  # marks a store that has only ever been written with one folder level
_INCOMING = ".incoming-"
_INCOMING_DIR = ".incoming"  # per-thread folders of temporary files (LocalBlobStore._incoming_dir)
_INCOMING_SLOTS = 64
_thread_slot = threading.local()
_slots = itertools.count()
_names = itertools.count()
_buffers = threading.local()
_NO_KERNEL_COPY = {errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF}


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


def _buffer() -> tuple[bytearray, memoryview]:
    """This thread's read buffer: allocating (and zeroing) 1 MiB per file costs more than a small file's copy."""
    pair: tuple[bytearray, memoryview] | None = getattr(_buffers, "pair", None)
    if pair is None:
        buf = bytearray(_CHUNK)
        pair = _buffers.pair = (buf, memoryview(buf))
    return pair


def hash_file(path: str | os.PathLike[str]) -> BlobInfo:
    """sha256, base64 MD5 and size of a file, read once."""
    sha, md5, size = hashlib.sha256(), hashlib.md5(), 0
    buf, view = _buffer()
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            chunk = view[:n]
            sha.update(chunk)
            md5.update(chunk)
            size += n
    return _info(sha, md5, size)


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


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
    buf, view = _buffer()
    while n := readinto(buf):
        chunk = view[:n]
        sha.update(chunk)
        md5.update(chunk)
        dst.write(chunk)
        size += n
    return _info(sha, md5, size)


def kernel_copy(src_fd: int, dst_fd: int) -> int:
    """Copy the rest of ``src_fd`` to ``dst_fd`` in the kernel (no pass through Python); bytes copied.

    ``copy_file_range`` first (a reflink on file systems that share extents), then
    ``sendfile``; where the kernel refuses both (another file system on old kernels,
    special files, no support: EXDEV, EINVAL, ENOSYS, EOPNOTSUPP) it reads and writes.
    """
    total = 0
    calls: list[Callable[[], int]] = [
        lambda: os.copy_file_range(src_fd, dst_fd, 1 << 30),
        lambda: os.sendfile(dst_fd, src_fd, None, 1 << 30),
    ]
    for call in calls:
        try:
            while n := call():
                total += n
            return total
        except OSError as exc:
            if total or exc.errno not in _NO_KERNEL_COPY:
                raise
    buf, view = _buffer()
    with open(src_fd, "rb", buffering=0, closefd=False) as src:
        while n := src.readinto(buf):
            written = 0
            while written < n:
                written += os.write(dst_fd, view[written:n])
            total += n
    return total


class LocalBlobStore:
    """Blobs in a folder (the embedded default)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.path.abspath(os.fspath(root))
        self.url = "file://" + self.root
        os.makedirs(self.root, exist_ok=True)
        self.legacy = self._has_legacy_blobs()

    def _has_legacy_blobs(self) -> bool:
        """Whether blobs may sit two folder levels deep (a store written before the one-level layout).

        A store marked one-level (or still without blobs, which is then marked) is looked up
        in one place; an older store also in the two-level place, for every blob.
        """
        marker = os.path.join(self.root, _LAYOUT)
        if os.path.exists(marker):
            return False
        if any(len(n) == 2 for n in os.listdir(self.root)):
            return True
        try:
            with open(marker, "w") as f:
                f.write("blobs live at <sha[:2]>/<sha>\n")
        except OSError:  # a read-only store: nothing will be written with either layout
            pass
        return False

    def path(self, sha256: str) -> str:
        d = _check_digest(sha256)
        p = os.path.join(self.root, d[:2], d)
        if self.legacy and not os.path.exists(p):
            old = os.path.join(self.root, d[:2], d[2:4], d)
            if os.path.exists(old):
                return old
        return p

    def _incoming(self) -> tuple[str, int]:
        """A new temporary file in this thread's folder: ``(path, fd open for writing)``."""
        tmp = os.path.join(self._incoming_dir(), f"{_INCOMING}{os.getpid()}-{next(_names)}")
        return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)

    def _write_new(self, write: Callable[[BinaryIO], BlobInfo]) -> tuple[str, BlobInfo]:
        """Write a temporary file (read-only once written) with ``write``; ``(its path, what it holds)``.

        On any failure the temporary file is removed: nothing partial is left behind.
        """
        tmp, fd = self._incoming()
        try:
            with os.fdopen(fd, "wb") as dst:
                info = write(dst)
                dst.flush()
                os.fchmod(dst.fileno(), 0o444)
        except BaseException:
            _remove_quietly(tmp)
            raise
        return tmp, info

    def _place(self, tmp: str, info: BlobInfo) -> bool:
        """Rename a finished temporary file to its blob name; False (and the file dropped) if stored already."""
        if self.exists(info.sha256):
            _remove_quietly(tmp)
            self.touch(info.sha256)
            return False
        # (the first blob of a folder makes it: 256 of them, made once)
        move_into(tmp, os.path.join(self.root, info.sha256[:2], info.sha256))
        return True

    def touch(self, sha256: str) -> bool:
        """Mark a blob as just written (gc's grace period counts from here); False if it is not there."""
        try:
            os.utime(self.path(sha256))
            return True
        except OSError:
            return False

    def put_file(self, path: str | os.PathLike[str]) -> BlobInfo:
        """Hash and copy in one pass (the file is read once)."""
        return self.put_file_new(path)[0]

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
        if self.exists(info.sha256):
            self.touch(info.sha256)
            return info
        tmp = os.path.join(self._incoming_dir(), f"{_INCOMING}link-{info.sha256}-{os.getpid()}-{threading.get_ident()}")
        try:
            os.link(path, tmp)
        except OSError:
            return self.put_file(path)
        try:
            os.chmod(tmp, 0o444)
        except BaseException:
            _remove_quietly(tmp)
            raise
        self._place(tmp, info)
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
        with open(path, "rb", buffering=0) as src:
            tmp, info = self._write_new(lambda dst: copy_hashing(src, dst))
        return info, self._place(tmp, info)

    def put_known(self, path: str | os.PathLike[str], info: BlobInfo, expect: os.stat_result) -> BlobInfo | None:
        """Store a file already hashed (as ``info``, when its stat was ``expect``), copied in the kernel.

        Returns None (and stores nothing) if the file changed since it was hashed; the
        caller then falls back to :meth:`put_file`, which hashes what it copies.
        """
        if self.exists(info.sha256):
            self.touch(info.sha256)
            return info
        with open(path, "rb", buffering=0) as src:

            def copy(dst: BinaryIO) -> BlobInfo:
                return BlobInfo(info.sha256, info.md5_b64, kernel_copy(src.fileno(), dst.fileno()))

            tmp, copied = self._write_new(copy)
            st = os.fstat(src.fileno())
        same = (st.st_size, st.st_mtime_ns, st.st_ino) == (expect.st_size, expect.st_mtime_ns, expect.st_ino)
        if not same or copied.size != info.size:
            _remove_quietly(tmp)
            return None
        self._place(tmp, info)
        return info

    def put_stream(self, src: BinaryIO) -> BlobInfo:
        tmp, info = self._write_new(lambda dst: copy_hashing(src, dst))
        self._place(tmp, info)
        return info

    def put_bytes(self, data: bytes) -> BlobInfo:
        info = BlobInfo(
            hashlib.sha256(data).hexdigest(), base64.b64encode(hashlib.md5(data).digest()).decode(), len(data)
        )
        if self.exists(info.sha256):
            self.touch(info.sha256)
            return info

        def write(dst: BinaryIO) -> BlobInfo:
            dst.write(data)
            return info

        self._place(self._write_new(write)[0], info)
        return info

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
        folder = os.path.dirname(p)
        while folder != self.root:
            try:
                os.rmdir(folder)  # only when empty
            except OSError:
                break
            folder = os.path.dirname(folder)
        return size

    def iter_digests(self) -> Iterator[str]:
        for stat in self.iter_blobs():
            yield stat.sha256

    def iter_blobs(self) -> Iterator[BlobStat]:
        """Every blob with its size and modification time, in digest order."""
        for top in sorted(os.listdir(self.root)):
            if len(top) != 2:
                continue
            found: list[os.DirEntry[str]] = []
            folders = [os.path.join(self.root, top)]
            while folders:
                try:
                    with os.scandir(folders.pop()) as it:
                        for e in it:
                            if len(e.name) == 64:
                                found.append(e)
                            elif self.legacy and len(e.name) == 2 and e.is_dir(follow_symlinks=False):
                                folders.append(e.path)
                except (FileNotFoundError, NotADirectoryError):
                    continue
            for entry in sorted(found, key=lambda e: e.name):
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
