"""Security: entry names and saved paths cannot escape their folder (fuzzed with hypothesis).

Names come from an alphabet rich in the characters that caused path-traversal bugs
elsewhere ('..', '/', '\\', NUL, drive letters, control characters). Whatever the name,
either it is refused with UnsafePathError, or every write lands inside the root.
"""

from __future__ import annotations

import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trackline.artifacts.cache import ArtifactCache
from trackline.artifacts.download import download_entries
from trackline.artifacts.manifest import Manifest, ManifestEntry
from trackline.storage.blobs import MemoryBlobStore
from trackline.storage.paths import UnsafePathError, join_inside, safe_relpath, target_inside

PIECES = ["a", "b", ".", "..", "/", "\\", "\x00", ":", "C:", " ", "\n", "~", "%2e%2e", "é", "//", "./", "../"]
names = st.lists(st.sampled_from(PIECES), min_size=0, max_size=8).map("".join)


def inside(root: str, path: str) -> bool:
    base = os.path.realpath(root)
    return os.path.realpath(path) == base or os.path.realpath(path).startswith(base + os.sep)


@given(names)
@settings(max_examples=600, deadline=None)
def test_safe_relpath_refuses_or_stays_inside(name: str) -> None:
    root = "/srv/root"
    try:
        safe_relpath(name)
    except UnsafePathError:
        return
    parts = name.split("/")
    assert name and not name.startswith("/") and "\\" not in name and "\x00" not in name
    assert not any(p in ("", ".", "..") for p in parts)
    assert not (len(name) >= 2 and name[1] == ":" and name[0] in string.ascii_letters)
    joined = os.path.normpath(os.path.join(root, name))
    assert joined.startswith(root + os.sep)


@given(names)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_downloads_never_write_outside_root(tmp_path: Path, name: str) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir(exist_ok=True)
    outside.mkdir(exist_ok=True)
    (tmp_path / "cache").mkdir(exist_ok=True)
    link = root / "escape"
    if not link.is_symlink():
        link.symlink_to(outside, target_is_directory=True)
    before = sorted(p.name for p in tmp_path.iterdir())
    blobs = MemoryBlobStore()
    info = blobs.put_bytes(b"payload")
    for candidate in (name, f"escape/{name}", f"{name}/x"):
        try:
            entry = ManifestEntry(candidate, info.md5_b64, size=info.size, sha256=info.sha256)
        except UnsafePathError:
            continue
        try:
            download_entries([entry], str(root), blobs, ArtifactCache(str(tmp_path / "cache")), threads=1)
        except UnsafePathError:
            continue
        except (IsADirectoryError, NotADirectoryError, FileExistsError):
            continue  # a name clashing with an earlier example's file or folder
        written = target_inside(str(root), candidate)
        assert inside(str(root), written)
    assert list(outside.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@given(st.dictionaries(names, st.just({"digest": "x"}), max_size=4))
@settings(max_examples=300, deadline=None)
def test_manifests_from_json_hold_only_safe_names(contents: dict) -> None:
    try:
        m = Manifest.from_json({"version": 1, "contents": contents})
    except UnsafePathError:
        return
    for path in m.entries:
        assert safe_relpath(path) == path


def test_known_attacks_are_refused(tmp_path: Path) -> None:
    for bad in ("../x", "a/../../x", "/etc/passwd", "C:\\x", "C:x", "a\\..\\x", "a\x00b", "./a", "a//b", "a/",
                "", ".", "..", "a/\nb"):
        with pytest.raises(UnsafePathError):
            safe_relpath(bad)
    (tmp_path / "out").mkdir()
    os.symlink(tmp_path / "out", tmp_path / "root-link")
    with pytest.raises(UnsafePathError, match=r"'\.\.' segments"):
        join_inside(str(tmp_path), "root-link/../../x")
    (tmp_path / "root").mkdir()
    os.symlink(tmp_path / "out", tmp_path / "root" / "inner-link")
    with pytest.raises(UnsafePathError, match="resolves outside"):
        join_inside(str(tmp_path / "root"), "inner-link/x")
    with pytest.raises(UnsafePathError, match="outside"):
        target_inside(str(tmp_path / "root"), "inner-link/x")


def test_a_planted_symlink_is_replaced_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (root / "model.bin").symlink_to(victim)
    blobs = MemoryBlobStore()
    info = blobs.put_bytes(b"new weights")
    entry = ManifestEntry("model.bin", info.md5_b64, size=info.size, sha256=info.sha256)
    download_entries([entry], str(root), blobs, ArtifactCache(str(tmp_path / "cache")))
    assert victim.read_text() == "precious"
    assert not (root / "model.bin").is_symlink()
    assert (root / "model.bin").read_bytes() == b"new weights"


def test_join_inside_with_a_folder_cache_gives_the_same_paths_and_refusals(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "media" / "images").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "secret").write_text("s")
    os.symlink(tmp_path / "out", root / "escape-dir")  # a folder leading outside
    os.symlink(tmp_path / "out" / "secret", root / "media" / "leak.png")  # a file leading outside
    (root / "media" / "ok.png").write_text("x")
    os.symlink(root / "media" / "ok.png", root / "media" / "alias.png")  # a link that stays inside
    folders: dict[str, str] = {}
    for name in ("media/images/a.png", "media/images/b.png", "media/ok.png", "media/alias.png", "top.txt"):
        assert join_inside(str(root), name, folders) == join_inside(str(root), name)
    for name in ("escape-dir/x", "media/leak.png"):
        with pytest.raises(UnsafePathError, match="resolves outside"):
            join_inside(str(root), name, folders)
    assert folders[""] == os.path.realpath(root) and "media/images" in folders
