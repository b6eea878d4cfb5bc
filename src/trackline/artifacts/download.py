"""Writing an artifact's files to a folder: download, checkout, verify.

Every target path is checked (:mod:`trackline.storage.paths`): an entry name that could
escape ``root`` is refused, a symlinked folder that leads outside is refused, and a
symlink planted at a file's place is replaced, never written through. Files are
written to a temporary name and renamed. A file already present with the right size
and MD5 is left alone; extra files are left alone too (``checkout`` removes them).
Content comes from the local blob store in place, or through the download cache, and is
copied in the kernel (``copy_file_range``) on one thread per core: the copy is CPU work, and
more threads than cores only add switches (2 GB / 10k files on 2 cores: 5.8 CPU-s with 8
threads, 3.8 with 2). Fetches from a remote blob store keep 8 threads to hide latency.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import stat
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from trackline.artifacts.cache import ArtifactCache
from trackline.artifacts.manifest import ManifestEntry
from trackline.artifacts.references import open_reference
from trackline.storage.blobs import kernel_copy
from trackline.storage.paths import commit_inside, open_inside_for_write, target_inside

DOWNLOAD_THREADS = 8  # fetches through the cache (network latency)
LOCAL_COPY_THREADS = max(1, min(DOWNLOAD_THREADS, os.cpu_count() or 1))  # copies from a local blob store


@dataclass
class DownloadStats:
    written: int = 0
    unchanged: int = 0
    bytes_written: int = 0
    missing_refs: list[str] = field(default_factory=list)


def md5_b64_file(path: str) -> str:
    h = hashlib.md5()
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
    return base64.b64encode(h.digest()).decode()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _up_to_date(dest: str, entry: ManifestEntry) -> bool:
    try:
        st = os.lstat(dest)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(st.st_mode):  # a link (never written through), a folder, ...
        return False
    if entry.size is not None and st.st_size != entry.size:
        return False
    if entry.ref is not None and not entry.ref.startswith("file://"):
        return False  # an ETag is not an MD5: copy again (from the cache, no request)
    return md5_b64_file(dest) == entry.digest


def source_path(entry: ManifestEntry, blobs: Any, cache: ArtifactCache, skip_cache: bool = False) -> str:
    """A local file holding the entry's bytes (fetching through the cache when needed)."""
    if entry.ref is None:
        if entry.sha256 is None:
            raise FileNotFoundError(f"artifact entry {entry.path!r} has no stored content")
        sha = entry.sha256
        local = getattr(blobs, "path", None)
        if local is not None:
            p = local(sha)
            if os.path.isfile(p):
                return str(p)
            raise FileNotFoundError(
                f"the blob of artifact entry {entry.path!r} ({sha[:12]}) is missing from {blobs.url}; "
                "it was deleted (trackline gc?) or never stored (sync the run that logged it)"
            )
        if blobs is None:
            raise FileNotFoundError(f"no blob store to read artifact entry {entry.path!r} from")
        return cache.blob(sha, lambda: blobs.open(sha))
    if entry.ref.startswith("file://"):
        from trackline.artifacts.references import file_path

        p = file_path(entry.ref)
        if not os.path.isfile(p):
            raise FileNotFoundError(f"referenced file {p} (entry {entry.path!r}) is gone")
        return p
    if skip_cache:
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix="trackline-ref-")
        with os.fdopen(fd, "wb") as dst, open_reference(entry) as src:
            shutil.copyfileobj(src, dst, 1 << 20)
        return tmp
    return cache.ref(entry.ref, entry.digest, lambda: open_reference(entry))


def download_entries(
    entries: Sequence[ManifestEntry],
    root: str,
    blobs: Any,
    cache: ArtifactCache,
    allow_missing_references: bool = False,
    skip_cache: bool = False,
    threads: int | None = None,
) -> DownloadStats:
    if threads is None:
        threads = LOCAL_COPY_THREADS if getattr(blobs, "path", None) is not None else DOWNLOAD_THREADS
    os.makedirs(root, exist_ok=True)
    stats = DownloadStats()
    mode = 0o666 & ~_umask()

    base = os.path.realpath(root)  # resolved once: every check below is against it

    def one(entry: ManifestEntry) -> tuple[int, int]:
        dest = target_inside(root, entry.path, base)
        if _up_to_date(dest, entry):
            return 0, 0
        try:
            src = source_path(entry, blobs, cache, skip_cache)
        except (FileNotFoundError, OSError, ValueError):
            if entry.ref is not None and allow_missing_references:
                stats.missing_refs.append(entry.path)
                return 0, 0
            raise
        tmp, f = open_inside_for_write(root, entry.path, base, dest)
        try:
            with f, open(src, "rb", buffering=0) as source:
                size = kernel_copy(source.fileno(), f.fileno())
                os.fchmod(f.fileno(), mode)
            is_file_ref = entry.ref is not None and entry.ref.startswith("file://") and entry.digest != entry.ref
            if is_file_ref and md5_b64_file(tmp) != entry.digest:
                raise ValueError(f"Digest mismatch for file {entry.ref}: it changed since it was referenced")
            commit_inside(root, entry.path, tmp, base)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        if entry.ref is not None and skip_cache and not entry.ref.startswith("file://"):
            os.remove(src)
        return 1, size

    if len(entries) <= 1 or threads <= 1:
        results = [one(e) for e in entries]
    else:
        with ThreadPoolExecutor(max_workers=min(threads, len(entries))) as ex:
            results = list(ex.map(one, entries))
    for w, b in results:
        stats.written += w
        stats.bytes_written += b
    stats.unchanged = len(entries) - stats.written - len(stats.missing_refs)
    return stats


def remove_extra_files(root: str, keep: set[str]) -> int:
    """``checkout``: delete files under ``root`` that are not entries; returns how many."""
    removed = 0
    if not os.path.isdir(root):
        return 0
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for fn in filenames:
            full = os.path.join(dirpath, fn)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if rel not in keep:
                os.remove(full)
                removed += 1
        for d in dirnames:
            full = os.path.join(dirpath, d)
            if os.path.islink(full):
                os.remove(full)
                continue
            try:
                os.rmdir(full)
            except OSError:
                pass
    return removed


def verify_folder(root: str, entries: dict[str, ManifestEntry], name: str) -> int:
    """Raise ValueError on an extra file, a missing file or an MD5 mismatch; returns references skipped."""
    for dirpath, _, filenames in os.walk(root):
        for fn in filenames:
            full = os.path.join(dirpath, fn)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if rel not in entries:
                raise ValueError(f"Found file {full} which is not a member of artifact {name}")
    skipped = 0
    for entry in entries.values():
        if entry.ref is not None:
            skipped += 1
            continue
        full = os.path.join(root, *entry.path.split("/"))
        if not os.path.isfile(full):
            raise ValueError(f"Missing file {entry.path} of artifact {name} under {root}")
        if md5_b64_file(full) != entry.digest:
            raise ValueError(f"Digest mismatch for file: {entry.path}")
    return skipped
