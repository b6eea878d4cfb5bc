"""The download cache: content fetched once is not fetched again."""

from __future__ import annotations

from pathlib import Path

import trackline
from trackline.artifacts.cache import ArtifactCache
from trackline.artifacts.download import download_entries
from trackline.artifacts.manifest import ManifestEntry
from trackline.storage.blobs import MemoryBlobStore


def test_remote_blobs_are_fetched_once(tmp_path: Path) -> None:
    blobs = MemoryBlobStore()
    infos = [blobs.put_bytes(f"file {i}".encode()) for i in range(3)]
    entries = [ManifestEntry(f"f{i}.txt", info.md5_b64, size=info.size, sha256=info.sha256)
               for i, info in enumerate(infos)]
    cache = ArtifactCache(str(tmp_path / "cache"))
    first = download_entries(entries, str(tmp_path / "a"), blobs, cache)
    assert (first.written, blobs.opens, cache.misses) == (3, 3, 3)
    second = download_entries(entries, str(tmp_path / "b"), blobs, cache)
    assert (second.written, blobs.opens, cache.hits) == (3, 3, 3)  # a fresh root, served from the cache
    assert (tmp_path / "b" / "f2.txt").read_text() == "file 2"
    third = download_entries(entries, str(tmp_path / "b"), blobs, cache)
    assert (third.written, third.unchanged) == (0, 3)  # up-to-date files are left alone


def test_cache_checks_what_it_stores(tmp_path: Path) -> None:
    blobs = MemoryBlobStore()
    info = blobs.put_bytes(b"good")
    entry = ManifestEntry("x", info.md5_b64, size=4, sha256="0" * 64)
    blobs._blobs["0" * 64] = (b"evil", 0.0)
    cache = ArtifactCache(str(tmp_path / "cache"))
    try:
        download_entries([entry], str(tmp_path / "out"), blobs, cache)
    except ValueError as exc:
        assert "does not match its sha256" in str(exc)
    else:
        raise AssertionError("a blob with the wrong content was accepted")
    assert not (tmp_path / "out" / "x").exists()


def test_cache_cleanup_keeps_recent(tmp_path: Path) -> None:
    import os
    import time

    blobs = MemoryBlobStore()
    cache = ArtifactCache(str(tmp_path / "cache"))
    old = blobs.put_bytes(b"o" * 1000)
    new = blobs.put_bytes(b"n" * 1000)
    p_old = cache.blob(old.sha256, lambda: blobs.open(old.sha256))
    p_new = cache.blob(new.sha256, lambda: blobs.open(new.sha256))
    os.utime(p_old, (time.time() - 100, time.time() - 100))
    assert cache.cleanup(1000) == 1000
    assert not os.path.exists(p_old) and os.path.exists(p_new)


def test_http_reference_download_hits_the_cache(http_files, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (http_files.root / "data.csv").write_text("a,b\n1,2\n")
    run = trackline.init(project="cache")
    art = trackline.Artifact("remote", "dataset")
    art.add_reference(f"{http_files.url}/data.csv")
    logged = run.log_artifact(art).wait()
    gets_after_add = len(http_files.gets)
    first = logged.download(str(tmp_path / "one"))
    assert (Path(first) / "data.csv").read_text() == "a,b\n1,2\n"
    assert len(http_files.gets) == gets_after_add + 1
    second = logged.download(str(tmp_path / "two"))
    assert (Path(second) / "data.csv").read_text() == "a,b\n1,2\n"
    assert len(http_files.gets) == gets_after_add + 1  # no request: the ETag is unchanged
    (http_files.root / "data.csv").write_text("changed")
    fresh = run.use_artifact("remote:latest")
    try:
        fresh.download(str(tmp_path / "three"), skip_cache=True)
    except ValueError as exc:
        assert "Digest mismatch" in str(exc)
    else:
        raise AssertionError("changed content behind an ETag was accepted")
    run.finish()


def test_s3_reference_download_hits_the_cache(s3_endpoint: str, tmp_path: Path) -> None:
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="cachebkt")
    s3.put_object(Bucket="cachebkt", Key="m/w.bin", Body=b"weights")
    run = trackline.init(project="cache")
    art = trackline.Artifact("s3ref", "model")
    art.add_reference("s3://cachebkt/m")
    logged = run.log_artifact(art).wait()
    out = logged.download(str(tmp_path / "one"))
    assert (Path(out) / "w.bin").read_bytes() == b"weights"
    s3.delete_object(Bucket="cachebkt", Key="m/w.bin")  # gone from S3: only the cache can serve it now
    again = logged.download(str(tmp_path / "two"))
    assert (Path(again) / "w.bin").read_bytes() == b"weights"
    run.finish()
