"""Content-addressed blobs: run files, media and artifact contents, stored once by sha256.

The contract is small on purpose (``put_file``/``put_bytes``/``open``/``exists``/
``delete``/``iter_digests``), so a local folder (``file://``, the embedded default:
``~/.trackline/blobs``) and an S3-compatible bucket (``s3://``, for the team server) are
interchangeable. Blobs are immutable: writing the same content twice stores it once.
A folder blob lives at ``<root>/<sha[:2]>/<sha[2:4]>/<sha>``; it is written to a temporary
file and renamed into place, so a reader never sees a partial blob.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

_CHUNK = 1 << 20


@dataclass(frozen=True)
class BlobInfo:
    sha256: str
    md5_b64: str  # W&B's entry digest: base64 of the MD5
    size: int


class BlobStore(Protocol):
    url: str

    def put_file(self, path: str | os.PathLike[str]) -> BlobInfo: ...

    def put_bytes(self, data: bytes) -> BlobInfo: ...

    def open(self, sha256: str) -> BinaryIO: ...

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int: ...

    def delete(self, sha256: str) -> None: ...

    def iter_digests(self) -> Iterator[str]: ...


def _check_digest(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return sha256


def hash_file(path: str | os.PathLike[str]) -> BlobInfo:
    sha, md5, size = hashlib.sha256(), hashlib.md5(), 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            sha.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    return BlobInfo(sha.hexdigest(), base64.b64encode(md5.digest()).decode(), size)


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
            return info
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.chmod(tmp, 0o444)
        os.replace(tmp, dest)
        return info

    def put_file(self, path: str | os.PathLike[str]) -> BlobInfo:
        """Hash and copy in one pass (the file is read once)."""
        sha, md5, size = hashlib.sha256(), hashlib.md5(), 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
                while chunk := src.read(_CHUNK):
                    sha.update(chunk)
                    md5.update(chunk)
                    size += len(chunk)
                    dst.write(chunk)
            info = BlobInfo(sha.hexdigest(), base64.b64encode(md5.digest()).decode(), size)
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
            return info
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return self._place(tmp, info)

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path(sha256), "rb")

    def exists(self, sha256: str) -> bool:
        return os.path.exists(self.path(sha256))

    def size(self, sha256: str) -> int:
        return os.path.getsize(self.path(sha256))

    def delete(self, sha256: str) -> None:
        try:
            os.remove(self.path(sha256))
        except FileNotFoundError:
            pass

    def iter_digests(self) -> Iterator[str]:
        for top in sorted(os.listdir(self.root)):
            if len(top) != 2:
                continue
            for mid in sorted(os.listdir(os.path.join(self.root, top))):
                folder = os.path.join(self.root, top, mid)
                for name in sorted(os.listdir(folder)):
                    if len(name) == 64:
                        yield name


def open_blob_store(url: str) -> LocalBlobStore:
    """``file:///path`` or a plain path (``s3://`` comes with the team server)."""
    if url.startswith("file://"):
        return LocalBlobStore(url[len("file://") :])
    if "://" in url:
        raise ValueError(f"unsupported blob store URL {url!r}: use a folder path or file:///path")
    return LocalBlobStore(url)
