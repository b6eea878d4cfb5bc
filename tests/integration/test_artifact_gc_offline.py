"""gc and run logs not synced yet: their staged blobs are kept until `trackline sync` indexes them."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import trackline
from tests.conftest import PYTHON, child_env, write_tree
from trackline.artifacts import gc
from trackline.records import kinds
from trackline.records.codec import encode
from trackline.records.frames import RecordWriter
from trackline.sender.sync import sync_log
from trackline.storage import open_store
from trackline.storage.blobs import LocalBlobStore

folder = write_tree


def age_all(blobs: LocalBlobStore, seconds: float = 7200) -> None:
    past = time.time() - seconds
    for s in blobs.iter_blobs():
        os.utime(blobs.path(s.sha256), (past, past))


def offline_log(tmp_path: Path, name: str, files: dict[str, bytes], **init: object) -> trackline.Run:
    run = trackline.init(project="off", mode="offline", **init)  # type: ignore[arg-type]
    art = trackline.Artifact(name, "dataset")
    art.add_dir(folder(tmp_path / name, files))
    run.log_artifact(art)
    run.finish()
    return run


def test_blobs_of_unsynced_offline_runs_survive_gc_until_sync(tmp_path: Path) -> None:
    here = offline_log(tmp_path, "here", {"a.bin": b"A" * 100, "b.bin": b"B" * 50})  # ./trackline
    # A run written elsewhere is found through the marker its artifact left in the blob store.
    away = offline_log(tmp_path, "away", {"c.bin": b"C" * 70}, dir=str(tmp_path / "elsewhere"))
    store = open_store(here.settings.store_url, here.settings.blob_url)
    blobs = store.blobs
    assert isinstance(blobs, LocalBlobStore)
    orphan = blobs.put_bytes(b"nobody" * 10)
    age_all(blobs)  # older than any grace period: only the logs protect them now

    report = gc.collect_garbage(store, grace_seconds=0)
    assert (report.blobs_deleted, report.blobs_kept_pending) == (1, 3)
    assert report.deleted == [orphan.sha256]
    assert sorted(report.pending_logs) == sorted(os.path.realpath(r.settings.sync_file) for r in (here, away))

    for run in (here, away):
        sync_log(run.settings.sync_file, store)
    out = Path(trackline.Api().artifact("off/here:v0").download(str(tmp_path / "out")))
    assert (out / "a.bin").read_bytes() == b"A" * 100 and (out / "b.bin").read_bytes() == b"B" * 50
    assert trackline.Api().artifact("off/away:v0").file_count == 1
    after = gc.collect_garbage(store, grace_seconds=0)
    assert (after.blobs_deleted, after.blobs_kept_pending, after.pending_logs) == (0, 0, [])
    assert os.listdir(Path(blobs.root) / gc.PENDING_LOGS) == []  # synced logs are forgotten


def test_records_the_store_has_applied_protect_nothing(tmp_path: Path) -> None:
    run = trackline.init(project="on")  # online: the sender applies its records as they come
    art = trackline.Artifact("ds", "dataset")
    art.add_dir(folder(tmp_path / "ds", {"x.bin": b"X" * 30}))
    art = run.log_artifact(art).wait()
    run.finish()
    # As a run whose process died: its log is not marked synced, though the store has it all.
    Path(run.settings.sync_file + ".synced").unlink(missing_ok=True)
    art.delete(delete_aliases=True)
    store = open_store(run.settings.store_url, run.settings.blob_url)
    assert isinstance(store.blobs, LocalBlobStore)
    age_all(store.blobs)
    report = gc.collect_garbage(store, grace_seconds=0)
    assert os.path.realpath(run.settings.sync_file) in report.pending_logs  # looked at, but all applied
    assert (report.blobs_deleted, report.blobs_kept_pending) == (1, 0)


def test_a_run_file_record_naming_a_blob_keeps_it(tmp_path: Path) -> None:
    store = open_store(trackline.Settings().store_url, trackline.Settings().blob_url)
    blobs = store.blobs
    assert isinstance(blobs, LocalBlobStore)
    kept, dropped = blobs.put_bytes(b"media bytes"), blobs.put_bytes(b"old bytes")
    run_dir = Path("trackline") / "offline-run-20260101_000000-abc"
    run_dir.mkdir(parents=True)
    writer = RecordWriter(run_dir / "run-abc.tlog")
    writer.append(encode([kinds.HISTORY, {"loss": 1.0}, None, None, 0.0]))
    writer.append(encode([kinds.FILES, [{"path": "media/x.png", "policy": "now", "ts": 0.0,
                                         "sha256": kept.sha256}]]))
    writer.close()
    age_all(blobs)
    report = gc.collect_garbage(store, grace_seconds=0)
    assert report.deleted == [dropped.sha256] and blobs.exists(kept.sha256)


def test_gc_command_reports_blobs_kept_for_unsynced_logs(tmp_path: Path) -> None:
    run = offline_log(tmp_path, "cli", {"z.bin": b"Z" * 10})
    blobs = open_store(run.settings.store_url, run.settings.blob_url).blobs
    assert isinstance(blobs, LocalBlobStore)
    age_all(blobs)
    out = subprocess.run([PYTHON, "-m", "trackline.cli.main", "gc", "--grace", "0", "--json"], cwd=os.getcwd(),
                         env=child_env(tmp_path), capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert (report["blobs_deleted"], report["blobs_kept_pending"]) == (0, 1)
    assert report["pending_logs"] == [os.path.realpath(run.settings.sync_file)]
