"""Download from a local blob store: kernel copies on one thread per core, nothing partial left."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from trackline.artifacts import download
from trackline.artifacts.cache import ArtifactCache
from trackline.artifacts.download import download_entries
from trackline.artifacts.manifest import ManifestEntry
from trackline.storage.blobs import LocalBlobStore, MemoryBlobStore


def stored(blobs: Any, contents: dict[str, bytes]) -> list[ManifestEntry]:
    out = []
    for name, data in contents.items():
        info = blobs.put_bytes(data)
        out.append(ManifestEntry(name, info.md5_b64, size=info.size, sha256=info.sha256))
    return out


def leftovers(root: Path) -> list[str]:
    return [n for _, _, names in os.walk(root) for n in names if n.endswith(".part")]


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    seen: list[int] = []
    real = download.ThreadPoolExecutor

    def recording(max_workers: int) -> Any:
        seen.append(max_workers)
        return real(max_workers=max_workers)

    monkeypatch.setattr(download, "ThreadPoolExecutor", recording)
    return seen


def test_local_copies_run_on_one_thread_per_core_remote_fetches_on_more(tmp_path: Path, workers: list[int]) -> None:
    contents = {f"d/f{i}.bin": os.urandom(1000 + i) for i in range(20)}
    local = LocalBlobStore(tmp_path / "blobs")
    download_entries(stored(local, contents), str(tmp_path / "a"), local, ArtifactCache(str(tmp_path / "c")))
    remote = MemoryBlobStore()
    download_entries(stored(remote, contents), str(tmp_path / "b"), remote, ArtifactCache(str(tmp_path / "c")))
    assert workers == [download.LOCAL_COPY_THREADS, download.DOWNLOAD_THREADS]
    assert max(1, min(8, os.cpu_count() or 1)) == download.LOCAL_COPY_THREADS
    for name, data in contents.items():
        assert (tmp_path / "a" / name).read_bytes() == data == (tmp_path / "b" / name).read_bytes()


def test_download_copies_in_the_kernel_and_falls_back_where_it_cannot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    contents = {"a.bin": os.urandom(300_000), "b/c.bin": os.urandom(5)}
    entries = stored(blobs, contents)
    calls: list[int] = []

    def cross_device(*a: int) -> int:
        calls.append(1)
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", cross_device)
    stats = download_entries(entries, str(tmp_path / "out"), blobs, ArtifactCache(str(tmp_path / "c")))
    assert len(calls) == 2 and stats.written == 2 and stats.bytes_written == 300_005
    for name, data in contents.items():
        assert (tmp_path / "out" / name).read_bytes() == data
        assert os.stat(tmp_path / "out" / name).st_mode & 0o200  # the user's copy is writable, unlike the blob
    assert leftovers(tmp_path / "out") == []


def test_a_failed_copy_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    entries = stored(blobs, {"x/a.bin": b"a" * 1000})

    def disk_full(src: int, dst: int) -> int:
        os.write(dst, b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(download, "kernel_copy", disk_full)
    with pytest.raises(OSError, match="No space"):
        download_entries(entries, str(tmp_path / "out"), blobs, ArtifactCache(str(tmp_path / "c")))
    assert leftovers(tmp_path / "out") == [] and not (tmp_path / "out" / "x" / "a.bin").exists()


def test_a_link_with_the_right_content_is_replaced_not_trusted(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    [entry] = stored(blobs, {"a.bin": b"content"})
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"content")
    (tmp_path / "out").mkdir()
    os.symlink(outside, tmp_path / "out" / "a.bin")
    stats = download_entries([entry], str(tmp_path / "out"), blobs, ArtifactCache(str(tmp_path / "c")))
    assert stats.written == 1 and not os.path.islink(tmp_path / "out" / "a.bin")
    assert (tmp_path / "out" / "a.bin").read_bytes() == b"content" and outside.read_bytes() == b"content"
