"""The query API for artifacts: api.artifact(s), collections, types, and a run's artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest

import trackline
from trackline.artifacts import ArtifactNotFoundError


def log(run: trackline.Run, name: str, type_: str, text: str, **kw: object) -> trackline.Artifact:
    art = trackline.Artifact(name, type_)
    with art.new_file("f.txt") as f:
        f.write(text)
    return run.log_artifact(art, **kw).wait()  # type: ignore[no-any-return]


@pytest.fixture
def world(isolated: Path) -> dict[str, str]:
    producer = trackline.init(project="zoo", reinit="create_new")
    log(producer, "images", "dataset", "one", tags=["raw"])
    log(producer, "images", "dataset", "two", aliases=["clean"], tags=["gold"])
    log(producer, "resnet", "model", "weights")
    producer.finish()
    consumer = trackline.init(project="zoo", reinit="create_new")
    consumer.use_artifact("images:clean")
    consumer.use_artifact("resnet:latest")
    consumer.finish()
    return {"producer": producer.id, "consumer": consumer.id, "entity": producer.entity}


def test_api_artifact_names(world: dict[str, str]) -> None:
    api = trackline.Api({"project": "zoo"})
    assert api.artifact("images:v0").version == "v0"
    assert api.artifact("images").version == "v1"  # latest by default
    assert api.artifact("zoo/images:clean").version == "v1"
    assert api.artifact(f"{world['entity']}/zoo/resnet:latest").type == "model"
    with pytest.raises(ValueError, match="does not match type"):
        api.artifact("images:v0", type="model")
    with pytest.raises(ArtifactNotFoundError):
        trackline.Api().artifact("images:v0")  # no project set: "uncategorized"
    assert api.artifact_exists("images:clean") and not api.artifact_exists("images:v5")
    with pytest.raises(ValueError, match="specify name"):
        api.artifact("")


def test_api_versions_collections_and_types(world: dict[str, str]) -> None:
    api = trackline.Api({"project": "zoo"})
    assert [a.version for a in api.artifacts("dataset", "images")] == ["v1", "v0"]
    assert [a.version for a in api.artifact_versions("dataset", "zoo/images")] == ["v1", "v0"]
    assert [a.version for a in api.artifacts("dataset", "images", tags=["gold"])] == ["v1"]
    with pytest.raises(ArtifactNotFoundError):
        api.artifacts("model", "images")
    colls = api.artifact_collections("zoo", "dataset")
    assert [c.name for c in colls] == ["images"]
    assert colls[0].version_count == 2 and sorted(colls[0].aliases) == ["clean", "latest"]
    assert sorted(c.name for c in api.artifact_collections("zoo", None)) == ["images", "resnet"]
    assert sorted(t.name for t in api.artifact_types("zoo")) == ["dataset", "model"]
    model_type = api.artifact_type("model", "zoo")
    assert [c.name for c in model_type.collections()] == ["resnet"]
    assert model_type.collection("resnet").is_sequence()
    with pytest.raises(ArtifactNotFoundError):
        api.artifact_type("audio", "zoo")
    assert api.artifact_collection_exists("images", "dataset")
    assert not api.artifact_collection_exists("images", "model")
    coll = api.artifact_collection("dataset", "images")
    coll.description = "all the images"
    coll.tags = ["vision"]
    coll.save()
    again = api.artifact_collection("dataset", "images")
    assert (again.description, again.tags) == ("all the images", ["vision"])
    again.delete()
    assert not api.artifact_exists("images:v0")


def test_a_runs_artifacts(world: dict[str, str]) -> None:
    api = trackline.Api({"project": "zoo"})
    producer = api.run(f"zoo/{world['producer']}")
    consumer = api.run(f"zoo/{world['consumer']}")
    assert [a.name for a in producer.logged_artifacts()] == ["images:v0", "images:v1", "resnet:v0"]
    assert producer.used_artifacts() == []
    assert sorted(a.name for a in consumer.used_artifacts()) == ["images:v1", "resnet:v0"]
    assert consumer.logged_artifacts() == []
    v0 = api.artifact("images:v0")
    consumer.use_artifact(v0)
    assert "images:v0" in [a.name for a in consumer.used_artifacts()]
    assert sorted(r.id for r in v0.used_by()) == [world["consumer"]]
    assert v0.logged_by().id == world["producer"]
    with pytest.raises(ValueError, match="logged Artifact"):
        consumer.log_artifact(trackline.Artifact("draft", "dataset"))


def test_delete_a_run_with_the_artifacts_it_logged(isolated: Path) -> None:
    from trackline.artifacts import gc
    from trackline.storage import open_store

    other = trackline.init(project="del", reinit="create_new")
    theirs = log(other, "theirs", "dataset", "made elsewhere")
    other.finish()
    maker = trackline.init(project="del", reinit="create_new")
    mine = log(maker, "mine", "dataset", "made here", aliases=["best"])
    maker.link_artifact(mine, "portfolio")
    maker.use_artifact("theirs:latest")
    assert log(maker, "theirs", "dataset", "made elsewhere").id == theirs.id  # unchanged: the other run's version
    maker.finish()
    user = trackline.init(project="del", reinit="create_new")
    user.use_artifact("mine:best")
    user.finish()
    keeper = trackline.init(project="del", reinit="create_new")
    log(keeper, "kept", "dataset", "stays")
    keeper.finish()
    api = trackline.Api({"project": "del"})
    api.run(f"del/{keeper.id}").delete()  # without delete_artifacts its versions stay
    assert api.artifact("kept:v0").logged_by() is None

    api.run(f"del/{maker.id}").delete(delete_artifacts=True)
    assert not api.artifact_exists("mine:v0") and not api.artifact_exists("mine:best")
    assert not api.artifact_exists("portfolio:v0")  # its links go with it
    assert api.artifact("theirs:v0").logged_by().id == other.id  # used and re-logged, not made: kept
    assert api.run(f"del/{user.id}").used_artifacts() == []
    store = open_store(other.settings.store_url)
    report = gc.collect_garbage(store, grace_seconds=0)
    assert mine.manifest.get("f.txt").sha256 in report.deleted  # type: ignore[union-attr]
    assert store.blobs is not None and store.blobs.exists(theirs.manifest.get("f.txt").sha256)  # type: ignore[union-attr]
