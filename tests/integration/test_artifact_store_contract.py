"""Artifacts on every store backend: SQLite always, PostgreSQL when a server is up
(`scripts/with-postgres` sets TRACKLINE_TEST_POSTGRES_URL; the `store_url` fixture)."""

from __future__ import annotations

from pathlib import Path

import pytest

import trackline
from trackline.artifacts import ArtifactNotFoundError, gc
from trackline.artifacts.client import ArtifactClient
from trackline.storage import open_store


def log(run: trackline.Run, name: str, text: str, **kw: object) -> trackline.Artifact:
    art = trackline.Artifact(name, "dataset", metadata={"text": text})
    with art.new_file("f.txt") as f:
        f.write(text)
    return run.log_artifact(art, **kw).wait()  # type: ignore[no-any-return]


def test_artifacts_on_every_backend(store_url: str, isolated: Path) -> None:
    run = trackline.init(project="contract", entity="e", group="g")
    log(run, "ds", "one", aliases=["first"])
    assert log(run, "ds", "one").version == "v0"  # dedup
    v1 = log(run, "ds", "two", tags=["t"])
    assert v1.version == "v1" and v1.tags == ["t"] and v1.metadata == {"text": "two"}
    part = trackline.Artifact("dist", "dataset")
    with part.new_file("a.txt") as f:
        f.write("a")
    run.upsert_artifact(part).wait()
    rest = trackline.Artifact("dist", "dataset")
    with rest.new_file("b.txt") as f:
        f.write("b")
    done = run.finish_artifact(rest).wait()
    assert done.version == "v0" and sorted(done.manifest.entries) == ["a.txt", "b.txt"]
    (isolated / "model.bin").write_bytes(b"weights")
    linked = run.link_model(str(isolated / "model.bin"), "reg-model", name="m")
    assert linked is not None and linked.project == "model-registry"
    used = run.use_artifact("ds:first")
    run.finish()
    assert [r.id for r in used.used_by()] == [run.id]

    store = open_store(store_url)
    assert store.url.split(":")[0] == store_url.split(":")[0]
    client = ArtifactClient(store)
    assert client.artifact("ds:latest", "e", "contract").version == "v1"
    assert client.artifact("model-registry/reg-model:latest", "e", "contract").source_name == "m:v0"
    api_run = trackline.Api().run(f"e/contract/{run.id}")
    assert sorted(a.name for a in api_run.logged_artifacts()) == ["dist:v0", "ds:v0", "ds:v1", "m:v0"]
    v0_again = client.artifact("ds:v0", "e", "contract")
    with pytest.raises(ValueError, match="delete_aliases"):
        v0_again.delete()
    v0_again.delete(delete_aliases=True)
    with pytest.raises(ArtifactNotFoundError):
        client.artifact("ds:first", "e", "contract")
    report = gc.collect_garbage(open_store(store_url, str(run.settings.blob_url)), grace_seconds=0, dry_run=True)
    assert report.blobs_total > 0


def test_artifact_references_on_every_backend(store_url: str, isolated: Path) -> None:
    run = trackline.init(project="contract", entity="e")
    src = log(run, "src", "shared text")
    ref = trackline.Artifact("ref", "dataset")
    ref.add_reference(src.get_entry("f.txt"), name="g.txt")
    ref = run.log_artifact(ref).wait()
    run.finish()
    client = ArtifactClient(open_store(store_url, str(run.settings.blob_url)))
    got = client.artifact("ref:v0", "e", "contract")
    assert got.get_entry("g.txt").ref == f"wandb-artifact://{src.id}/f.txt"
    assert client.db.entry(int(got._row["id"]), "g.txt")["sha256"] == src.get_entry("f.txt").sha256  # type: ignore[index]
    assert [r.id for r in client.artifact("src:v0", "e", "contract").used_by()] == [run.id]
    assert Path(got.download(str(isolated / "out")), "g.txt").read_text() == "shared text"
