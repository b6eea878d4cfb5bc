"""init(): properties, ids, names, directories, modes, reinit, URLs, context manager."""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import pytest

import trackline
from trackline.errors import Error, UsageError
from trackline.sdk import lifecycle


def test_properties() -> None:
    run = trackline.init(project="proj", entity="me", name="n1", notes="hello", tags=["a", "b"],
                         group="g", job_type="train")
    assert re.fullmatch(r"[a-z0-9]{8}", run.id)
    assert (run.name, run.notes, run.tags, run.group, run.job_type) == ("n1", "hello", ("a", "b"), "g", "train")
    assert (run.project, run.entity, run.path) == ("proj", "me", f"me/proj/{run.id}")
    assert run.url == f"http://127.0.0.1:7878/me/proj/runs/{run.id}"
    assert run.project_url == "http://127.0.0.1:7878/me/proj"
    assert run.sweep_url == "" and run.sweep_id is None
    assert not run.resumed and not run.offline and not run.disabled
    assert run.dir.endswith("files") and os.path.isdir(run.dir)
    assert run.start_time > 0 and run.step == 0
    assert run.settings.frozen
    with pytest.raises(UsageError):
        run._settings.project = "x"
    run.finish()


def test_generated_names_and_run_directory_layout(isolated: Path) -> None:
    run = trackline.init(project="p")
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d+", run.name or "")
    sync_dir = Path(run.settings.sync_dir)
    assert sync_dir.parent == isolated / "work" / "trackline"
    assert re.fullmatch(rf"run-\d{{8}}_\d{{6}}-{run.id}", sync_dir.name)
    assert (sync_dir / "files").is_dir() and (sync_dir / "logs").is_dir()
    assert (sync_dir / f"run-{run.id}.tlog").is_file()
    assert os.readlink(sync_dir.parent / "latest-run") == sync_dir.name
    run.finish()


def test_offline_runs_have_no_urls_and_warn(caplog: pytest.LogCaptureFixture) -> None:
    run = trackline.init(project="p", mode="offline")
    assert Path(run.settings.sync_dir).name.startswith("offline-run-")
    assert run.url is None and run.project_url is None and run.sweep_url is None
    assert any("URL not available in offline run" in r.getMessage() for r in caplog.records)
    run.finish()


def test_base_url_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKLINE_BASE_URL", "http://ui.local:9000/")
    run = trackline.init(project="p", entity="e")
    assert run.url == f"http://ui.local:9000/e/p/runs/{run.id}"
    run.finish()


@pytest.mark.parametrize("bad", ["", " x", "a/b", "a:b", "a#b", "a?b", "a'b", "a,b", "a;b"])
def test_invalid_run_ids(bad: str) -> None:
    with pytest.raises(UsageError):
        trackline.init(project="p", id=bad, mode="offline")


@pytest.mark.parametrize("bad", ["a/b", "a\\b", "a#b", "a?b", "a%b", "a:b", "x" * 129])
def test_invalid_project_names(bad: str) -> None:
    with pytest.raises(UsageError, match="Invalid project name"):
        trackline.init(project=bad, mode="offline")


def test_invalid_tags() -> None:
    with pytest.raises(Exception, match="between 1 and 64"):
        trackline.init(project="p", tags=["x" * 65], mode="offline")


def test_setting_name_notes_tags_persists() -> None:
    run = trackline.init(project="p")
    run.name = "renamed"
    run.notes = "new notes"
    run.tags = ["t1"]
    run.tags = ["x" * 100]  # invalid: warns, keeps the old tags
    assert run.tags == ("t1",)
    run.finish()
    stored = trackline.Api().run(run.path)
    assert (stored.name, stored.notes, stored.tags) == ("renamed", "new notes", ["t1"])


def test_explicit_id_and_project_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_PROJECT", "from-wandb")
    monkeypatch.setenv("WANDB_RUN_ID", "myrun123")
    monkeypatch.setenv("WANDB_TAGS", "x,y")
    monkeypatch.setenv("WANDB_RUN_GROUP", "grp")
    run = trackline.init(mode="offline")
    assert (run.project, run.id, run.tags, run.group) == ("from-wandb", "myrun123", ("x", "y"), "grp")
    run.finish()


def test_project_defaults_to_uncategorized_outside_git(isolated: Path) -> None:
    run = trackline.init(mode="offline", settings={"program": str(isolated / "work" / "train.py")})
    assert run.project == "uncategorized"
    run.finish()


def test_project_defaults_to_git_repo_name(isolated: Path) -> None:
    repo = isolated / "work" / "myrepo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repo / "sub").mkdir()
    run = trackline.init(mode="offline", settings={"program": str(repo / "sub" / "train.py")})
    assert run.project == "myrepo-sub"
    run.finish()


def test_reinit_modes() -> None:
    first = trackline.init(project="p", mode="offline")
    again = trackline.init(project="p", mode="offline")
    assert again is first and trackline.run is first
    second = trackline.init(project="p", mode="offline", reinit="finish_previous")
    assert second is not first and first._finished and trackline.run is second
    third = trackline.init(project="p", mode="offline", reinit="create_new")
    assert trackline.run is second and not second._finished
    with pytest.raises(UsageError, match="is in use"):
        trackline.init(project="p", mode="offline", reinit="create_new", id=third.id)
    third.finish()
    second.finish()
    assert trackline.run is None


def test_resume_from_and_fork_from_are_exclusive() -> None:
    with pytest.raises(ValueError, match="more than one"):
        trackline.init(project="p", resume="allow", fork_from="abc?_step=3", mode="offline")
    with pytest.raises(ValueError, match="_step"):
        trackline.init(project="p", fork_from="abc?epoch=3", mode="offline")


def test_context_manager_states() -> None:
    with trackline.init(project="p") as run:
        run.log({"a": 1})
    assert trackline.Api().run(run.path).state == "finished"
    with pytest.raises(RuntimeError), trackline.init(project="p") as run2:
        raise RuntimeError("boom")
    stored = trackline.Api().run(run2.path)
    assert stored.state == "failed" and "RuntimeError: boom" in (stored.reason or "")


def test_finish_exit_codes_map_to_states() -> None:
    run = trackline.init(project="p")
    run.finish(exit_code=3)
    assert trackline.Api().run(run.path).state == "failed"
    run = trackline.init(project="p")
    run.finish(exit_code=0)
    assert trackline.Api().run(run.path).state == "finished"


def test_module_level_functions_follow_the_global_run() -> None:
    run = trackline.init(project="p", mode="offline")
    assert trackline.run is run and trackline.config is run.config
    trackline.log({"a": 1})
    trackline.config.update({"b": 2})
    assert trackline.summary["a"] == 1
    trackline.finish()
    assert trackline.run is None
    with pytest.raises(Error, match=r"You must call trackline.init\(\) before trackline.log\(\)"):
        trackline.log({"a": 1})


def test_pre_init_errors() -> None:
    with pytest.raises(Error, match=r"before trackline.config.x"):
        _ = trackline.config.x
    with pytest.raises(Error, match=r"before trackline.summary\['k'\]"):
        _ = trackline.summary["k"]
    with pytest.raises(Error, match=r"before trackline.define_metric\(\)"):
        trackline.define_metric("x")


def test_deepcopy_returns_the_same_run() -> None:
    import copy

    run = trackline.init(project="p", mode="offline")
    assert copy.deepcopy(run) is run
    run.finish()


def test_disabled_mode_is_a_no_op_with_wandb_semantics(isolated: Path) -> None:
    run = trackline.init(project=None, mode="disabled", config={"a": 1},
                         settings={"program": str(isolated / "work" / "t.py")})
    assert run.disabled and run.project == "dummy" and run.entity == "dummy"
    assert run.name == f"dummy-{run.id}"
    run.log({"x": 1})
    assert run.summary.x == 1 and run.summary["x"] == 1
    assert run.config.a == 1
    assert run.url is None and run.step == 0
    assert run.save() is False
    assert run.define_metric("m").name == "dummy"
    art = run.log_artifact()
    assert art.anything().more is art
    assert pickle.loads(pickle.dumps(run)).config.a == 1
    assert not (isolated / "work" / "trackline").exists()
    run.finish()


def test_disabled_run_has_every_public_attribute_of_run_callable() -> None:
    from trackline.sdk.run import Run

    run = trackline.init(mode="disabled")
    public = [n for n in dir(Run) if not n.startswith("_")]
    for name in public:
        assert hasattr(run, name), name
        value = getattr(run, name)
        if callable(value):
            value()
    run.finish()


def test_atexit_finishes_open_runs() -> None:
    run = trackline.init(project="p")
    run.log({"a": 1})
    lifecycle._atexit()
    assert trackline.Api().run(run.path).state == "finished"
