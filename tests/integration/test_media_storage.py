"""Media through the real pipeline: record log -> sender -> store (history values, run files, blobs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

import trackline
from trackline.storage import open_store
from trackline.storage.base import RunKey
from trackline.storage.blobs import LocalBlobStore


def stored(run: trackline.Run) -> tuple[object, int]:
    store = open_store(run.settings.store_url)
    row = store.get_run(RunKey(run.entity, run.project, run.id))
    assert row is not None
    return store, int(row["pk"])


def test_history_holds_references_and_blobs_hold_each_content_once(isolated: Path) -> None:
    run = trackline.init(project="media")
    same = np.full((8, 8, 3), 9, dtype=np.uint8)
    for step in range(3):
        run.log({"img": trackline.Image(same), "loss": 1.0 / (step + 1)})
    run.log({"other": trackline.Image(np.zeros((8, 8, 3), dtype=np.uint8))})
    run.summary["final"] = trackline.Image(same)
    run.finish()
    store, pk = stored(run)
    refs = store.value_history(pk, ["img"])["img"]  # type: ignore[attr-defined]
    assert [s for s, _ in refs] == [0, 1, 2]
    assert all(ref["_type"] == "image-file" for _, ref in refs)
    paths = [ref["path"] for _, ref in refs]
    assert len(set(paths)) == 3  # one name per step...
    files = {f["path"]: f for f in store.run_files(pk)}  # type: ignore[attr-defined]
    assert set(paths) <= set(files)
    assert len({files[p]["sha256"] for p in paths}) == 1  # ...one content
    blobs = store.blobs  # type: ignore[attr-defined]
    assert isinstance(blobs, LocalBlobStore)
    digests = set(blobs.iter_digests())
    assert len(digests) == 2  # the repeated image (three steps + summary) and the other one
    sha = refs[0][1]["sha256"]
    with blobs.open(sha) as f:
        assert f.read() == (Path(run.dir) / paths[0]).read_bytes()
    summary = store.get_run(RunKey(run.entity, run.project, run.id))["summary"]  # type: ignore[attr-defined]
    assert summary["final"]["path"].startswith("media/images/final_summary_")
    assert summary["img"]["path"] == paths[-1]  # the summary keeps the last reference


def test_offline_media_arrive_with_sync(isolated: Path) -> None:
    run = trackline.init(project="media", mode="offline")
    t = trackline.Table(columns=["a", "img"], data=[[1, trackline.Image(np.ones((2, 2)))]])
    run.log({"table": t})
    run.finish()
    subprocess.run([sys.executable, "-m", "trackline.cli.main", "sync", run.settings.sync_dir], check=True,
                   capture_output=True)
    store, pk = stored(run)
    ref = store.value_history(pk, ["table"])["table"][0][1]  # type: ignore[attr-defined]
    files = {f["path"] for f in store.run_files(pk)}  # type: ignore[attr-defined]
    assert ref["path"] in files
    assert any(p.startswith("media/images/table_0_") for p in files)  # the image cell


def test_media_files_are_on_disk_once_user_files_are_copied(isolated: Path) -> None:
    run = trackline.init(project="media")
    run.log({"img": trackline.Image(np.arange(48, dtype=np.uint8).reshape(4, 4, 3))})
    user_file = Path.cwd() / "notes.txt"
    user_file.write_text("mine")
    run.save(str(user_file), policy="now")
    run.finish()
    store, pk = stored(run)
    blobs = store.blobs  # type: ignore[attr-defined]
    files = {f["path"]: f for f in store.run_files(pk)}  # type: ignore[attr-defined]
    media = next(p for p in files if p.startswith("media/images/img_0_"))
    run_copy, blob = Path(run.dir) / media, Path(blobs.path(files[media]["sha256"]))
    assert run_copy.stat().st_ino == blob.stat().st_ino  # one file, two names
    assert run_copy.stat().st_mode & 0o222 == 0  # read-only, like every blob
    saved = next(p for p in files if p.endswith("notes.txt"))
    user_blob = Path(blobs.path(files[saved]["sha256"]))  # copied, not linked
    assert user_blob.stat().st_ino != user_file.stat().st_ino  # the user's file stays theirs
    user_file.write_text("edited")  # and writable; the stored content does not change
    assert user_blob.read_text() == "mine"


def test_own_files_are_copied_where_links_are_impossible(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    blobs = LocalBlobStore(tmp_path / "blobs")
    src = tmp_path / "a.png"
    src.write_bytes(b"png bytes")

    def no_links(*a: object, **k: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    info = blobs.put_own_file(src)
    assert Path(blobs.path(info.sha256)).read_bytes() == b"png bytes"
    assert Path(blobs.path(info.sha256)).stat().st_ino != src.stat().st_ino
    assert blobs.put_own_file(src) == info  # stored once


def test_a_symlink_is_copied_never_linked_or_chmodded(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    target = tmp_path / "elsewhere.bin"
    target.write_bytes(b"someone else's file")
    link = tmp_path / "media.png"
    link.symlink_to(target)
    info = blobs.put_own_file(link)
    blob = Path(blobs.path(info.sha256))
    assert not blob.is_symlink() and blob.read_bytes() == b"someone else's file"
    assert target.stat().st_mode & 0o200  # the target keeps its write permission
