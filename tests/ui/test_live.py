"""Live updates in real Chromium: a running run's charts grow through `since` polls."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.ui.conftest import REPO, UI, Page


def test_running_runs_update_live_with_since_cursors(ui: UI, page: Page, tmp_path: Path) -> None:
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "ui" / "live_writer.py"), str(stop)],
        cwd=ui.work, env=ui.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        p = page.page
        polls: list[dict] = []
        run_reads: list[str] = []
        p.on("request", lambda r: "/runs?" in r.url and run_reads.append(r.url))
        p.on("request", lambda r: r.url.endswith("/series") and r.method == "POST"
             and "since" in (body := json.loads(r.post_data)) and polls.append(body))
        # the run appears in the store once its first batch is indexed
        keys_url = f"{ui.url}/api/v1/projects/{ui.entity}/live/keys"
        for _ in range(300):
            r = httpx.get(keys_url, timeout=10)
            if r.status_code == 200 and any(k["name"] == "train/loss" for k in r.json()["keys"]):
                break
            time.sleep(0.1)
        p.goto(f"{ui.url}/{ui.entity}/live")
        p.wait_for_selector('[data-testid="chart"][data-key="train/loss"][data-status="ready"]')
        p.get_by_text("● live").wait_for()
        chart = '[data-testid=chart][data-key="train/loss"]'
        first = int(p.locator(chart).get_attribute("data-points"))
        p.wait_for_function(f"() => parseInt(document.querySelector('{chart}').dataset.points) > {first}", timeout=20_000)
        assert polls, "no live poll with `since` was sent"
        assert all(set(b["since"]) <= set(b["runs"]) for b in polls)
        assert all(isinstance(v, int) for b in polls for v in b["since"].values())
        # the table re-reads only the running runs; when the run ends, live mode ends with it
        assert any("filters=" in u and "%24in" in u for u in run_reads), run_reads
        stop.touch()
        writer.wait(timeout=60)
        assert writer.returncode == 0, writer.stderr.read() if writer.stderr else ""
        p.get_by_text("● live").wait_for(state="detached", timeout=20_000)
        assert p.locator('[data-testid="runs-table"] [data-run]').first.get_by_text("Finished").count() == 1
    finally:
        stop.touch()
        if writer.poll() is None:
            writer.wait(timeout=60)
