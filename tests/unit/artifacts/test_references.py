"""add_reference for file://, http(s):// and s3:// (checksums, max_objects, errors)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

import trackline
from trackline.storage.paths import UnsafePathError


def b64md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_reference_needs_a_scheme(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="has no scheme"):
        trackline.Artifact("r", "dataset").add_reference(str(tmp_path))


def test_file_reference_file_and_folder(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.txt").write_bytes(b"aa")
    (tmp_path / "d" / "sub" / "b.txt").write_bytes(b"bbb")
    art = trackline.Artifact("r", "dataset")
    [one] = art.add_reference(f"file://{tmp_path}/d/a.txt")
    assert (one.path, one.digest, one.size) == ("a.txt", b64md5(b"aa"), 2)
    assert one.ref == f"file://{tmp_path}/d/a.txt"
    many = art.add_reference(f"file://{tmp_path}/d", name="data")
    assert sorted(e.path for e in many) == ["data/a.txt", "data/sub/b.txt"]
    with pytest.raises(ValueError, match="max_objects"):
        trackline.Artifact("r", "dataset").add_reference(f"file://{tmp_path}/d", max_objects=1)
    with pytest.raises(ValueError, match="no file or folder"):
        art.add_reference(f"file://{tmp_path}/missing")


def test_checksum_false_reads_nothing(tmp_path: Path) -> None:
    uri = f"file://{tmp_path}/never-created"
    [entry] = trackline.Artifact("r", "dataset").add_reference(uri, checksum=False)
    assert entry.digest == b64md5(uri.encode())
    assert entry.size is None
    assert entry.ref == uri


def test_other_schemes_are_tracked_by_uri() -> None:
    [entry] = trackline.Artifact("r", "dataset").add_reference("gs://bucket/path/obj.bin")
    assert (entry.path, entry.digest, entry.ref) == ("obj.bin", "gs://bucket/path/obj.bin", "gs://bucket/path/obj.bin")


def test_http_reference_uses_etag_and_length(http_files) -> None:  # type: ignore[no-untyped-def]
    (http_files.root / "w.bin").write_bytes(b"weights")
    [entry] = trackline.Artifact("r", "dataset").add_reference(f"{http_files.url}/w.bin")
    assert entry.digest == hashlib.md5(b"weights").hexdigest()
    assert entry.extra == {"etag": '"' + entry.digest + '"'}
    assert entry.size == 7
    assert entry.path == "w.bin"


def test_s3_reference_object_and_prefix(s3_endpoint: str) -> None:
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="bkt")
    s3.put_object(Bucket="bkt", Key="data/x.txt", Body=b"xx")
    s3.put_object(Bucket="bkt", Key="data/deep/y.txt", Body=b"yyy")
    art = trackline.Artifact("r", "dataset")
    [one] = art.add_reference("s3://bkt/data/x.txt")
    assert (one.path, one.size, one.digest) == ("x.txt", 2, hashlib.md5(b"xx").hexdigest())
    many = art.add_reference("s3://bkt/data", name="all")
    assert sorted((e.path, e.ref) for e in many) == [
        ("all/deep/y.txt", "s3://bkt/data/deep/y.txt"), ("all/x.txt", "s3://bkt/data/x.txt")]
    with pytest.raises(ValueError, match="max_objects"):
        trackline.Artifact("r", "dataset").add_reference("s3://bkt/data", max_objects=1)
    s3.put_object(Bucket="bkt", Key="evil/../../escape.txt", Body=b"e")
    with pytest.raises(UnsafePathError):
        trackline.Artifact("r", "dataset").add_reference("s3://bkt/evil")
