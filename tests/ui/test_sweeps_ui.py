"""Sweep pages in real Chromium: the project's sweeps list, one sweep's parallel-coordinates chart
and its sortable runs table, and a not-found page for an unknown sweep id. The store is seeded
through the SDK (``trackline.sweep`` + ``trackline.agent``), as a user would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.ui.conftest import Page, serve_seeded

SEED = r"""
import trackline

def train():
    run = trackline.init()
    run.log({"loss": (run.config.lr - 0.01) ** 2 + run.config.depth})
    run.finish()

sid = trackline.sweep({
    "method": "grid",
    "metric": {"name": "loss", "goal": "minimize"},
    "parameters": {"lr": {"values": [0.001, 0.01, 0.1]}, "depth": {"values": [2, 4]}},
}, project="sw")
trackline.agent(sid, function=train, count=6)
print(sid)
"""


@dataclass
class SweepUI:
    url: str
    entity: str
    sweep_id: str
    best_run: str  # lr 0.01, depth 2

    def page_url(self, path: str = "") -> str:
        return f"{self.url}/{self.entity}/sw{path}"


@pytest.fixture(scope="module")
def sweep_ui(ui_built: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SweepUI]:
    with serve_seeded(tmp_path_factory.mktemp("sweep-ui"), SEED) as (url, sweep_id):
        projects = httpx.get(url + "/api/v1/projects", timeout=30).json()["projects"]
        entity = next(p["entity"] for p in projects if p["name"] == "sw")
        detail = httpx.get(f"{url}/api/v1/projects/{entity}/sw/sweeps/{sweep_id}", timeout=30).json()
        best = next(r["id"] for r in detail["runs"] if r["params"]["lr"] == 0.01 and r["params"]["depth"] == 2)
        yield SweepUI(url=url, entity=entity, sweep_id=sweep_id, best_run=best)


def test_project_nav_links_to_the_sweeps_list(sweep_ui: SweepUI, page: Page) -> None:
    p: Any = page.page
    p.goto(sweep_ui.page_url())
    p.get_by_role("link", name="Sweeps", exact=True).click()
    p.wait_for_url(re.compile(r"/sw/sweeps$"))
    table = p.get_by_test_id("sweeps-table")
    table.wait_for()
    row = p.locator(f'[data-sweep="{sweep_ui.sweep_id}"]')
    assert row.count() == 1
    text = row.inner_text()
    assert "grid" in text and "loss" in text
    assert row.get_by_test_id("sweep-runs").inner_text().replace(" ", "") == "6/6"
    assert "2" in row.locator("a.best").inner_text()  # the best loss: (0.01 - 0.01)**2 + 2
    page.shot("sweeps-list")
    row.get_by_role("link", name=re.compile(sweep_ui.sweep_id)).first.click()
    p.wait_for_url(re.compile(rf"/sw/sweeps/{sweep_ui.sweep_id}$"))
    p.get_by_test_id("parallel-coords").wait_for()


def test_sweep_page_draws_parallel_coordinates_and_a_sortable_runs_table(sweep_ui: SweepUI, page: Page) -> None:
    p: Any = page.page
    p.goto(sweep_ui.page_url(f"/sweeps/{sweep_ui.sweep_id}"))
    chart = p.get_by_test_id("parallel-coords")
    chart.wait_for()
    assert "6 / 6 runs" in p.get_by_test_id("sweep-counts").inner_text()

    # one axis per parameter, then the metric; one line per run, the best one drawn last (on top)
    axes = chart.locator("g.axis").evaluate_all("gs => gs.map(g => g.dataset.axis)")
    assert sorted(axes[:-1]) == ["depth", "lr"] and axes[-1] == "loss", axes
    lines = chart.locator("polyline.pc-line")
    assert lines.count() == 6
    assert lines.nth(5).get_attribute("data-run") == sweep_ui.best_run
    assert "best" in (lines.nth(5).get_attribute("class") or "")
    # the grid's categorical-looking values are numbers: numeric axes with their min and max as ticks
    lr_axis = chart.locator('g.axis[data-axis="lr"]')
    assert lr_axis.get_attribute("data-kind") == "linear"
    assert {"0.001", "0.1"} <= set(lr_axis.locator("text.tick-label").all_text_contents())

    # hovering a line shows the run's values
    box = chart.bounding_box()
    pts = [tuple(map(float, xy.split(","))) for xy in (lines.nth(5).get_attribute("points") or "").split()]
    x, y = (pts[0][0] + pts[1][0]) / 2, (pts[0][1] + pts[1][1]) / 2
    p.mouse.move(box["x"] + x, box["y"] + y)
    tip = p.get_by_test_id("pc-tooltip")
    tip.wait_for()
    assert "best" in tip.inner_text() and "0.01" in tip.inner_text()
    assert p.locator(f'tr[data-run="{sweep_ui.best_run}"].hot').count() == 1
    page.shot("sweep-hover")
    p.mouse.move(box["x"] + 2, box["y"] + 2)
    tip.wait_for(state="detached")

    # the table: six runs, lowest loss first (the goal), the best one marked
    table = p.get_by_test_id("sweep-runs")
    rows = table.locator("tbody tr")
    assert rows.count() == 6
    assert rows.first.get_attribute("data-run") == sweep_ui.best_run
    assert rows.first.get_attribute("data-best") == "true"
    assert "best" in rows.first.inner_text()
    assert table.locator('tr[data-best="true"]').count() == 1
    headers = table.locator("thead th").all_inner_texts()
    assert [h.strip(" ↑↓") for h in headers[2:]] == [*axes[:-1], "loss"], headers
    loss_th = table.locator('th[data-col="metric"]')
    assert loss_th.get_attribute("aria-sort") == "ascending"

    def losses() -> list[float]:
        return [float(t) for t in table.locator("tbody td.metric").all_inner_texts()]

    assert losses() == sorted(losses())
    page.shot("sweep-page")
    loss_th.locator("button").click()
    assert loss_th.get_attribute("aria-sort") == "descending"
    assert losses() == sorted(losses(), reverse=True)
    assert rows.last.get_attribute("data-run") == sweep_ui.best_run
    table.locator('th[data-col="lr"] button').click()
    lrs = [float(t) for t in table.locator('tbody td:nth-child(' + str(3 + axes.index("lr")) + ')').all_inner_texts()]
    assert lrs == sorted(lrs)

    # the config as YAML, and the run links lead to the run pages
    config = p.get_by_test_id("sweep-config").inner_text()
    assert "method: grid" in config and "values: [0.001, 0.01, 0.1]" in config
    table.locator(f'tr[data-run="{sweep_ui.best_run}"] td.name a').click()
    p.wait_for_url(re.compile(rf"/sw/runs/{sweep_ui.best_run}$"))


def test_run_page_links_back_to_its_sweep(sweep_ui: SweepUI, page: Page) -> None:
    p: Any = page.page
    p.goto(sweep_ui.page_url(f"/sweeps/{sweep_ui.sweep_id}"))
    heading = p.get_by_test_id("sweep-name")
    heading.wait_for()
    title = heading.inner_text().strip()
    assert title
    # follow a run link from the sweep's runs table to that run's page
    link = p.get_by_test_id("sweep-runs").locator("tbody tr").nth(1).locator("td.name a")
    run_id = link.get_attribute("href").rsplit("/", 1)[-1]
    link.click()
    p.wait_for_url(re.compile(rf"/sw/runs/{run_id}$"))
    overview = p.get_by_test_id("overview")
    overview.wait_for()
    sweep_row = overview.get_by_test_id("run-sweep")
    sweep_row.wait_for()
    assert sweep_row.inner_text().strip() == sweep_ui.sweep_id
    assert overview.locator("dt", has_text=re.compile(r"^Sweep$")).count() == 1
    sweep_link = sweep_row.get_by_role("link", name=sweep_ui.sweep_id, exact=True)
    assert sweep_link.get_attribute("href") == f"/{sweep_ui.entity}/sw/sweeps/{sweep_ui.sweep_id}"
    page.shot("run-page-sweep-row")
    # the link navigates in place (no full reload): a marker on window survives the click
    p.evaluate("window.__sameDocument = true")
    sweep_link.click()
    p.wait_for_url(re.compile(rf"/sw/sweeps/{sweep_ui.sweep_id}$"))
    heading.wait_for()
    assert heading.inner_text().strip() == title
    p.get_by_test_id("parallel-coords").wait_for()
    assert p.evaluate("window.__sameDocument") is True


def test_unknown_sweep_says_not_found(sweep_ui: SweepUI, page: Page) -> None:
    p: Any = page.page
    p.goto(sweep_ui.page_url("/sweeps/nosuchsweep"))
    box = p.get_by_test_id("sweep-not-found")
    box.wait_for()
    assert "Sweep not found" in box.inner_text() and "nosuchsweep" in box.inner_text()
    assert box.get_by_role("link", name="See the project's sweeps").get_attribute("href").endswith("/sw/sweeps")
    # the browser logs the API's 404 itself; any other console error still fails the test
    page.errors[:] = [e for e in page.errors if "status of 404" not in e]


def test_project_without_sweeps_shows_how_to_make_one(sweep_ui: SweepUI, page: Page) -> None:
    p: Any = page.page
    p.goto(f"{sweep_ui.url}/{sweep_ui.entity}/empty-project/sweeps")
    empty = p.get_by_test_id("sweeps-empty")
    empty.wait_for()
    assert "No sweeps in this project yet" in empty.inner_text()
    assert "trackline.sweep(" in empty.inner_text()
