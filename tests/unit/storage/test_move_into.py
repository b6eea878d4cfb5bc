"""storage.paths.move_into: the rename that media files and blobs take into place."""

from __future__ import annotations

from pathlib import Path

import pytest

from trackline.storage import paths


def test_moves_and_makes_the_missing_folder(tmp_path: Path) -> None:
    src = tmp_path / "part"
    src.write_bytes(b"x")
    dest = tmp_path / "a" / "b" / "file"
    paths.move_into(str(src), str(dest))
    assert dest.read_bytes() == b"x" and not src.exists()


def test_a_failed_move_removes_the_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "part"
    src.write_bytes(b"x")

    def full(a: str, b: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(paths.os, "replace", full)
    with pytest.raises(OSError, match="No space"):
        paths.move_into(str(src), str(tmp_path / "file"))
    assert not src.exists() and not (tmp_path / "file").exists()
