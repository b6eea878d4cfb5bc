"""``run.alert()``: levels, throttling, and delivery to a webhook and e-mail.

Every alert is a record (so it is stored and listed even when delivery fails). An
alert whose title was already sent within ``wait_duration`` is recorded as throttled and
not delivered again (W&B's server does the same). Delivery runs on a background thread
with retries; its outcome is written back to the record log as an ``ALERT_STATUS``
record, so a failed delivery is visible in the API and the UI, and never raised into
training.

Notifiers come from settings (or ``TRACKLINE_ALERT_*`` environment variables):

* ``alert_webhook_url``: JSON POST, Slack-compatible (``{"text": ..., "attachments": [...]}``);
* ``alert_email_to`` (comma-separated), ``alert_email_from``, ``alert_smtp_host``,
  ``alert_smtp_port``; the SMTP user and password come only from the environment
  (``TRACKLINE_SMTP_USER``, ``TRACKLINE_SMTP_PASSWORD``) and are never logged.
"""

from __future__ import annotations

import datetime
import enum
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

log = logging.getLogger("trackline.alerts")

_LEVEL_COLORS = {"INFO": "#2eb67d", "WARN": "#ecb22e", "ERROR": "#e01e5a"}


class AlertLevel(str, enum.Enum):
    """Severity of an alert (W&B: ``wandb.AlertLevel``)."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


def normalize_level(level: Any) -> str:
    if level is None:
        return "INFO"
    if isinstance(level, AlertLevel):
        return level.value
    if isinstance(level, str) and level in AlertLevel.__members__:
        return level
    raise ValueError("level must be one of 'INFO', 'WARN', or 'ERROR'")


def wait_ms(wait_duration: Any) -> int:
    """Seconds (int/float) or a timedelta -> milliseconds; default one minute."""
    if wait_duration is None:
        return 60_000
    if isinstance(wait_duration, datetime.timedelta):
        return int(wait_duration.total_seconds() * 1000)
    if isinstance(wait_duration, (int, float)) and not isinstance(wait_duration, bool):
        return int(wait_duration * 1000)
    raise TypeError(
        "wait_duration must be an int, a float (seconds) or a datetime.timedelta, "
        f"not {type(wait_duration).__name__}"
    )


class Throttle:
    """Remembers when each title was last sent."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._sent: dict[str, float] = {}
        self._clock = clock
        self._lock = threading.Lock()

    def allow(self, title: str, window_ms: int) -> bool:
        now = self._clock()
        with self._lock:
            last = self._sent.get(title)
            if last is not None and (now - last) * 1000 < window_ms:
                return False
            self._sent[title] = now
            return True


def slack_payload(run_name: str | None, run_url: str | None, alert: dict[str, Any]) -> dict[str, Any]:
    title = alert["title"]
    fields = [{"title": "Level", "value": alert["level"], "short": True}]
    if run_name:
        fields.append({"title": "Run", "value": run_name, "short": True})
    attachment: dict[str, Any] = {
        "fallback": f"{title}: {alert['text']}",
        "color": _LEVEL_COLORS.get(alert["level"], "#888888"),
        "title": title,
        "text": alert["text"],
        "fields": fields,
        "ts": int(alert["ts"]),
    }
    if run_url:
        attachment["title_link"] = run_url
    return {"text": f"[{alert['level']}] {title}", "attachments": [attachment]}


class AlertDispatcher:
    """Delivers alerts off the training thread; reports each outcome through ``report``."""

    def __init__(
        self,
        webhook_url: str | None,
        email_to: list[str],
        email_from: str | None,
        smtp_host: str | None,
        smtp_port: int,
        report: Callable[[int, dict[str, Any]], None],
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 10.0,
    ) -> None:
        self.webhook_url = webhook_url
        self.email_to = email_to
        self.email_from = email_from or "trackline@localhost"
        self.smtp_host = smtp_host
        self.smtp_port = smtp_port
        self.report = report
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self._queue: queue.Queue[tuple[int, dict[str, Any], str | None, str | None] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url or (self.email_to and self.smtp_host))

    def submit(self, seq: int, alert: dict[str, Any], run_name: str | None, run_url: str | None) -> None:
        if not self.enabled:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="trackline-alerts", daemon=True)
            self._thread.start()
        self._queue.put((seq, alert, run_name, run_url))

    def close(self, timeout: float = 30.0) -> None:
        """Deliver what is queued (bounded), then stop."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            seq, alert, run_name, run_url = item
            outcome: dict[str, Any] = {}
            if self.webhook_url:
                payload = slack_payload(run_name, run_url, alert)
                outcome["webhook"] = self._attempt(partial(self._post, payload))
            if self.email_to and self.smtp_host:
                outcome["email"] = self._attempt(partial(self._mail, alert, run_name, run_url))
            try:
                self.report(seq, outcome)
            except Exception as exc:  # the run may be finishing; never crash this thread
                log.debug("could not record alert delivery: %s", exc)
            for channel, result in outcome.items():
                if not result["ok"]:
                    log.warning("trackline: alert %r was not delivered by %s: %s", alert["title"], channel, result["error"])

    def _attempt(self, send: Callable[[], None]) -> dict[str, Any]:
        error = ""
        for attempt in range(1, self.retries + 1):
            try:
                send()
                return {"ok": True, "attempts": attempt, "error": None, "ts": time.time()}
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                if attempt < self.retries:
                    time.sleep(self.backoff * 2 ** (attempt - 1))
        return {"ok": False, "attempts": self.retries, "error": error, "ts": time.time()}

    def _post(self, payload: dict[str, Any]) -> None:
        import urllib.request

        assert self.webhook_url is not None
        req = urllib.request.Request(
            self.webhook_url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "trackline"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            if resp.status >= 300:
                raise OSError(f"webhook answered HTTP {resp.status}")

    def _mail(self, alert: dict[str, Any], run_name: str | None, run_url: str | None) -> None:
        import smtplib
        from email.message import EmailMessage

        assert self.smtp_host is not None
        msg = EmailMessage()
        msg["Subject"] = f"[trackline {alert['level']}] {alert['title']}"
        msg["From"] = self.email_from
        msg["To"] = ", ".join(self.email_to)
        body = [alert["text"], ""]
        if run_name:
            body.append(f"Run: {run_name}")
        if run_url:
            body.append(f"View: {run_url}")
        msg.set_content("\n".join(body))
        with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=self.timeout) as smtp:
            user = os.environ.get("TRACKLINE_SMTP_USER")
            password = os.environ.get("TRACKLINE_SMTP_PASSWORD")
            if user and password:
                smtp.starttls()
                smtp.login(user, password)
            smtp.send_message(msg)
