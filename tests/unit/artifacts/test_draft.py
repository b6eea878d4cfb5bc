"""Building a draft: add_file/add_dir/new_file/remove rules and errors (W&B section 5.2)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import trackline
from trackline.artifacts.errors import ArtifactFinalizedError, ArtifactNotLoggedError
from trackline.storage.paths import UnsafePathError


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_add_file_errors_and_names(tmp_path: Path) -> None:
    art = trackline.Artifact("d", "dataset")
    with pytest.raises(ValueError, match="Path is not a file"):
        art.add_file(str(tmp_path / "missing.txt"))
    f = write(tmp_path / "a.txt", "one")
    assert art.add_file(f).path == "a.txt"
    assert art.add_file(f, name="sub/renamed.txt").path == "sub/renamed.txt"
    with pytest.raises(ValueError, match="Invalid policy"):
        art.add_file(f, name="p.txt", policy="sometimes")
    with pytest.raises(UnsafePathError, match="invalid name"):
        art.add_file(f, name="../escape.txt")
    with pytest.raises(UnsafePathError):
        art.add_file(f, name="/abs.txt")


def test_same_path_twice(tmp_path: Path) -> None:
    art = trackline.Artifact("d", "dataset")
    a = write(tmp_path / "a.txt", "one")
    b = write(tmp_path / "b.txt", "two")
    first = art.add_file(a, name="x.txt")
    assert art.add_file(a, name="x.txt") is first  # same digest: a no-op
    with pytest.raises(ValueError, match="Cannot add the same path twice"):
        art.add_file(b, name="x.txt")
    assert art.add_file(b, name="x.txt", overwrite=True).digest != first.digest
    assert len(art.manifest) == 1


def test_file_and_folder_of_one_name_clash(tmp_path: Path) -> None:
    art = trackline.Artifact("d", "dataset")
    f = write(tmp_path / "a.txt", "one")
    art.add_file(f, name="x/y.txt")
    with pytest.raises(ValueError, match="already has a folder"):
        art.add_file(f, name="x")
    art.add_file(f, name="z")
    with pytest.raises(ValueError, match="already a file"):
        art.add_file(f, name="z/w.txt")


def test_mutable_policy_keeps_the_content_as_added(tmp_path: Path) -> None:
    f = write(tmp_path / "a.txt", "before")
    art = trackline.Artifact("d", "dataset")
    entry = art.add_file(f)
    Path(f).write_text("after, and longer")
    assert entry.local_path != f
    assert Path(entry.local_path).read_text() == "before"  # type: ignore[arg-type]
    assert not os.stat(entry.local_path).st_mode & stat.S_IWUSR  # type: ignore[arg-type]


def test_immutable_policy_uses_the_file_itself(tmp_path: Path) -> None:
    f = write(tmp_path / "a.txt", "data")
    entry = trackline.Artifact("d", "dataset").add_file(f, policy="immutable")
    assert entry.local_path == os.path.abspath(f)


def test_is_tmp_names_the_file_by_digest(tmp_path: Path) -> None:
    f = write(tmp_path / "weights.tar.gz", "w")
    entry = trackline.Artifact("d", "dataset").add_file(f, name="out/weights.tar.gz", is_tmp=True)
    assert entry.path == f"out/{entry.sha256[:20]}.tar.gz"  # type: ignore[index]


def test_add_dir(tmp_path: Path) -> None:
    write(tmp_path / "d" / "a.txt", "a")
    write(tmp_path / "d" / "sub" / "b.txt", "b")
    art = trackline.Artifact("d", "dataset")
    with pytest.raises(ValueError, match="Path is not a directory"):
        art.add_dir(str(tmp_path / "nope"))
    art.add_dir(str(tmp_path / "d"))
    art.add_dir(str(tmp_path / "d"), name="copy")
    assert sorted(art.manifest.entries) == ["a.txt", "copy/a.txt", "copy/sub/b.txt", "sub/b.txt"]


def test_add_dir_merge(tmp_path: Path) -> None:
    write(tmp_path / "d" / "a.txt", "a")
    art = trackline.Artifact("d", "dataset")
    art.add_dir(str(tmp_path / "d"))
    write(tmp_path / "d" / "a.txt", "changed")
    write(tmp_path / "d" / "new.txt", "new")
    with pytest.raises(ValueError, match="Cannot add the same path twice"):
        art.add_dir(str(tmp_path / "d"))
    assert sorted(art.manifest.entries) == ["a.txt"]  # a refused add_dir adds nothing
    art.add_dir(str(tmp_path / "d"), merge=True)
    assert sorted(art.manifest.entries) == ["a.txt", "new.txt"]
    os.remove(tmp_path / "d" / "new.txt")
    art.add_dir(str(tmp_path / "d"), merge=True)
    assert "new.txt" in art.manifest.entries  # merge never removes


def test_add_dir_symlinks(tmp_path: Path) -> None:
    outside = write(tmp_path / "secret.txt", "secret")
    write(tmp_path / "d" / "a.txt", "a")
    os.symlink(tmp_path / "d" / "a.txt", tmp_path / "d" / "inside-link.txt")
    os.symlink(tmp_path / "d", tmp_path / "d" / "loop")
    art = trackline.Artifact("d", "dataset")
    art.add_dir(str(tmp_path / "d"))
    assert "inside-link.txt" in art.manifest.entries
    os.symlink(outside, tmp_path / "d" / "escape.txt")
    with pytest.raises(UnsafePathError, match="outside"):
        trackline.Artifact("e", "dataset").add_dir(str(tmp_path / "d"))


def test_new_file(tmp_path: Path) -> None:
    art = trackline.Artifact("d", "dataset")
    with art.new_file("notes/readme.txt") as f:
        f.write("hi")
    assert art.manifest.get("notes/readme.txt").size == 2  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="already exists"), art.new_file("notes/readme.txt"):
        pass
    with art.new_file("notes/readme.txt", mode="w") as f:
        f.write("hello")
    assert art.manifest.get("notes/readme.txt").size == 5  # type: ignore[union-attr]
    with art.new_file("blob.bin", mode="wb") as f:
        f.write(b"\x00\x01")
    assert art.manifest.get("blob.bin").size == 2  # type: ignore[union-attr]


def test_remove(tmp_path: Path) -> None:
    write(tmp_path / "d" / "a.txt", "a")
    write(tmp_path / "d" / "sub" / "b.txt", "b")
    write(tmp_path / "d" / "sub" / "c.txt", "c")
    art = trackline.Artifact("d", "dataset")
    art.add_dir(str(tmp_path / "d"))
    art.remove("sub")
    assert sorted(art.manifest.entries) == ["a.txt"]
    art.remove(art.manifest.get("a.txt"))  # type: ignore[arg-type]
    assert len(art.manifest) == 0
    with pytest.raises(FileNotFoundError, match="missing entry"):
        art.remove("nothing")
    art.add_file(str(tmp_path / "d" / "a.txt"), name="sub")  # the folder name is free again


def test_finalized_artifact_refuses_changes(tmp_path: Path) -> None:
    f = write(tmp_path / "a.txt", "a")
    art = trackline.Artifact("d", "dataset")
    art.add_file(f)
    art.finalize()
    for call in (lambda: art.add_file(f, name="b"), lambda: art.add_dir(str(tmp_path)),
                 lambda: art.remove("a.txt"), lambda: art.add_reference("file://" + f)):
        with pytest.raises(ArtifactFinalizedError, match="Can't modify finalized artifact"):
            call()


def test_logged_only_operations_on_a_draft(tmp_path: Path) -> None:
    art = trackline.Artifact("d", "dataset")
    for call in (lambda: art.get_entry("a"), lambda: art.get("a"), lambda: art.version,
                 lambda: art.download(), lambda: art.wait(), lambda: art.qualified_name):
        with pytest.raises(ArtifactNotLoggedError, match="prior to logging"):
            call()
    assert art.id is None
    assert art.is_draft()
    assert art.state == "PENDING"


def test_editable_fields_are_validated() -> None:
    import datetime

    from trackline.artifacts import ArtifactTTL

    art = trackline.Artifact("d", "dataset", description="x")
    art.description = "y"
    art.metadata = {"k": 1}
    art.tags = ["a", "a", "b"]
    assert art.tags == ["a", "b"]
    art.ttl = datetime.timedelta(days=1)
    art.ttl = ArtifactTTL.INHERIT
    art.ttl = None
    with pytest.raises(TypeError, match="timedelta"):
        art.ttl = 5
    with pytest.raises(ValueError, match="positive"):
        art.ttl = datetime.timedelta(0)
    with pytest.raises(TypeError, match="description"):
        art.description = 3  # type: ignore[assignment]
