"""How the folder blob store writes: one folder level, nothing partial ever named, kernel copies with fallbacks."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from trackline.storage import blobs as blobs_mod
from trackline.storage.blobs import LocalBlobStore, hash_file, kernel_copy


def temporary_files(root: Path) -> list[str]:
    return [n for _, _, names in os.walk(root) for n in names if n.startswith(".incoming-")]


def test_blobs_sit_one_folder_level_deep(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    infos = [store.put_bytes(f"blob {i}".encode()) for i in range(300)]
    for info in infos:
        assert store.path(info.sha256) == str(tmp_path / "blobs" / info.sha256[:2] / info.sha256)
        assert os.path.isfile(store.path(info.sha256))
    # One folder per first byte: 300 blobs make at most 256 folders, not one per blob.
    folders = [d for d in os.listdir(tmp_path / "blobs") if len(d) == 2]
    assert len(folders) == len({i.sha256[:2] for i in infos})
    assert all(len(n) == 64 for d in folders for n in os.listdir(tmp_path / "blobs" / d))
    assert not store.legacy and LocalBlobStore(tmp_path / "blobs").legacy is False


def test_a_store_written_with_two_folder_levels_is_still_read(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    old = LocalBlobStore(tmp_path / "elsewhere").put_bytes(b"old")
    old_path = root / old.sha256[:2] / old.sha256[2:4] / old.sha256
    old_path.parent.mkdir(parents=True)
    old_path.write_bytes(b"old")
    store = LocalBlobStore(root)
    assert store.legacy
    assert store.exists(old.sha256) and store.path(old.sha256) == str(old_path)
    with store.open(old.sha256) as f:
        assert f.read() == b"old"
    assert store.put_bytes(b"old") == old  # stored already: not written again one level up
    assert not (root / old.sha256[:2] / old.sha256).exists()
    new = store.put_bytes(b"new")
    assert store.path(new.sha256) == str(root / new.sha256[:2] / new.sha256)
    assert [s.sha256 for s in store.iter_blobs()] == sorted([old.sha256, new.sha256])
    assert store.delete(old.sha256) == 3 and not old_path.parent.exists()  # empty folders go too
    assert [s.sha256 for s in store.iter_blobs()] == [new.sha256]


def test_a_failed_write_leaves_no_temporary_file_and_no_blob(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(3 << 20))

    def copy_then_fail(s, d):  # type: ignore[no-untyped-def]
        d.write(s.read(1 << 20))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(blobs_mod, "copy_hashing", copy_then_fail)
    with pytest.raises(OSError, match="No space"):
        store.put_file(src)
    assert temporary_files(tmp_path / "blobs") == []
    assert list(store.iter_blobs()) == []


def test_a_writer_killed_mid_blob_leaves_no_torn_blob_under_a_name(tmp_path: Path) -> None:
    """SIGKILL while a blob is being written: no blob name points at partial content; gc cleans the rest."""
    root, src = tmp_path / "blobs", tmp_path / "big.bin"
    src.write_bytes(os.urandom(4 << 20))
    child = textwrap.dedent(f"""
        import os, sys
        from trackline.storage import blobs
        real = blobs.copy_hashing
        def copy_then_stall(s, d):
            d.write(s.read(1 << 20)); d.flush()
            print("half", flush=True)
            sys.stdin.readline()  # killed here, a quarter written
            return real(s, d)
        blobs.copy_hashing = copy_then_stall
        blobs.LocalBlobStore({str(root)!r}).put_file({str(src)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "half\n"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    store = LocalBlobStore(root)
    assert list(store.iter_blobs()) == []
    assert not store.exists(hash_file(src).sha256)
    assert len(temporary_files(root)) == 1
    assert store.clean_incoming(older_than=-1) == 1 << 20 and temporary_files(root) == []
    assert store.put_file(src) == hash_file(src)  # the next writer stores it whole


def test_blobs_are_read_only_and_put_known_copies_in_the_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(200_000))
    calls: list[str] = []
    real = os.copy_file_range

    def counted(*a: int) -> int:
        calls.append("copy_file_range")
        return real(*a)

    monkeypatch.setattr(os, "copy_file_range", counted)
    info = hash_file(src)
    assert store.put_known(src, info, os.stat(src)) == info
    assert calls and Path(store.path(info.sha256)).read_bytes() == src.read_bytes()
    assert not os.stat(store.path(info.sha256)).st_mode & 0o222
    assert temporary_files(tmp_path / "blobs") == []


@pytest.mark.parametrize("refused", [errno.EXDEV, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL])
def test_kernel_copy_falls_back_when_the_kernel_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused: int
) -> None:
    data = os.urandom(3 << 20)
    (tmp_path / "src").write_bytes(data)

    def refuse(*a: object) -> int:
        raise OSError(refused, os.strerror(refused))

    monkeypatch.setattr(os, "copy_file_range", refuse)
    with open(tmp_path / "src", "rb") as s, open(tmp_path / "via-sendfile", "wb") as d:
        assert kernel_copy(s.fileno(), d.fileno()) == len(data)
    monkeypatch.setattr(os, "sendfile", refuse)
    with open(tmp_path / "src", "rb") as s, open(tmp_path / "via-read", "wb") as d:
        assert kernel_copy(s.fileno(), d.fileno()) == len(data)
    assert (tmp_path / "via-sendfile").read_bytes() == data == (tmp_path / "via-read").read_bytes()


def test_kernel_copy_reports_real_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "src").write_bytes(b"x" * 10)

    def full(*a: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "copy_file_range", full)
    with open(tmp_path / "src", "rb") as s, open(tmp_path / "dst", "wb") as d, pytest.raises(OSError, match="No space"):
        kernel_copy(s.fileno(), d.fileno())
