"""W&B's path rules for runs and projects."""

from __future__ import annotations

import pytest

import trackline
from trackline.api.api import Api


@pytest.mark.parametrize(
    "path",
    [
        "ent/proj/abc",
        "ent/proj/runs/abc",
        "/ent/proj/runs/abc/",
        "ent/proj:abc",
        "http://127.0.0.1:7878/ent/proj/runs/abc",
        "runs/ent/proj/abc",
    ],
)
def test_full_run_paths(path: str) -> None:
    assert Api()._parse_path(path) == ("ent", "proj", "abc")


def test_missing_parts_come_from_overrides_then_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    api = Api({"entity": "team", "project": "proj"})
    assert api._parse_path("abc") == ("team", "proj", "abc")
    assert api._parse_path("other/abc") == ("team", "other", "abc")
    assert api._parse_path("other:abc") == ("team", "other", "abc")
    monkeypatch.setenv("WANDB_ENTITY", "envteam")
    monkeypatch.setenv("WANDB_PROJECT", "envproj")
    assert Api()._parse_path("abc") == ("envteam", "envproj", "abc")
    assert Api()._parse_project(None) == ("envteam", "envproj")


def test_default_entity_is_the_user_name() -> None:
    import getpass

    assert Api().default_entity == getpass.getuser()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("abc", "Invalid path: 'abc' (missing project)"),
        ("a/b/c/d/e", "Invalid path: 'a/b/c/d/e'"),
        ("", "Invalid path: ''"),
    ],
)
def test_bad_run_paths(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Api()._parse_path(path)


def test_bad_project_paths() -> None:
    with pytest.raises(ValueError, match="no project given"):
        Api()._parse_project(None)
    with pytest.raises(ValueError, match="Invalid project path: 'a/b/c'"):
        Api()._parse_project("a/b/c")


def test_unknown_override_is_named() -> None:
    with pytest.raises(ValueError, match="unknown key\\(s\\) 'projcet'"):
        Api({"projcet": "x"})


def test_api_is_the_public_name() -> None:
    assert trackline.Api is Api
    from trackline.api import PublicRun, Run

    assert PublicRun is Run
