"""hatch_build.py: builds the UI when needed, skips cleanly otherwise, and ships it in wheels."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
pytest.importorskip("hatchling")


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("hatch_build", REPO / "hatch_build.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["hatch_build"] = mod
    spec.loader.exec_module(mod)
    return mod


hb = _load()


class FakeApp:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def display_info(self, m: str) -> None:
        self.messages.append("info: " + m)

    def display_warning(self, m: str) -> None:
        self.messages.append("warning: " + m)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    ui = tmp_path / "ui"
    (ui / "src").mkdir(parents=True)
    (ui / "package.json").write_text("{}")
    (ui / "package-lock.json").write_text("{}")
    (ui / "src" / "main.ts").write_text("export {}")
    return tmp_path


def _hook(root: Path) -> tuple[Any, FakeApp]:
    app = FakeApp()
    hook = hb.UIBuildHook(str(root), {}, None, None, str(root / "dist"), "wheel", app=app)
    return hook, app


def _static(root: Path) -> Path:
    return root / "src" / "trackline" / "server" / "static"


def _fake_npm(monkeypatch: pytest.MonkeyPatch, calls: list[list[str]], fail: bool = False) -> None:
    monkeypatch.setattr(hb.shutil, "which", lambda name: "/usr/bin/npm")

    def run(cmd: list[str], cwd: Path, check: bool) -> None:
        calls.append(cmd[1:])
        if fail:
            raise subprocess.CalledProcessError(1, cmd)
        if cmd[1] == "run":
            _static(Path(cwd).parent).mkdir(parents=True, exist_ok=True)
            (_static(Path(cwd).parent) / "index.html").write_text("<!doctype html>")

    monkeypatch.setattr(hb.subprocess, "run", run)


def test_builds_a_stale_ui_and_puts_it_in_the_wheel(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKLINE_SKIP_UI_BUILD", raising=False)
    calls: list[list[str]] = []
    _fake_npm(monkeypatch, calls)
    hook, app = _hook(project)
    data: dict[str, Any] = {"force_include": {}}
    hook.initialize("standard", data)
    assert [c[0] for c in calls] == ["ci", "run"]
    assert data["force_include"] == {str(_static(project)): "trackline/server/static"}
    # built and newer than every source: the next build does nothing
    calls.clear()
    hook.initialize("editable", {"force_include": {}})
    assert calls == [] and any("up to date" in m for m in app.messages)


def test_a_changed_source_rebuilds_without_reinstalling_packages(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKLINE_SKIP_UI_BUILD", raising=False)
    calls: list[list[str]] = []
    _fake_npm(monkeypatch, calls)
    hook, _ = _hook(project)
    hook.initialize("editable", {"force_include": {}})
    (project / "ui" / "node_modules").mkdir()
    index = _static(project) / "index.html"
    os.utime(index, (1, 1))
    calls.clear()
    hook.initialize("editable", {"force_include": {}})
    assert [c[0] for c in calls] == ["run"]


def test_skips_when_asked_or_without_npm(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    _fake_npm(monkeypatch, calls)
    monkeypatch.setenv("TRACKLINE_SKIP_UI_BUILD", "1")
    hook, app = _hook(project)
    data: dict[str, Any] = {"force_include": {}}
    hook.initialize("standard", data)
    assert calls == [] and data["force_include"] == {}
    assert "TRACKLINE_SKIP_UI_BUILD=1" in app.messages[-1]
    monkeypatch.delenv("TRACKLINE_SKIP_UI_BUILD")
    monkeypatch.setattr(hb.shutil, "which", lambda name: None)
    hook.initialize("standard", data)
    assert calls == [] and "npm not found" in app.messages[-1]


def test_a_failed_build_warns_unless_required(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKLINE_SKIP_UI_BUILD", raising=False)
    calls: list[list[str]] = []
    _fake_npm(monkeypatch, calls, fail=True)
    hook, app = _hook(project)
    data: dict[str, Any] = {"force_include": {}}
    hook.initialize("standard", data)
    assert "build failed" in app.messages[-1] and data["force_include"] == {}
    monkeypatch.setenv("TRACKLINE_REQUIRE_UI_BUILD", "1")
    with pytest.raises(subprocess.CalledProcessError):
        hook.initialize("standard", data)


def test_the_hook_is_registered_for_wheels() -> None:
    text = (REPO / "pyproject.toml").read_text()
    assert '[tool.hatch.build.targets.wheel.hooks.custom]\npath = "hatch_build.py"' in text
    assert (REPO / "scripts" / "build-ui").stat().st_mode & 0o111
