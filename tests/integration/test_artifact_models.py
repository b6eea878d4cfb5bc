"""Links, the model registry, log_model/use_model/link_model, and data types inside artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest

import trackline
from trackline.artifacts import ArtifactNotFoundError
from trackline.artifacts.client import ArtifactClient


def model_file(tmp_path: Path, text: str = "weights") -> str:
    p = tmp_path / "model.pt"
    p.write_text(text)
    return str(p)


def test_log_model_and_use_model(tmp_path: Path) -> None:
    run = trackline.init(project="models")
    assert run.log_model(model_file(tmp_path), name="clf", aliases=["best"]) is None
    path = run.use_model("clf:best")
    assert Path(path).name == "model.pt" and Path(path).read_text() == "weights"
    folder = tmp_path / "multi"
    folder.mkdir()
    (folder / "a.bin").write_text("a")
    (folder / "b.bin").write_text("b")
    run.log_model(str(folder), name="multi")
    assert Path(run.use_model("multi:latest"), "b.bin").read_text() == "b"
    run.log_artifact(model_file(tmp_path, "x"), name="notamodel", type="dataset").wait()
    with pytest.raises(AssertionError, match="'model' artifacts"):
        run.use_model("notamodel:latest")
    run.finish()


def test_link_artifact_and_unlink(tmp_path: Path) -> None:
    run = trackline.init(project="models")
    art = run.log_artifact(model_file(tmp_path), name="clf", type="model").wait()
    linked = run.link_artifact(art, "portfolio-clf", aliases=["staging"])
    assert linked is not None and linked.is_link
    assert (linked.name, linked.source_name) == ("portfolio-clf:v0", "clf:v0")
    assert sorted(linked.aliases) == ["latest", "staging"]
    assert linked.source_artifact.id == art.id
    assert [a.name for a in art.linked_artifacts] == ["portfolio-clf:v0"]
    again = run.link_artifact(art, "portfolio-clf", aliases=["prod"])
    assert again is not None and again.version == "v0"  # linking the same version twice: one link
    with pytest.raises(ValueError, match="not a linked artifact"):
        art.unlink()
    linked.unlink()
    with pytest.raises(ArtifactNotFoundError):
        run.use_artifact("portfolio-clf:latest")
    assert run.use_artifact("clf:v0").version == "v0"  # the source stays
    with pytest.raises(ValueError, match="may not hold a version"):
        run.link_artifact(art, "portfolio:v0")
    run.finish()


def test_link_model_creates_the_registered_model(tmp_path: Path) -> None:
    run = trackline.init(project="models")
    first = run.link_model(model_file(tmp_path, "one"), "fraud-detector", name="fraud", aliases=["staging"])
    assert first is not None
    assert (first.project, first.name, first.type) == ("model-registry", "fraud-detector:v0", "model")
    second = run.link_model(model_file(tmp_path, "two"), "fraud-detector", name="fraud", aliases=["production"])
    assert second is not None and second.version == "v1"
    client = ArtifactClient.for_settings(run._settings)
    reg = client.artifact("model-registry/fraud-detector:production", run.entity, run.project)
    assert reg.source_name == "fraud:v1"
    assert client.artifact("model-registry/fraud-detector:latest", run.entity, run.project).version == "v1"
    coll = client.db.collections(run.entity, "model-registry")
    assert [(c["name"], c["is_portfolio"]) for c in coll] == [("fraud-detector", True)]
    with pytest.raises(AssertionError, match="cannot contain '/'"):
        run.link_model(model_file(tmp_path), "a/b")
    # A collection of logged versions is not a link target.
    with pytest.raises(ValueError, match="collection of logged versions"):
        run.link_artifact(reg.source_artifact, "fraud")
    run.finish()


def test_artifact_link_outside_a_run(tmp_path: Path) -> None:
    run = trackline.init(project="models")
    art = run.log_artifact(model_file(tmp_path), name="m", type="model").wait()
    run.finish()
    fetched = trackline.Api().store and ArtifactClient.for_settings(run._settings).artifact("m:v0", run.entity, "models")
    link = fetched.link("wandb-registry-model/shared-m", aliases=["candidate"])
    assert (link.project, link.name) == ("wandb-registry-model", "shared-m:v0")
    assert "candidate" in link.aliases
    assert art.id == link.source_artifact.id


def test_tables_and_media_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    run = trackline.init(project="models")
    table = trackline.Table(columns=["a", "b"], data=[[1, "x"], [2, "y"]])
    art = trackline.Artifact("evals", "dataset")
    entry = art.add(table, "predictions")
    assert entry.path == "predictions.table-file.json"
    assert art.add(table, "predictions") is entry  # the same object again: the same entry
    art["hist"] = trackline.Histogram([1, 2, 2, 3])
    with pytest.raises(TypeError, match="not a trackline data type"):
        art.add(object(), "nope")
    logged = run.log_artifact(art).wait()
    back = logged.get("predictions")
    assert isinstance(back, trackline.Table)
    assert back.data == [[1, "x"], [2, "y"]]
    hist = logged["hist"]  # no from_json on Histogram: its JSON comes back
    assert hist["_type"] == "histogram" and sum(hist["values"]) == 4
    assert logged.get("missing") is None
    run.finish()
