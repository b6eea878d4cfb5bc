"""Staging into the blob store: one read per new file, none for unchanged files, never a wrong blob."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from trackline.artifacts import staging
from trackline.storage import blobs as blobs_mod
from trackline.storage.blobs import LocalBlobStore, hash_file


def settled(path: Path, text: str) -> str:
    """A file last modified a minute ago (older than the hash cache's racy window)."""
    path.write_text(text)
    past = time.time() - 60
    os.utime(path, (past, past))
    return str(path)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often files are hashed without a copy, copied while hashed, or copied in the kernel."""
    calls = {"hash": 0, "put_file": 0, "kernel_copy": 0}
    real_hash, real_put, real_known = staging.hash_file, LocalBlobStore.put_file_new, LocalBlobStore.put_known

    def hash_file_counted(p: str) -> blobs_mod.BlobInfo:
        calls["hash"] += 1
        return real_hash(p)

    def put_file_counted(self: LocalBlobStore, p: str) -> tuple[blobs_mod.BlobInfo, bool]:
        calls["put_file"] += 1
        return real_put(self, p)

    def put_known_counted(self: LocalBlobStore, *a: object) -> blobs_mod.BlobInfo | None:
        calls["kernel_copy"] += 1
        return real_known(self, *a)  # type: ignore[arg-type]

    monkeypatch.setattr(staging, "hash_file", hash_file_counted)
    monkeypatch.setattr(LocalBlobStore, "put_file_new", put_file_counted)
    monkeypatch.setattr(LocalBlobStore, "put_known", put_known_counted)
    return calls


def test_a_new_file_is_read_once_hashed_and_copied_in_the_same_pass(
    tmp_path: Path, counting: dict[str, int]
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    files = [settled(tmp_path / f"f{i}.bin", f"content {i}" * 1000) for i in range(6)]
    staged = staging.stage_files(files, "mutable", store, threads=3)
    assert counting == {"hash": 0, "put_file": 6, "kernel_copy": 0}
    for f, s in zip(files, staged, strict=True):
        info = hash_file(f)
        assert (s.sha256, s.md5_b64, s.size) == (info.sha256, info.md5_b64, info.size)
        assert s.local_path == store.path(s.sha256)
        assert Path(s.local_path).read_bytes() == Path(f).read_bytes()
        assert not os.stat(s.local_path).st_mode & 0o222  # blobs are read-only
        assert os.stat(s.local_path).st_ino != os.stat(f).st_ino  # a copy, never a link to the user's file
    assert not [n for n in os.listdir(tmp_path / "blobs") if n.startswith(".incoming-")]


def test_content_mostly_stored_already_is_hashed_not_written(tmp_path: Path, counting: dict[str, int]) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    for i in range(10):
        store.put_bytes(f"known {i}".encode())
    files = [settled(tmp_path / f"k{i}.txt", f"known {i}") for i in range(10)]
    files.append(settled(tmp_path / "new.txt", "not stored yet"))
    staged = staging.stage_files(files, "mutable", store, threads=1)  # no hash cache: every file is read
    # The first file is copied while hashed; once known content dominates, files are hashed
    # first and only the one new file is written.
    assert counting["put_file"] == 1 and counting["hash"] == 10 and counting["kernel_copy"] == 1
    assert store.exists(staged[-1].sha256)
    assert Path(staged[-1].local_path).read_text() == "not stored yet"


def test_unchanged_files_are_not_read_again(tmp_path: Path, counting: dict[str, int]) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    cache = staging.HashCache(str(tmp_path / "hashes.sqlite"))
    files = [settled(tmp_path / f"f{i}.txt", f"content {i}") for i in range(5)]
    first = staging.stage_files(files, "mutable", store, cache)
    assert counting["put_file"] == 5
    second = staging.stage_files(files, "mutable", store, cache)
    assert counting["put_file"] == 5 and counting["hash"] == 0  # nothing read or written
    assert [s.sha256 for s in first] == [s.sha256 for s in second]
    settled(Path(files[2]), "changed content")
    third = staging.stage_files(files, "mutable", store, cache)
    assert counting["put_file"] == 6 and counting["hash"] == 0  # only the changed file
    assert third[2].sha256 == hash_file(files[2]).sha256 != first[2].sha256


def test_fresh_files_are_not_trusted_from_the_cache(tmp_path: Path, counting: dict[str, int]) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    cache = staging.HashCache(str(tmp_path / "hashes.sqlite"))
    f = tmp_path / "new.txt"
    f.write_text("just written")
    staging.stage_files([str(f)], "mutable", store, cache)
    staging.stage_files([str(f)], "mutable", store, cache)
    assert counting["put_file"] == 2  # read again: it may still be changing


def test_existing_blobs_are_not_written_again(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    a = settled(tmp_path / "a.txt", "same bytes")
    b = settled(tmp_path / "b.txt", "same bytes")
    [sa] = staging.stage_files([a], "mutable", store)
    blob = store.path(sa.sha256)
    old = time.time() - 7200
    os.utime(blob, (old, old))
    [sb] = staging.stage_files([b], "mutable", store)
    assert sb.sha256 == sa.sha256 and sb.local_path == blob
    assert os.path.getmtime(blob) > old + 3600  # touched: gc's grace period starts again
    assert sorted(os.listdir(tmp_path / "blobs")) != []  # no temporary files left
    assert not [n for n in os.listdir(tmp_path / "blobs") if n.startswith(".incoming-")]


def test_a_file_changed_after_hashing_is_stored_as_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put_bytes(b"stored before")
    known = settled(tmp_path / "known.txt", "stored before")  # makes staging hash before copying
    f = settled(tmp_path / "racy.txt", "version one")
    real_hash = staging.hash_file

    def hash_then_change(p: str) -> blobs_mod.BlobInfo:
        info = real_hash(p)
        if p.endswith("racy.txt"):
            Path(p).write_text("version two, longer")  # a writer gets in between hash and copy
        return info

    monkeypatch.setattr(staging, "hash_file", hash_then_change)
    _, s = staging.stage_files([known, f], "mutable", store, threads=1)
    with open(store.path(s.sha256), "rb") as fh:
        stored = fh.read()
    assert stored == b"version two, longer"
    assert hash_file(store.path(s.sha256)).sha256 == s.sha256  # the blob is named by its content


def test_a_file_changing_while_it_is_copied_is_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    cache = staging.HashCache(str(tmp_path / "hashes.sqlite"))
    f = settled(tmp_path / "growing.txt", "first part")
    real_copy = blobs_mod.copy_hashing

    def copy_then_append(src, dst):  # type: ignore[no-untyped-def]
        info = real_copy(src, dst)
        with open(f, "a") as fh:
            fh.write(" and more")
        return info

    monkeypatch.setattr(blobs_mod, "copy_hashing", copy_then_append)
    [s] = staging.stage_files([f], "mutable", store, cache)
    assert Path(s.local_path).read_text() == "first part"  # what was read, named by its content
    assert hash_file(s.local_path).sha256 == s.sha256
    assert cache.lookup([f], [os.stat(f)]) == {}  # the next log reads it again


def test_put_known_refuses_a_changed_file(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    f = Path(settled(tmp_path / "x.txt", "before"))
    st = os.stat(f)
    info = hash_file(f)
    f.write_text("after!")
    assert store.put_known(f, info, st) is None
    assert not store.exists(info.sha256)


def test_blob_store_accounting(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    a = store.put_bytes(b"a" * 10)
    store.put_bytes(b"b" * 20)
    assert store.total_size() == 30
    assert sorted(s.size for s in store.iter_blobs()) == [10, 20]
    assert store.delete(a.sha256) == 10 and store.delete(a.sha256) == 0
    assert store.total_size() == 20
    stale = tmp_path / "blobs" / ".incoming-dead"
    stale.write_bytes(b"x" * 5)
    past = time.time() - 7200
    os.utime(stale, (past, past))
    assert store.clean_incoming(3600) == 5 and not stale.exists()


def test_parallel_writers_create_temporary_files_in_folders_of_their_own(tmp_path: Path) -> None:
    # File creation is serialised per folder by the file system: one folder per thread lets
    # staging threads create blobs in parallel.
    import threading

    store = LocalBlobStore(tmp_path / "blobs")
    seen: dict[str, str] = {}
    ready = threading.Barrier(3)

    def writer(name: str) -> None:
        ready.wait()
        seen[name] = store._incoming_dir()
        f = tmp_path / f"{name}.txt"
        f.write_text(name)
        store.put_file_new(f)

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen.values())) == 3
    assert all(os.path.dirname(d) == os.path.join(store.root, ".incoming") for d in seen.values())
    assert all(os.listdir(d) == [] for d in seen.values())  # every temporary file was renamed into place
    assert sorted(s.size for s in store.iter_blobs()) == [1, 1, 1]


def test_stale_temporary_files_in_thread_folders_are_cleaned(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    folder = Path(store._incoming_dir())
    stale, fresh = folder / ".incoming-dead", folder / ".incoming-writing"
    stale.write_bytes(b"x" * 7)
    fresh.write_bytes(b"y" * 3)
    past = time.time() - 7200
    os.utime(stale, (past, past))
    assert store.clean_incoming(3600) == 7
    assert not stale.exists() and fresh.exists()
    assert list(store.iter_blobs()) == []  # temporary files are never listed as blobs
