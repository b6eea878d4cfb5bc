"""Manifest v1 and digests exactly as W&B computes them (reference 5.3 test vectors)."""

from __future__ import annotations

from pathlib import Path

import pytest

import trackline
from trackline.artifacts.manifest import Manifest, ManifestEntry, artifact_digest
from trackline.storage.paths import UnsafePathError

HELLO_MD5 = "XUFAKrxLKna5cZ2REBfFkg=="


def test_entry_digest_is_base64_md5(tmp_path: Path) -> None:
    (tmp_path / "file1.txt").write_text("hello")
    art = trackline.Artifact("vectors", "dataset")
    entry = art.add_file(str(tmp_path / "file1.txt"))
    assert entry.digest == HELLO_MD5
    assert entry.size == 5


def test_artifact_digest_vector_one_file(tmp_path: Path) -> None:
    (tmp_path / "file1.txt").write_text("hello")
    art = trackline.Artifact("vectors", "dataset")
    art.add_file(str(tmp_path / "file1.txt"))
    assert art.digest == "a00c2239f036fb656c1dcbf9a32d89b4"
    assert artifact_digest([("file1.txt", HELLO_MD5)]) == "a00c2239f036fb656c1dcbf9a32d89b4"


def test_artifact_digest_vector_in_subdir(tmp_path: Path) -> None:
    (tmp_path / "file1.txt").write_text("hello")
    art = trackline.Artifact("vectors", "dataset")
    art.add_file(str(tmp_path / "file1.txt"), name="subdir/file1.txt")
    assert art.digest == "a757208d042e8627b2970d72a71bed5b"


def test_digest_ignores_insertion_order() -> None:
    a = {"b.txt": ManifestEntry("b.txt", "x"), "a.txt": ManifestEntry("a.txt", "y")}
    b = {"a.txt": ManifestEntry("a.txt", "y"), "b.txt": ManifestEntry("b.txt", "x")}
    assert artifact_digest(a) == artifact_digest(b)
    assert artifact_digest(a) != artifact_digest({"a.txt": ManifestEntry("a.txt", "x")})


def test_manifest_json_leaves_defaults_out() -> None:
    m = Manifest()
    m.add(ManifestEntry("a/b.txt", HELLO_MD5, size=5, sha256="0" * 64, local_path="/tmp/x"))
    m.add(ManifestEntry("ref.bin", "etag1", size=3, ref="s3://bucket/ref.bin", extra={"etag": '"etag1"'}))
    data = m.to_json()
    assert data["version"] == 1
    assert data["storagePolicy"] == "wandb-storage-policy-v1"
    assert data["storagePolicyConfig"] == {"storageLayout": "V2"}
    assert data["contents"]["a/b.txt"] == {"digest": HELLO_MD5, "size": 5}
    assert data["contents"]["ref.bin"] == {"digest": "etag1", "ref": "s3://bucket/ref.bin",
                                           "extra": {"etag": '"etag1"'}, "size": 3}
    back = Manifest.from_json(data)
    assert back.digest() == m.digest()
    assert back.get("ref.bin").ref == "s3://bucket/ref.bin"  # type: ignore[union-attr]


def test_manifest_json_rejects_unsafe_paths_and_versions() -> None:
    with pytest.raises(UnsafePathError):
        Manifest.from_json({"version": 1, "contents": {"../evil": {"digest": "x"}}})
    with pytest.raises(ValueError, match="version"):
        Manifest.from_json({"version": 2, "contents": {}})
    with pytest.raises(ValueError, match="no digest"):
        Manifest.from_json({"version": 1, "contents": {"a": {"size": 1}}})
