"""trackline.termlog / termwarn / termerror: W&B's terminal helpers, with the run's silence rules."""

from __future__ import annotations

import logging

import pytest

import trackline
from trackline.sdk import printer


@pytest.fixture(autouse=True)
def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("WANDB_SILENT", raising=False)
    monkeypatch.delenv("TRACKLINE_SILENT", raising=False)
    monkeypatch.setattr(printer, "_seen_once", set())


def test_lines_carry_the_prefix_and_level(capsys: pytest.CaptureFixture[str]) -> None:
    trackline.termlog("hello\nworld")
    trackline.termwarn("careful")
    trackline.termerror("bad")
    trackline.termlog("no prefix", prefix=False)
    trackline.termlog("a ", newline=False)
    trackline.termlog("b", prefix=False)
    assert capsys.readouterr().err == (
        "trackline: hello\ntrackline: world\ntrackline: WARNING careful\ntrackline: ERROR bad\n"
        "no prefix\ntrackline: a b\n"
    )


def test_repeat_false_prints_a_text_once(capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(3):
        trackline.termwarn("once", repeat=False)
    trackline.termwarn("twice")
    trackline.termwarn("twice")
    err = capsys.readouterr().err
    assert err.count("once") == 1 and err.count("twice") == 2


def test_silent_sends_them_to_the_logger(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("WANDB_SILENT", "true")
    with caplog.at_level(logging.INFO, logger="trackline"):
        trackline.termlog("quietly")
        trackline.termerror("still recorded")
    assert capsys.readouterr().err == ""
    assert "quietly" in caplog.text and "still recorded" in caplog.text


def test_a_runs_settings_apply(capsys: pytest.CaptureFixture[str]) -> None:
    run = trackline.init(project="term", mode="offline", settings=trackline.Settings(show_warnings=False))
    capsys.readouterr()
    try:
        trackline.termwarn("hidden")
        trackline.termlog("shown")
    finally:
        run.finish()
    err = capsys.readouterr().err
    assert "hidden" not in err and "trackline: shown" in err
