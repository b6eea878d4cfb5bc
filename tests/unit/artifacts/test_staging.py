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
    calls = {"hash": 0, "put_file": 0}
    real_hash, real_put = staging.hash_file, LocalBlobStore.put_file

    def hash_file_counted(p: str) -> blobs_mod.BlobInfo:
        calls["hash"] += 1
        return real_hash(p)

    def put_file_counted(self: LocalBlobStore, p: str) -> blobs_mod.BlobInfo:
        calls["put_file"] += 1
        return real_put(self, p)

    monkeypatch.setattr(staging, "hash_file", hash_file_counted)
    monkeypatch.setattr(LocalBlobStore, "put_file", put_file_counted)
    return calls


def test_unchanged_files_are_not_read_again(tmp_path: Path, counting: dict[str, int]) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    cache = staging.HashCache(str(tmp_path / "hashes.sqlite"))
    files = [settled(tmp_path / f"f{i}.txt", f"content {i}") for i in range(5)]
    first = staging.stage_files(files, "mutable", store, cache)
    assert counting["hash"] == 5
    second = staging.stage_files(files, "mutable", store, cache)
    assert counting["hash"] == 5 and counting["put_file"] == 0  # nothing read or written
    assert [s.sha256 for s in first] == [s.sha256 for s in second]
    settled(Path(files[2]), "changed content")
    third = staging.stage_files(files, "mutable", store, cache)
    assert counting["hash"] == 6  # only the changed file
    assert third[2].sha256 == hash_file(files[2]).sha256 != first[2].sha256


def test_fresh_files_are_not_trusted_from_the_cache(tmp_path: Path, counting: dict[str, int]) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    cache = staging.HashCache(str(tmp_path / "hashes.sqlite"))
    f = tmp_path / "new.txt"
    f.write_text("just written")
    staging.stage_files([str(f)], "mutable", store, cache)
    staging.stage_files([str(f)], "mutable", store, cache)
    assert counting["put_file"] == 2  # copied and hashed in one pass each time: it may still change


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
    f = settled(tmp_path / "racy.txt", "version one")
    real_hash = staging.hash_file

    def hash_then_change(p: str) -> blobs_mod.BlobInfo:
        info = real_hash(p)
        Path(p).write_text("version two, longer")  # a writer gets in between hash and copy
        return info

    monkeypatch.setattr(staging, "hash_file", hash_then_change)
    [s] = staging.stage_files([f], "mutable", store)
    with open(store.path(s.sha256), "rb") as fh:
        stored = fh.read()
    assert stored == b"version two, longer"
    assert hash_file(store.path(s.sha256)).sha256 == s.sha256  # the blob is named by its content


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
