"""An artifact as a config value (W&B): the run uses it, the stored config holds its reference."""

from __future__ import annotations

from pathlib import Path

import pytest

import trackline
from tests.conftest import write_tree


def _producer(tmp_path: Path) -> trackline.Artifact:
    run = trackline.init(project="cfg", reinit="create_new")
    art = trackline.Artifact("data", "dataset")
    art.add_dir(write_tree(tmp_path / "d", {"a.txt": "a"}))
    logged = run.log_artifact(art).wait()
    run.finish()
    return logged


@pytest.mark.parametrize("form", ["object", "uri", "uri-with-host", "id-uri", "dict"])
def test_an_artifact_in_the_config_is_used_and_recorded(tmp_path: Path, form: str) -> None:
    art = _producer(tmp_path)
    value = {
        "object": art,
        "uri": f"wandb-artifact://{art.qualified_name}",
        "uri-with-host": f"wandb-artifact://http://127.0.0.1:8080/{art.qualified_name}",
        "id-uri": f"wandb-artifact://_id/{art.id}",
        "dict": {"_type": "artifactVersion", "id": art.id},
    }[form]
    run = trackline.init(project="cfg", reinit="create_new", config={"lr": 0.1})
    run.config.update({"dataset": value})
    got = run.config.dataset
    assert isinstance(got, trackline.Artifact) and got.id == art.id and got.use_as == "dataset"
    run.finish()
    assert [r.id for r in art.used_by()] == [run.id]
    stored = trackline.Api().run(f"cfg/{run.id}").config
    assert stored["lr"] == 0.1
    assert stored["dataset"] == {
        "_type": "artifactVersion", "_version": "v0", "id": art.id, "version": "v0",
        "sequenceName": "data", "usedAs": "dataset",
    }


def test_an_artifact_nested_in_the_config_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    art = _producer(tmp_path)
    run = trackline.init(project="cfg", reinit="create_new")
    with pytest.raises(ValueError, match=r"config\['inputs'\]: an artifact can only be a top-level config value"):
        run.config.update({"inputs": {"train": f"wandb-artifact://{art.qualified_name}"}})
    with pytest.raises(ValueError, match="top-level"):
        run.config["inputs"] = [art]
    assert "inputs" not in run.config
    run.finish()
    assert art.used_by() == []


def test_a_missing_artifact_in_the_config_names_it_and_nothing_of_the_call_is_set(tmp_path: Path) -> None:
    run = trackline.init(project="cfg", reinit="create_new")
    with pytest.raises(Exception, match="nothing:v3"):
        run.config.dataset = "wandb-artifact://cfg/nothing:v3"
    with pytest.raises(Exception, match="nothing:v3"):
        run.config.update({"lr": 0.2, "dataset": "wandb-artifact://cfg/nothing:v3"})
    assert "lr" not in run.config and "dataset" not in run.config
    run.finish()
    assert "lr" not in trackline.Api().run(f"cfg/{run.id}").config


def test_a_disabled_run_keeps_an_artifact_value_as_given() -> None:
    run = trackline.init(project="cfg", mode="disabled")
    run.config.update({"dataset": "wandb-artifact://cfg/data:v0"})
    assert run.config.dataset == "wandb-artifact://cfg/data:v0"
    run.finish()


def test_an_artifact_in_inits_config_is_used_once_the_run_starts(tmp_path: Path) -> None:
    art = _producer(tmp_path)
    run = trackline.init(project="cfg", reinit="create_new", config={"lr": 0.1, "dataset": art})
    assert run.config.dataset.id == art.id and run.config.lr == 0.1
    run.finish()
    assert [r.id for r in art.used_by()] == [run.id]
    assert trackline.Api().run(f"cfg/{run.id}").config["dataset"]["id"] == art.id


def test_an_offline_run_uses_a_config_artifact_from_the_local_store(tmp_path: Path) -> None:
    art = _producer(tmp_path)
    run = trackline.init(project="cfg", reinit="create_new", mode="offline")
    run.config.dataset = "wandb-artifact://cfg/data:latest"
    assert run.config.dataset.id == art.id
    run.finish()
