"""``wandb-artifact://`` references: entries of other artifact versions, resolved, downloaded, in lineage."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

import trackline
from tests.conftest import write_tree
from trackline.artifacts import gc
from trackline.artifacts.client import ArtifactClient
from trackline.sender.sync import sync_log
from trackline.storage import open_store


def b64md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


folder = write_tree


def log_raw(run: trackline.Run, tmp_path: Path) -> trackline.Artifact:
    raw = trackline.Artifact("raw", "dataset")
    raw.add_dir(folder(tmp_path / "raw", {"a.txt": b"alpha", "sub/b.txt": b"bravo!"}))
    return run.log_artifact(raw).wait()  # type: ignore[no-any-return]


def test_entries_of_another_version_by_id_entry_and_name(tmp_path: Path) -> None:
    run = trackline.init(project="refs")
    raw = log_raw(run, tmp_path)
    src = trackline.Api().artifact("refs/raw:v0")  # read, not used by the run
    url = src.get_entry("a.txt").ref_url()
    assert url == f"wandb-artifact://{src.id}/a.txt"  # W&B's form: the version's id, then the path

    derived = trackline.Artifact("derived", "dataset")
    [by_id] = derived.add_reference(url)
    [by_entry] = derived.add_reference(src.get_entry("sub/b.txt"), name="b-entry.txt")
    [by_name] = derived.add_reference("wandb-artifact://refs/raw:latest/sub/b.txt", name="copies/b.txt")
    assert (by_id.path, by_id.digest, by_id.size) == ("a.txt", b64md5(b"alpha"), 0)  # size 0, as W&B
    assert by_entry.digest == by_name.digest == b64md5(b"bravo!")
    # A name resolves when added: the entry pins the version, whatever "latest" means later.
    assert by_name.ref == by_entry.ref == f"wandb-artifact://{src.id}/sub/b.txt"
    assert derived.manifest.to_json()["contents"]["a.txt"] == {"digest": b64md5(b"alpha"), "ref": url, "size": 0}
    logged = run.log_artifact(derived).wait()
    run.finish()

    # A fresh reader: every file comes from the referenced version.
    got = trackline.Api().artifact("refs/derived:latest")
    out = Path(got.download(str(tmp_path / "out")))
    assert (out / "a.txt").read_bytes() == b"alpha"
    assert (out / "copies" / "b.txt").read_bytes() == b"bravo!"
    one = got.get_entry("b-entry.txt").download(str(tmp_path / "one"))
    assert Path(one).read_bytes() == b"bravo!" and Path(one) == tmp_path / "one" / "b-entry.txt"
    [f] = got.files(names=["a.txt"])
    assert Path(f.download(str(tmp_path / "f"))).read_bytes() == b"alpha"
    assert got.digest == logged.digest and got.size == 0
    # The run that logged "derived" used "raw" (it never called use_artifact).
    assert [r.id for r in trackline.Api().artifact("refs/raw:v0").used_by()] == [run.id]
    assert [a.name for a in trackline.Api().run(f"refs/{run.id}").used_artifacts()] == ["raw:v0"]
    assert raw.id == src.id


def test_the_referenced_content_outlives_the_source_version(tmp_path: Path) -> None:
    run = trackline.init(project="refs")
    raw = log_raw(run, tmp_path)
    derived = trackline.Artifact("derived", "dataset")
    derived.add_reference(raw.get_entry("a.txt"))
    run.log_artifact(derived).wait()
    run.finish()
    raw.delete(delete_aliases=True)
    store = open_store(run.settings.store_url)
    report = gc.collect_garbage(store, grace_seconds=0)
    assert report.blobs_deleted == 1  # sub/b.txt went with raw; a.txt is still referenced
    got = trackline.Api().artifact("refs/derived:v0")
    assert Path(got.download(str(tmp_path / "out")), "a.txt").read_bytes() == b"alpha"


def test_a_chain_of_references_ends_at_the_content(tmp_path: Path) -> None:
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"kept elsewhere")
    run = trackline.init(project="refs")
    base = trackline.Artifact("base", "dataset")
    base.add_reference(f"file://{outside}", name="ext.bin")
    base.add_file(folder(tmp_path / "f", {"x.txt": b"x"}) + "/x.txt")
    base = run.log_artifact(base).wait()
    mid = trackline.Artifact("mid", "dataset")
    mid.add_reference(base.get_entry("ext.bin"))
    mid.add_reference(base.get_entry("x.txt"))
    mid = run.log_artifact(mid).wait()
    top = trackline.Artifact("top", "dataset")
    [ext] = top.add_reference(mid.get_entry("ext.bin"))
    [x] = top.add_reference(mid.get_entry("x.txt"))
    # W&B resolves a reference to a reference when it is added: both point at "base".
    assert ext.ref == f"wandb-artifact://{base.id}/ext.bin" and x.ref == f"wandb-artifact://{base.id}/x.txt"
    assert ext.digest == b64md5(b"kept elsewhere") and ext.sha256 is None  # an external file: no blob
    top = run.log_artifact(top).wait()
    run.finish()
    got = trackline.Api().artifact("refs/top:v0")
    assert got.get_entry("ext.bin").ref_target() == f"file://{outside}"
    out = Path(got.download(str(tmp_path / "out")))
    assert (out / "ext.bin").read_bytes() == b"kept elsewhere" and (out / "x.txt").read_bytes() == b"x"
    # Every version with a reference into "base" records that its run used base.
    assert [r.id for r in trackline.Api().artifact("refs/base:v0").used_by()] == [run.id]


def test_a_value_read_from_an_artifact_is_added_to_another_as_a_reference(tmp_path: Path) -> None:
    run = trackline.init(project="refs")
    tables = trackline.Artifact("tables", "dataset")
    tables.add(trackline.Table(columns=["x", "y"], data=[[1, "a"], [2, "b"]]), "t")
    tables = run.log_artifact(tables).wait()
    table = run.use_artifact("tables:latest").get("t")
    report = trackline.Artifact("report", "results")
    entry = report.add(table, "copy")
    [stored] = [p for p in tables.manifest.entries if p.startswith("t.")]  # t.<log type>.json
    assert entry.path == "copy" + stored[1:] and entry.ref == f"wandb-artifact://{tables.id}/{stored}"
    assert len(report.manifest) == 1  # no copy of the Parquet file
    run.log_artifact(report).wait()
    run.finish()
    back = trackline.Api().artifact("refs/report:v0").get("copy")
    assert back.get_dataframe().to_dict("list") == {"x": [1, 2], "y": ["a", "b"]}


def test_an_offline_run_resolves_against_the_local_store_and_sync_records_the_use(tmp_path: Path) -> None:
    online = trackline.init(project="refs")
    raw = log_raw(online, tmp_path)
    online.finish()
    offline = trackline.init(project="refs", mode="offline")
    derived = trackline.Artifact("derived", "dataset")
    derived.add_reference("wandb-artifact://raw:v0/a.txt")  # the run's project
    offline.log_artifact(derived)
    offline.finish()
    store = open_store(offline.settings.store_url)
    for _ in range(2):  # a second sync changes nothing
        sync_log(offline.settings.sync_file, store)
    got = trackline.Api().artifact("refs/derived:v0")
    assert got.get_entry("a.txt").ref == f"wandb-artifact://{raw.id}/a.txt"
    assert [r.id for r in trackline.Api().artifact("refs/raw:v0").used_by()] == [offline.id]
    assert Path(got.download(str(tmp_path / "out")), "a.txt").read_bytes() == b"alpha"


def test_reference_errors(tmp_path: Path) -> None:
    run = trackline.init(project="refs")
    raw = log_raw(run, tmp_path)
    art = trackline.Artifact("bad", "dataset")
    with pytest.raises(ValueError, match=r"has no entry 'nope\.txt'"):
        art.add_reference(f"wandb-artifact://{raw.id}/nope.txt")
    with pytest.raises(ValueError, match="no artifact with id"):
        art.add_reference("wandb-artifact://0123456789abcdef/a.txt")
    with pytest.raises(ValueError, match="not found"):
        art.add_reference("wandb-artifact://refs/raw:v9/a.txt")
    with pytest.raises(ValueError, match="not an artifact entry"):
        art.add_reference(f"wandb-artifact://{raw.id}")
    with pytest.raises(ValueError, match=r"\.\."):
        art.add_reference(f"wandb-artifact://{raw.id}/../a.txt")
    with pytest.raises(ValueError, match=r"not bound to a logged artifact.*get_entry"):
        trackline.Artifact("draft", "dataset").add_reference(
            trackline.artifacts.ManifestEntry(path="a.txt", digest="x"))
    assert len(art.manifest) == 0
    db = ArtifactClient.for_settings(run.settings).db
    assert db.entry(int(raw._row["id"]), "sub/b.txt")["size"] == 6  # type: ignore[index]
    run.finish()
