"""Names, types, aliases, tags and artifact paths follow W&B's validation."""

from __future__ import annotations

import pytest

import trackline
from trackline.artifacts import naming
from trackline.artifacts.naming import ArtifactPath


@pytest.mark.parametrize("name", ["ok", "a.b-c_d", "x" * 128, "v1"])
def test_valid_names(name: str) -> None:
    assert trackline.Artifact(name, "dataset").name == name


@pytest.mark.parametrize("name", ["", "has space", "a/b", "a:b", "x" * 129, "ü"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(ValueError, match="Artifact name"):
        trackline.Artifact(name, "dataset")


@pytest.mark.parametrize(("name", "type_"), [
    ("x", "wandb-history"), ("x", "job"), ("run-abc-table", "run_table"), ("source-proj-main.py", "code"),
])
def test_reserved_types(name: str, type_: str) -> None:
    with pytest.raises(ValueError, match="reserved for internal use"):
        trackline.Artifact(name, type_)


def test_reserved_type_rules_are_narrow() -> None:
    trackline.Artifact("my-table", "run_table")
    trackline.Artifact("my-code", "code")


def test_metadata_limits() -> None:
    with pytest.raises(ValueError, match="at most 100"):
        trackline.Artifact("m", "dataset", metadata={str(i): i for i in range(101)})
    art = trackline.Artifact("m", "dataset", metadata='{"a": 1}')
    assert art.metadata == {"a": 1}
    with pytest.raises(TypeError, match="metadata must be a dict"):
        trackline.Artifact("m", "dataset", metadata=[1, 2])  # type: ignore[arg-type]


def test_aliases() -> None:
    assert naming.validate_aliases(["best", "best", "prod"]) == ["best", "prod"]
    for bad in ("a/b", "a:b", "v3", ""):
        with pytest.raises(ValueError):
            naming.validate_aliases([bad])
    art = trackline.Artifact("m", "dataset")
    with pytest.raises(TypeError, match="not a string"):
        art.aliases = "best"  # type: ignore[assignment]


def test_tags() -> None:
    assert naming.validate_tags(["a", "a", "b c"]) == ["a", "b c"]
    with pytest.raises(ValueError, match="Invalid tag"):
        naming.validate_tags(["bad!"])


@pytest.mark.parametrize(("text", "expected"), [
    ("ds", ArtifactPath("ds")),
    ("ds:latest", ArtifactPath("ds", version="latest")),
    ("ds:v3", ArtifactPath("ds", version="v3")),
    ("proj/ds:best", ArtifactPath("ds", project="proj", version="best")),
    ("ent/proj/ds:v0", ArtifactPath("ds", project="proj", entity="ent", version="v0")),
    ("wandb-registry-model/clf:prod", ArtifactPath("clf", project="wandb-registry-model", version="prod")),
])
def test_paths(text: str, expected: ArtifactPath) -> None:
    assert ArtifactPath.from_str(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize("text", ["a/b/c/d", "", "ds:", "a//b", "ds:v1/x"])
def test_bad_paths(text: str) -> None:
    with pytest.raises(ValueError, match="Invalid artifact path"):
        ArtifactPath.from_str(text)


def test_version_index_and_safe_names() -> None:
    assert naming.version_index("v12") == 12
    assert naming.version_index("latest") is None
    assert naming.safe_artifact_name("proj-src/train me.py") == "proj-src_train_me.py"
    long = naming.safe_artifact_name("x" * 200)
    assert len(long) == 128 and long[63:65] == ".."
