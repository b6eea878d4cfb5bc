"""Run files reach the blob store by content; unsafe names are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

import trackline
from trackline.storage import open_store
from trackline.storage.base import RunKey
from trackline.storage.blobs import LocalBlobStore, hash_file
from trackline.storage.paths import UnsafePathError


def test_files_are_stored_once_by_content(isolated: Path) -> None:
    run = trackline.init(project="files")
    (Path(run.dir) / "a.txt").write_text("same")
    (Path(run.dir) / "sub").mkdir()
    (Path(run.dir) / "sub" / "b.txt").write_text("same")
    run._add_files(["a.txt", "sub/b.txt", "missing.txt"])
    with pytest.raises(UnsafePathError):
        run._add_files(["../escape.txt"])
    run.finish()
    store = open_store(run.settings.store_url)
    row = store.get_run(RunKey(run.entity, run.project, run.id))
    files = store.run_files(row["pk"])
    assert [f["path"] for f in files] == ["a.txt", "sub/b.txt"]
    assert files[0]["sha256"] == files[1]["sha256"] == hash_file(Path(run.dir) / "a.txt").sha256
    blobs = store.blobs
    assert isinstance(blobs, LocalBlobStore)
    assert list(blobs.iter_digests()) == [files[0]["sha256"]]
    with blobs.open(files[0]["sha256"]) as f:
        assert f.read() == b"same"


def test_offline_files_arrive_with_sync(isolated: Path) -> None:
    import subprocess
    import sys

    run = trackline.init(project="files", mode="offline")
    (Path(run.dir) / "weights.bin").write_bytes(b"\x00\x01" * 1000)
    run._add_files(["weights.bin"])
    run.finish()
    subprocess.run([sys.executable, "-m", "trackline.cli.main", "sync", run.settings.sync_dir], check=True,
                   capture_output=True)
    store = open_store(run.settings.store_url)
    row = store.get_run(RunKey(run.entity, run.project, run.id))
    assert [(f["path"], f["size"]) for f in store.run_files(row["pk"])] == [("weights.bin", 2000)]
