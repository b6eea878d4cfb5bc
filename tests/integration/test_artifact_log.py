"""Logging and using artifacts end to end: versions, aliases, dedup, lineage, offline, crashes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

import trackline
from tests.conftest import PYTHON, child_env, write_tree
from trackline.artifacts import ArtifactNotFoundError
from trackline.artifacts.client import ArtifactClient
from trackline.sender.sync import sync_log
from trackline.storage import open_store

make_dir = write_tree


def logged(run: trackline.Run, name: str, folder: str, **kw: object) -> trackline.Artifact:
    art = trackline.Artifact(name, "dataset")
    art.add_dir(folder)
    return run.log_artifact(art, **kw).wait()  # type: ignore[no-any-return]


def test_versions_aliases_and_dedup(tmp_path: Path) -> None:
    run = trackline.init(project="arts")
    d = make_dir(tmp_path / "d", {"a.txt": "1", "sub/b.txt": "2"})
    v0 = logged(run, "ds", d, aliases=["best"])
    assert (v0.name, v0.version, sorted(v0.aliases)) == ("ds:v0", "v0", ["best", "latest"])
    assert v0.qualified_name == f"{run.entity}/arts/ds:v0"
    assert (v0.size, v0.file_count, v0.state) == (2, 2, "COMMITTED")
    again = logged(run, "ds", d)
    assert again.version == "v0" and again.id == v0.id  # same digest: no new version
    (tmp_path / "d" / "a.txt").write_text("changed")
    v1 = logged(run, "ds", d, aliases=["candidate"])
    assert v1.version == "v1" and v1.digest != v0.digest
    assert sorted(v1.aliases) == ["candidate", "latest"]
    assert run.use_artifact("ds:best").version == "v0"
    assert run.use_artifact("ds:latest").version == "v1"
    assert run.use_artifact("ds").version == "v1"
    assert run.use_artifact("ds:v0").digest == v0.digest
    assert run.use_artifact("arts/ds:v1").version == "v1"
    assert run.use_artifact(f"{run.entity}/arts/ds:candidate").version == "v1"
    with pytest.raises(ArtifactNotFoundError, match="not found"):
        run.use_artifact("ds:v7")
    with pytest.raises(ValueError, match="does not match type"):
        run.use_artifact("ds:v0", type="model")
    run.finish()


def test_type_clash_is_refused(tmp_path: Path) -> None:
    run = trackline.init(project="arts")
    f = tmp_path / "x.txt"
    f.write_text("x")
    run.log_artifact(str(f), name="thing", type="dataset").wait()
    with pytest.raises(ValueError, match="already exists with type 'dataset'; cannot create another with type 'model'"):
        run.log_artifact(str(f), name="thing", type="model")
    run.finish()


def test_path_arguments_and_errors(tmp_path: Path) -> None:
    run = trackline.init(project="arts")
    f = tmp_path / "weights.bin"
    f.write_bytes(b"w")
    art = run.log_artifact(str(f)).wait()
    assert art.name == f"run-{run.id}-weights.bin:v0"
    assert art.type == "unspecified"
    with pytest.raises(ValueError, match="must be a file, directory or external reference"):
        run.log_artifact(str(tmp_path / "nothing-here"))
    with pytest.raises(TypeError, match="Artifact or a path"):
        run.log_artifact(42)
    with pytest.raises(ValueError, match="Aliases must not contain"):
        run.log_artifact(str(f), name="x", aliases=["a/b"])
    with pytest.raises(ValueError, match="Invalid tag"):
        run.log_artifact(str(f), name="x", tags=["no!"])
    with pytest.raises(ValueError, match="already logged"):
        run.log_artifact(art)
    run.finish()
    with pytest.raises(trackline.UsageError):
        run.log_artifact(str(f))


def test_incremental_builds_on_latest(tmp_path: Path) -> None:
    run = trackline.init(project="arts")
    logged(run, "inc", make_dir(tmp_path / "a", {"one.txt": "1"}))
    with pytest.warns(UserWarning, match="incremental"):
        art = trackline.Artifact("inc", "dataset", incremental=True)
    art.add_file(make_dir(tmp_path / "b", {"two.txt": "2"}) + "/two.txt")
    v1 = run.log_artifact(art).wait()
    assert v1.version == "v1"
    assert sorted(v1.manifest.entries) == ["one.txt", "two.txt"]
    run.finish()


def test_download_checkout_verify_file(tmp_path: Path) -> None:
    run = trackline.init(project="arts")
    src = make_dir(tmp_path / "src", {"a.txt": "aaa", "deep/b.txt": "bb"})
    art = logged(run, "dl", src)
    root = art.download(str(tmp_path / "out"))
    assert (Path(root) / "deep" / "b.txt").read_text() == "bb"
    art.verify(root)
    (Path(root) / "extra.txt").write_text("x")
    with pytest.raises(ValueError, match="not a member"):
        art.verify(root)
    art.download(root)
    assert (Path(root) / "extra.txt").exists()  # download leaves extra files alone
    (Path(root) / "a.txt").write_text("tampered")
    with pytest.raises(ValueError, match=r"not a member|Digest mismatch"):
        art.verify(root)
    art.checkout(root)
    assert not (Path(root) / "extra.txt").exists()
    assert (Path(root) / "a.txt").read_text() == "aaa"
    art.verify(root)
    os.chdir(tmp_path)
    default = art.download()
    assert default == str(tmp_path / "artifacts" / "dl:v0")
    with pytest.raises(ValueError, match="single file"):
        art.file()
    one = run.log_artifact(str(Path(src) / "a.txt"), name="single").wait()
    assert Path(one.file()).read_text() == "aaa"
    assert [f.name for f in art.files()] == ["a.txt", "deep/b.txt"]
    assert [f.name for f in art.files(names=["a.txt"])] == ["a.txt"]
    assert art.get_entry("deep/b.txt").size == 2
    with pytest.raises(KeyError):
        art.get_entry("nope")
    run.finish()


def test_edit_and_save_a_logged_version(tmp_path: Path) -> None:
    import datetime

    run = trackline.init(project="arts")
    art = logged(run, "ed", make_dir(tmp_path / "d", {"a.txt": "a"}))
    art.description = "cleaned"
    art.metadata = {"rows": 10}
    art.aliases = ["prod", "latest"]
    art.tags = ["gold"]
    art.ttl = datetime.timedelta(days=3)
    art.save()
    fresh = run.use_artifact("ed:prod")
    assert (fresh.description, fresh.metadata, fresh.tags) == ("cleaned", {"rows": 10}, ["gold"])
    assert sorted(fresh.aliases) == ["latest", "prod"]
    assert fresh.ttl == datetime.timedelta(days=3)
    fresh.aliases = []
    fresh.save()
    with pytest.raises(ArtifactNotFoundError):
        run.use_artifact("ed:prod")
    run.finish()


def test_delete_needs_delete_aliases(tmp_path: Path) -> None:
    run = trackline.init(project="arts")
    d = make_dir(tmp_path / "d", {"a.txt": "a"})
    v0 = logged(run, "del", d, aliases=["keep"])
    (tmp_path / "d" / "a.txt").write_text("b")
    v1 = logged(run, "del", d)
    with pytest.raises(ValueError, match="delete_aliases=True"):
        v0.delete()
    v0.delete(delete_aliases=True)
    assert v0.state == "DELETED"
    with pytest.raises(ArtifactNotFoundError):
        run.use_artifact("del:v0")
    v1.delete(delete_aliases=True)
    with pytest.raises(ArtifactNotFoundError):
        run.use_artifact("del:latest")
    run.finish()


def test_lineage_both_ways(tmp_path: Path) -> None:
    producer = trackline.init(project="arts", reinit="create_new")
    art = logged(producer, "lin", make_dir(tmp_path / "d", {"a.txt": "a"}))
    producer.finish()
    consumer = trackline.init(project="arts", reinit="create_new")
    used = consumer.use_artifact("lin:latest")
    consumer.finish()
    assert used.logged_by().id == producer.id
    assert [r.id for r in used.used_by()] == [consumer.id]
    api = trackline.Api()
    client = ArtifactClient.for_settings(consumer._settings)
    pk = api.run(f"arts/{consumer.id}")._row["pk"]
    assert [r["artifact_id"] for r in client.db.run_artifacts(int(pk), "input")] == [art.id]


def test_use_a_draft_logs_it_first(tmp_path: Path) -> None:
    run = trackline.init(project="arts")
    draft = trackline.Artifact("drafted", "dataset")
    draft.add_file(make_dir(tmp_path / "d", {"a.txt": "a"}) + "/a.txt")
    used = run.use_artifact(draft, aliases=["first"])
    assert used.version == "v0" and "first" in used.aliases
    run.finish()
    assert [r.id for r in used.used_by()] == [run.id]
    assert used.logged_by().id == run.id


def test_new_draft_makes_the_next_version(tmp_path: Path) -> None:
    run = trackline.init(project="arts")
    v0 = logged(run, "nd", make_dir(tmp_path / "d", {"a.txt": "a", "b.txt": "b"}))
    draft = v0.new_draft()
    draft.remove("b.txt")
    with draft.new_file("c.txt") as f:
        f.write("c")
    v1 = run.log_artifact(draft).wait()
    assert v1.version == "v1"
    assert sorted(v1.manifest.entries) == ["a.txt", "c.txt"]
    out = v1.download(str(tmp_path / "o"))
    assert (Path(out) / "a.txt").read_text() == "a"
    run.finish()


def test_offline_log_then_sync_is_idempotent(tmp_path: Path) -> None:
    run = trackline.init(project="off", mode="offline")
    art = trackline.Artifact("offds", "dataset")
    art.add_dir(make_dir(tmp_path / "d", {"a.txt": "a"}))
    logged_art = run.log_artifact(art)
    assert logged_art.wait() is logged_art  # offline: nothing to wait for
    with pytest.raises(trackline.artifacts.ArtifactNotLoggedError, match="trackline sync"):
        _ = logged_art.version
    run.finish()
    store = open_store(run.settings.store_url)
    client = ArtifactClient(store)
    with pytest.raises(ArtifactNotFoundError):
        client.artifact("offds", run.entity, "off")
    sync_log(run.settings.sync_file, store)
    counts = _counts(run.settings.store_url)
    sync_log(run.settings.sync_file, store)
    assert _counts(run.settings.store_url) == counts
    got = client.artifact("offds:v0", run.entity, "off")
    assert got.logged_by().id == run.id
    assert Path(got.download(str(tmp_path / "o")), "a.txt").read_text() == "a"


def _counts(url: str) -> dict[str, int]:
    con = sqlite3.connect(url[len("sqlite:///"):])
    out = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (
        "artifact_collections", "artifact_versions", "artifact_entries", "artifact_aliases", "artifact_lineage")}
    con.close()
    return out


def test_use_artifact_works_offline(tmp_path: Path) -> None:
    online = trackline.init(project="shared", reinit="create_new")
    logged(online, "weights", make_dir(tmp_path / "d", {"w.bin": "w"}))
    online.finish()
    offline = trackline.init(project="shared", mode="offline", reinit="create_new")
    art = offline.use_artifact("weights:latest")
    assert Path(art.download(str(tmp_path / "o")), "w.bin").read_text() == "w"
    offline.finish()
    store = open_store(offline.settings.store_url)
    sync_log(offline.settings.sync_file, store)
    assert [r.id for r in art.used_by()] == [offline.id]


CHILD = r"""
import sys, os, trackline
run = trackline.init(project="crashart", id=sys.argv[1], mode=sys.argv[2])
art = trackline.Artifact("crashed-ds", "dataset")
art.add_dir(sys.argv[3])
run.log_artifact(art, aliases=["kept"])
os.write(1, b"logged\n")
import time
time.sleep(60)
"""


@pytest.mark.parametrize("mode", ["offline", "online"])
def test_log_artifact_survives_sigkill(tmp_path: Path, mode: str) -> None:
    data = make_dir(tmp_path / "d", {"a.txt": "a" * 1000, "b/c.txt": "c"})
    proc = subprocess.Popen([PYTHON, "-c", CHILD, f"crash{mode}", mode, data], cwd=tmp_path / "work",
                            env=child_env(tmp_path), stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"logged\n"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run_dir = next((tmp_path / "work" / "trackline").glob(f"*-crash{mode}"))
    result = subprocess.run([PYTHON, "-m", "trackline.cli.main", "sync", str(run_dir)], env=child_env(tmp_path),
                            capture_output=True, text=True, cwd=tmp_path / "work")
    assert result.returncode == 0, result.stderr
    store = open_store(str(tmp_path / "home" / "trackline.db"))
    client = ArtifactClient(store)
    entity = store.find_runs(f"crash{mode}")[0]["entity"]
    deadline = time.monotonic() + 30
    while True:  # an online run's sender process finishes the log on its own, too
        try:
            art = client.artifact("crashed-ds:kept", entity, "crashart")
            break
        except ArtifactNotFoundError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    out = art.download(str(tmp_path / "out"))
    assert (Path(out) / "b" / "c.txt").read_text() == "c"
    assert art.file_count == 2


def test_the_store_keeps_what_the_files_hold_when_synced(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    keep = tmp_path / "keep.txt"
    keep.write_text("as logged")
    gone = tmp_path / "gone.txt"
    gone.write_text("deleted before sync")
    run = trackline.init(project="late", mode="offline")
    art = trackline.Artifact("late", "dataset")
    art.add_file(str(keep), policy="immutable")
    art.add_file(str(gone), policy="immutable")
    run.log_artifact(art)
    run.finish()
    keep.write_text("edited after log_artifact, before sync")
    gone.unlink()
    store = open_store(run.settings.store_url)
    with caplog.at_level("WARNING", logger="trackline.store"):
        sync_log(run.settings.sync_file, store)
    assert any("changed after it was added" in r.message for r in caplog.records)
    assert any("dropped" in r.message for r in caplog.records)
    got = ArtifactClient(store).artifact("late:v0", run.entity, "late")
    assert sorted(got.manifest.entries) == ["keep.txt"]
    out = Path(got.download(str(tmp_path / "o")))
    assert (out / "keep.txt").read_text() == "edited after log_artifact, before sync"
    got.verify(str(out))  # the stored digest is the content's
    from trackline.artifacts.manifest import artifact_digest

    assert got.digest == artifact_digest(got.manifest.entries)


def test_a_type_clash_found_at_sync_is_refused_and_reported(tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("x")
    online = trackline.init(project="clash", reinit="create_new")
    online.log_artifact(str(f), name="thing", type="dataset").wait()
    online.finish()
    offline = trackline.init(project="clash", mode="offline", reinit="create_new")
    pending = offline.log_artifact(str(f), name="thing", type="model")  # offline: not checked yet
    offline.finish()
    store = open_store(offline.settings.store_url)
    sync_log(offline.settings.sync_file, store)
    client = ArtifactClient(store)
    row, error = client.db.by_client_id(pending._pending.client_id)  # type: ignore[union-attr]
    assert row is None and error is not None and "already exists with type 'dataset'" in error
    assert client.artifact("thing:latest", offline.entity, "clash").type == "dataset"


def test_log_a_uri(tmp_path: Path) -> None:
    (tmp_path / "ref.txt").write_text("r")
    run = trackline.init(project="arts")
    art = run.log_artifact(f"file://{tmp_path}/ref.txt", name="by-uri").wait()
    assert art.manifest.get("ref.txt").ref == f"file://{tmp_path}/ref.txt"  # type: ignore[union-attr]
    run.finish()


def test_save_without_a_run_and_logged_properties(tmp_path: Path) -> None:
    draft = trackline.Artifact("standalone", "dataset", metadata={"k": 1})
    with draft.new_file("a.txt") as f:
        f.write("a")
    assert trackline.run is None
    draft.save(project="solo")  # W&B: a short run with job_type "auto" logs it
    assert draft.version == "v0" and draft.project == "solo"
    runner = draft.logged_by()
    assert runner.job_type == "auto" and runner.state == "finished"
    assert draft.url.endswith(f"/{draft.entity}/solo/artifacts/dataset/standalone/v0")
    assert draft.commit_hash == draft.digest[:12] and draft.file_count == 1 and draft.size == 1
    assert draft.created_at.endswith("Z") and draft.history_step == 0
    assert draft.json_encode() == {"_type": "artifactVersion", "_version": "v0", "id": draft.id,
                                   "version": "v0", "sequenceName": "standalone", "usedAs": None}
    with pytest.warns(DeprecationWarning):
        assert draft.get_path("a.txt").size == 1
    [f] = draft.files()
    target = f.download(str(tmp_path / "one"))
    assert Path(target).read_text() == "a"
    with pytest.raises(ValueError, match="already exists"):
        f.download(str(tmp_path / "one"))

    run = trackline.init(project="solo")
    second = draft.new_draft()
    with second.new_file("b.txt") as fh:
        fh.write("b")
    second.save()  # through the active run
    assert second.version == "v1" and second.logged_by().id == run.id
    run.finish()
