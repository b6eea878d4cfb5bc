"""run.alert(): validation, throttling, storage, delivery to a real webhook and SMTP server."""

from __future__ import annotations

import datetime
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

import trackline
from trackline.sdk.alerts import AlertLevel
from trackline.storage import open_store
from trackline.storage.base import RunKey


class Receiver:
    """A real HTTP server on 127.0.0.1 that records JSON POSTs (a Slack-style webhook)."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append(json.loads(body))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def stored_alerts(run: trackline.Run) -> list[dict[str, Any]]:
    store = open_store(run.settings.store_url)
    row = store.get_run(RunKey(run.entity, run.project, run.id))
    assert row is not None
    return store.alerts(row["pk"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_levels_and_wait_duration_are_validated() -> None:
    run = trackline.init(project="a")
    with pytest.raises(ValueError, match="level must be one of 'INFO', 'WARN', or 'ERROR'"):
        run.alert("t", "x", level="LOUD")
    with pytest.raises(TypeError, match="wait_duration"):
        run.alert("t", "x", wait_duration="soon")
    run.alert("a", "x", level=AlertLevel.WARN, wait_duration=datetime.timedelta(seconds=5))
    run.alert("b", "y", level="ERROR", wait_duration=2.5)
    run.finish()
    got = [(a["title"], a["level"], a["wait_ms"]) for a in stored_alerts(run)]
    assert got == [("a", "WARN", 5000), ("b", "ERROR", 2500)]


def test_webhook_delivery_throttling_and_storage() -> None:
    receiver = Receiver()
    try:
        run = trackline.init(project="a", settings={"alert_webhook_url": receiver.url})
        run.alert("loss exploded", "loss is NaN at step 10", level="ERROR", wait_duration=300)
        run.alert("loss exploded", "again", level="ERROR", wait_duration=300)  # throttled
        run.alert("other", "different title", wait_duration=0)
        run.finish()
    finally:
        receiver.close()
    assert [r["attachments"][0]["title"] for r in receiver.requests] == ["loss exploded", "other"]
    first = receiver.requests[0]
    assert first["text"] == "[ERROR] loss exploded"
    assert first["attachments"][0]["text"] == "loss is NaN at step 10"
    alerts = stored_alerts(run)
    assert [(a["title"], a["throttled"]) for a in alerts] == [
        ("loss exploded", False),
        ("loss exploded", True),
        ("other", False),
    ]
    assert alerts[0]["delivery"]["webhook"]["ok"] is True
    assert alerts[1]["delivery"] is None


def test_failed_delivery_is_recorded_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()  # nothing listens there
    run = trackline.init(project="a", settings={"alert_webhook_url": f"http://127.0.0.1:{port}/x"})
    run._alerts.backoff = 0.01  # type: ignore[union-attr]
    run.alert("disk full", "no space left")
    run.log({"still": 1})  # training goes on
    run.finish()
    delivery = stored_alerts(run)[0]["delivery"]["webhook"]
    assert delivery["ok"] is False and delivery["attempts"] == 3
    assert "Connection refused" in delivery["error"] or "URLError" in delivery["error"]


def test_email_delivery_over_real_smtp() -> None:
    from aiosmtpd.controller import Controller

    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        run = trackline.init(
            project="a",
            settings={
                "alert_email_to": "ml@example.com,ops@example.com",
                "alert_email_from": "bot@example.com",
                "alert_smtp_host": "127.0.0.1",
                "alert_smtp_port": controller.port,
            },
        )
        run.alert("accuracy dropped", "val/acc fell below 0.5", level="WARN")
        run.finish()
    finally:
        controller.stop()
    assert len(received) == 1
    env = received[0]
    assert env.rcpt_tos == ["ml@example.com", "ops@example.com"]
    body = env.content.decode()
    assert "Subject: [trackline WARN] accuracy dropped" in body and "val/acc fell below 0.5" in body
    assert stored_alerts(run)[0]["delivery"]["email"]["ok"] is True


def test_alert_delivery_does_not_block_training() -> None:
    receiver = Receiver()
    release = threading.Event()
    handler = receiver.server.RequestHandlerClass
    orig = handler.do_POST  # type: ignore[attr-defined]

    def held_post(self: Any) -> None:
        release.wait(30)
        orig(self)

    handler.do_POST = held_post  # type: ignore[attr-defined]
    try:
        run = trackline.init(project="a", settings={"alert_webhook_url": receiver.url})
        run.alert("x", "y")
        run.log({"step_after_alert": 1})
        # alert() returned while the receiver is still holding the request.
        assert receiver.requests == []
        release.set()
        run.finish()
    finally:
        release.set()
        receiver.close()
    assert len(receiver.requests) == 1


def test_alerts_and_logs_are_listed_by_the_api() -> None:
    run = trackline.init(project="a", entity="e", settings={"console": "off"})
    run.alert("first", "one", level="WARN")
    run.write_logs("a log line")
    run.finish()
    api_run = trackline.Api().run(f"e/a/{run.id}")
    alerts = api_run.alerts
    assert [(a["title"], a["text"], a["level"], a["throttled"]) for a in alerts] == [("first", "one", "WARN", False)]
    assert [line["text"] for line in api_run.logs()] == ["a log line\n"]
    assert api_run.logs(search="nothing") == []
