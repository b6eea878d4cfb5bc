"""finish(): the footer, and the sender process it leaves behind."""

from __future__ import annotations

import pytest

import trackline


def test_the_footer_shows_history_sparklines_and_the_summary(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TRACKLINE_SILENT")
    run = trackline.init(project="p", mode="online")
    for i in range(50):
        run.log({"loss": 1.0 / (i + 1), "note": "x"})
    run.finish()
    err = capsys.readouterr().err
    assert "Run history:" in err and "Run summary:" in err
    footer = err[err.index("Run history:") :]
    assert "loss" in footer and "0.02" in footer  # the last loss, 1/50
    assert "note" in footer  # short strings are summarised too
    assert any(ch in footer for ch in "▁▂▃▄▅▆▇█")


def test_the_sender_process_exits_cleanly_after_finish() -> None:
    run = trackline.init(project="p", mode="online")
    run.log({"loss": 1.0})
    run.finish()
    proc = run._sender.proc
    assert proc.wait(timeout=30) == 0  # it closed the store and left with status 0
    assert trackline.Api().run(f"{run.entity}/p/{run.id}").summary["loss"] == 1.0


def test_the_stop_request_goes_out_before_the_log_is_fsynced_and_only_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from trackline.sender import process

    run = trackline.init(project="p", mode="online")
    run.log({"loss": 1.0})
    events: list[str] = []
    send = process._send

    def spy_send(fd: int, obj: object) -> None:
        if isinstance(obj, list) and obj[2]:
            events.append("stop request")
        send(fd, obj)

    monkeypatch.setattr(process, "_send", spy_send)
    close = run._writer.close
    monkeypatch.setattr(run._writer, "close", lambda: (events.append("log fsynced"), close())[1])
    run.finish()
    assert events == ["stop request", "log fsynced"]
    assert trackline.Api().run(f"{run.entity}/p/{run.id}").summary["loss"] == 1.0
