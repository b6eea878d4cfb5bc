"""Media files are written into spare files made ahead of time, then renamed (spare_files.py)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trackline
from trackline.data_types import binding
from trackline.data_types.spare_files import THREAD_NAME, SpareFiles


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self._payload: bytes | None = data
        self._source: str | None = None
        self._size = len(data)


def _ready(spares: SpareFiles, count: int) -> list[str]:
    """Wait for the background thread to have ``count`` spare files ready; their paths."""
    deadline = time.monotonic() + 10
    while len(spares._ready) < count:
        assert time.monotonic() < deadline, "the spare files thread made too few files"
        time.sleep(0.005)
    return list(spares._ready)


def test_the_first_take_starts_a_thread_that_makes_empty_files(tmp_path: Path) -> None:
    spares = SpareFiles(str(tmp_path / "tmp"), keep=4)
    assert spares.take() is None  # none made yet: the caller creates its file itself
    paths = _ready(spares, 4)
    assert all(os.path.getsize(p) == 0 for p in paths)
    assert any(t.name == THREAD_NAME for t in threading.enumerate())
    taken = spares.take()
    assert taken == paths[0]
    spares.close()
    assert not any(Path(p).exists() for p in paths[1:])  # unused ones removed...
    assert Path(taken).exists()  # ...not the one handed out
    os.remove(taken)
    spares.close()
    assert not (tmp_path / "tmp").exists()  # the folder too, once empty


def test_a_media_file_is_the_spare_file_renamed(tmp_path: Path) -> None:
    spares = SpareFiles(str(tmp_path / "tmp"), keep=2)
    spares.take()
    spare = _ready(spares, 2)[0]
    inode = os.stat(spare).st_ino
    dest = tmp_path / "files" / "media" / "images" / "img_0_abc.png"  # its folders do not exist yet
    binding.write_file(str(dest), _Bytes(b"png-bytes"), spares)  # type: ignore[arg-type]
    assert dest.read_bytes() == b"png-bytes"
    assert os.stat(dest).st_ino == inode and not Path(spare).exists()
    spares.close()


def test_an_existing_file_of_the_same_size_takes_no_spare(tmp_path: Path) -> None:
    spares = SpareFiles(str(tmp_path / "tmp"), keep=2)
    spares.take()
    ready = _ready(spares, 2)
    dest = tmp_path / "a_0_x.png"
    dest.write_bytes(b"same-size")
    binding.write_file(str(dest), _Bytes(b"png-bytes"), spares)  # type: ignore[arg-type]
    assert dest.read_bytes() == b"same-size" and list(spares._ready) == ready
    spares.close()


def test_a_failed_write_into_a_spare_leaves_neither_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spares = SpareFiles(str(tmp_path / "tmp"), keep=2)
    spares.take()
    spare = _ready(spares, 2)[0]
    spares.close()  # no more spares made while os.write fails below
    spares._ready.appendleft(spare)

    def fail(fd: int, data: Any) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(binding.os, "write", fail)
    dest = tmp_path / "a_0_x.png"
    with pytest.raises(OSError, match="No space"):
        binding.write_file(str(dest), _Bytes(b"png-bytes"), spares)  # type: ignore[arg-type]
    assert not dest.exists() and not Path(spare).exists()


def test_a_spare_removed_by_someone_else_falls_back_to_writing_in_place(tmp_path: Path) -> None:
    spares = SpareFiles(str(tmp_path / "tmp"), keep=2)
    spares.take()
    spare = _ready(spares, 2)[0]
    os.remove(spare)
    dest = tmp_path / "a_0_x.png"
    binding.write_file(str(dest), _Bytes(b"png-bytes"), spares)  # type: ignore[arg-type]
    assert dest.read_bytes() == b"png-bytes"
    spares.close()


def test_no_spares_when_the_folder_cannot_be_made(tmp_path: Path) -> None:
    (tmp_path / "tmp").write_text("a file where the folder would go")
    spares = SpareFiles(str(tmp_path / "tmp" / "spares"), keep=2)
    assert spares.take() is None
    assert spares._thread is not None
    spares._thread.join(timeout=10)
    assert spares.take() is None
    dest = tmp_path / "a_0_x.png"
    binding.write_file(str(dest), _Bytes(b"png-bytes"), spares)  # type: ignore[arg-type]
    assert dest.read_bytes() == b"png-bytes"
    spares.close()


def test_a_run_writes_images_through_spares_and_finish_removes_the_rest(tmp_path: Path) -> None:
    run = trackline.init(project="media", mode="offline", dir=str(tmp_path))
    spare_dir = Path(run.settings.sync_dir) / "tmp"
    pixels = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    run.log({"img": trackline.Image(pixels)})  # starts the spare files
    spares = run._spare_files()
    assert spares is not None
    _ready(spares, 1)
    spare = spares._ready[0]
    inode = os.stat(spare).st_ino
    run.log({"img": trackline.Image(pixels[::-1].copy())})
    media = sorted((Path(run.dir) / "media" / "images").iterdir())
    assert len(media) == 2 and inode in {os.stat(p).st_ino for p in media}
    assert all(p.stat().st_size > 0 for p in media)  # whole files when log() returns
    run.finish()
    assert not spare_dir.exists()
    assert run._spare_files() is None  # a finished run makes no more


def test_a_forked_child_does_not_use_the_parents_spares(tmp_path: Path) -> None:
    run = trackline.init(project="media", mode="offline", dir=str(tmp_path))
    try:
        parent = run._spare_files()
        assert parent is not None
        run._after_fork_in_child()  # what os.fork runs in the child (pid unchanged here)
        assert run._spares is None
    finally:
        run.finish()
        parent.close()


def test_names_left_by_a_killed_process_with_the_same_pid_are_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "tmp"
    folder.mkdir()
    for n in (1, 2):
        (folder / f"spare-{os.getpid()}-{n}").write_bytes(b"left over")
    spares = SpareFiles(str(folder), keep=2)
    spares.take()
    assert [Path(p).name for p in _ready(spares, 2)] == [f"spare-{os.getpid()}-{n}" for n in (3, 4)]
    spares.close()
