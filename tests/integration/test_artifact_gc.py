"""Garbage collection frees exactly the unreferenced blobs; retention keeps the last N versions."""

from __future__ import annotations

import datetime
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import update

import trackline
from trackline.artifacts import gc
from trackline.artifacts.client import ArtifactClient
from trackline.storage import open_store
from trackline.storage.blobs import LocalBlobStore
from trackline.storage.sql import schema as t


def files(root: Path, contents: dict[str, bytes]) -> str:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in contents.items():
        (root / name).write_bytes(data)
    return str(root)


def age(blobs: LocalBlobStore, seconds: float) -> None:
    """Make every blob look written ``seconds`` ago."""
    for s in blobs.iter_blobs():
        past = time.time() - seconds
        os.utime(blobs.path(s.sha256), (past, past))


def test_gc_frees_exactly_the_unreferenced_blobs(tmp_path: Path) -> None:
    run = trackline.init(project="gc")
    a = trackline.Artifact("a", "dataset")
    a.add_dir(files(tmp_path / "a", {"only-a.bin": b"A" * 1000, "shared.bin": b"S" * 300}))
    a = run.log_artifact(a).wait()
    b = trackline.Artifact("b", "dataset")
    b.add_dir(files(tmp_path / "b", {"shared.bin": b"S" * 300, "only-b.bin": b"B" * 200}))
    b = run.log_artifact(b).wait()
    Path(run.dir, "notes.txt").write_bytes(b"N" * 50)
    run.save(os.path.join(run.dir, "notes.txt"), base_path=run.dir, policy="now")
    run.finish()
    store = open_store(run.settings.store_url)
    blobs = store.blobs
    assert isinstance(blobs, LocalBlobStore)
    orphan = blobs.put_bytes(b"O" * 77)
    age(blobs, 7200)
    recent = blobs.put_bytes(b"R" * 33)  # unreferenced but fresh: inside the grace period
    result = ArtifactClient(store).db.delete([int(a._row["id"])], delete_aliases=True)  # type: ignore[index]
    assert result.unreferenced_bytes == 1000  # shared.bin is still used by b
    dry = gc.collect_garbage(store, grace_seconds=3600, dry_run=True)
    assert (dry.blobs_deleted, dry.bytes_freed) == (2, 1077)
    assert blobs.exists(orphan.sha256)
    report = gc.collect_garbage(store, grace_seconds=3600)
    assert (report.blobs_deleted, report.bytes_freed, report.blobs_kept_recent) == (2, 1077, 1)
    assert set(report.deleted) == {orphan.sha256, a.manifest.get("only-a.bin").sha256}  # type: ignore[union-attr]
    assert blobs.exists(recent.sha256)
    out = Path(b.download(str(tmp_path / "out")))
    assert (out / "shared.bin").read_bytes() == b"S" * 300
    api_run = trackline.Api().run(f"gc/{run.id}")
    assert api_run.file("notes.txt").download(str(tmp_path / "r"), replace=True).read() == "N" * 50
    assert gc.collect_garbage(store, grace_seconds=0).blobs_deleted == 1  # the fresh orphan, with no grace


def test_keep_last_n_spares_aliased_versions(tmp_path: Path) -> None:
    run = trackline.init(project="gc")
    for i in range(5):
        art = trackline.Artifact("ckpt", "model")
        with art.new_file("w.bin", mode="wb") as f:
            f.write(bytes([i]) * 100)
        run.log_artifact(art, aliases=["best"] if i == 1 else None).wait()
    run.finish()
    store = open_store(run.settings.store_url)
    db = ArtifactClient(store).db
    victims, dry = gc.keep_last(db, run.entity, "gc", "ckpt", 2, dry_run=True)
    assert sorted(v["version_index"] for v in victims) == [0, 2]
    assert dry.unreferenced_bytes == 200
    victims, result = gc.keep_last(db, run.entity, "gc", "ckpt", 2)
    assert result.versions == 2 and result.unreferenced_bytes == 200
    client = ArtifactClient(store)
    coll = client.db.collections(run.entity, "gc", name="ckpt")[0]
    assert [v["version_index"] for v in client.db.versions(int(coll["id"]))] == [4, 3, 1]
    assert client.artifact("ckpt:latest", run.entity, "gc").version == "v4"
    with pytest.raises(ValueError, match=">= 0"):
        gc.keep_last(db, run.entity, "gc", "ckpt", -1)


def test_expired_ttl_versions_are_collected(tmp_path: Path) -> None:
    run = trackline.init(project="gc")
    art = trackline.Artifact("tmp", "dataset")
    with art.new_file("x.txt") as f:
        f.write("x")
    art.ttl = datetime.timedelta(hours=1)
    logged = run.log_artifact(art).wait()
    run.finish()
    store = open_store(run.settings.store_url)
    assert gc.collect_garbage(store, grace_seconds=0).versions_expired == 0
    with store.engine.begin() as conn:
        conn.execute(update(t.artifact_versions).values(committed_at=time.time() - 7200))
    report = gc.collect_garbage(store, grace_seconds=0)
    assert report.versions_expired == 1
    assert logged.manifest.get("x.txt").sha256 in report.deleted  # type: ignore[union-attr]
