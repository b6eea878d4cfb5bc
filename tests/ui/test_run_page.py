"""The run page in real Chromium: overview (state, reason, references, notes, tags, config and
summary tables), charts, system metrics, logs with search, files."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.ui.conftest import UI, Page


def open_run(page: Page, url: str) -> object:
    p = page.page
    p.goto(url)
    p.wait_for_selector('[data-testid="run-name"]')
    return p


def test_overview_shows_config_summary_references_and_metadata(ui: UI, page: Page) -> None:
    p = open_run(page, ui.run_url(0))
    assert p.get_by_test_id("run-name").inner_text() == "resnet-0"
    overview = p.get_by_test_id("overview").inner_text()
    for text in ("Finished", "Started", "Duration", "Host", "Command", "seed_ui.py", "Python", "Group", "adam", "Job type", "train"):
        assert text in overview, text
    refs = p.get_by_test_id("references").inner_text()
    assert "lr" in refs and "0.003" in refs and "optimizer" in refs and "adam" in refs
    # References sit above the notes
    assert p.get_by_test_id("references").bounding_box()["y"] <= p.get_by_label("Notes").bounding_box()["y"]
    config = p.get_by_test_id("config")
    assert "model.depth" in config.inner_text() and "50" in config.inner_text()
    summary = p.get_by_test_id("summary")
    assert "train/loss" in summary.inner_text() and "best_val_acc" in summary.inner_text()
    summary.get_by_label("Search summary").fill("val/")
    rows = summary.locator("tbody th")
    p.wait_for_function("() => [...document.querySelectorAll('[data-testid=summary] tbody th')].every(th => th.textContent.includes('val/'))")
    assert rows.count() >= 2
    assert p.get_by_label("Notes").input_value() == "the reference run"
    page.shot("run-overview")


def test_a_failed_run_shows_its_state_and_reason(ui: UI, page: Page) -> None:
    p = open_run(page, ui.run_url(5))
    reason = p.get_by_test_id("reason").inner_text()
    assert reason.startswith("failed:") and "exit code 1" in reason


@pytest.fixture
def restore_run_1(ui: UI) -> Iterator[None]:
    """Other tests read resnet-1's name: put it back after editing it."""
    yield
    url = f"{ui.url}/api/v1/projects/{ui.entity}/vision/runs/{ui.run_ids[1]}"
    httpx.patch(url, json={"name": "resnet-1", "notes": None, "tags": ["baseline"]}, timeout=30).raise_for_status()


def test_notes_and_tags_are_editable_and_saved(ui: UI, page: Page, restore_run_1: None) -> None:
    p = open_run(page, ui.run_url(1))
    notes = p.get_by_label("Notes")
    notes.fill("warmup helps")
    p.get_by_role("button", name="Save notes").click()
    p.wait_for_function("() => document.querySelector('button.primary').disabled")
    tag = p.get_by_label("Add a tag")
    tag.fill("keeper")
    tag.press("Enter")
    p.get_by_test_id("tags").get_by_text("keeper").wait_for()
    p.get_by_label("Rename run").click()
    p.get_by_label("Run name").fill("resnet-1-renamed")
    p.get_by_role("button", name="Save", exact=True).click()
    p.wait_for_function("() => document.querySelector('[data-testid=run-name]')?.innerText === 'resnet-1-renamed'")
    p.reload()
    p.wait_for_selector('[data-testid="run-name"]')
    assert p.get_by_label("Notes").input_value() == "warmup helps"
    assert "keeper" in p.get_by_test_id("tags").inner_text()
    assert p.get_by_test_id("run-name").inner_text() == "resnet-1-renamed"


def test_charts_tab_draws_the_run_and_system_tab_says_when_empty(ui: UI, page: Page) -> None:
    p = open_run(page, ui.run_url(2))
    p.get_by_role("tab", name="Charts").click()
    p.wait_for_selector('[data-testid="chart"][data-key="train/loss"][data-status="ready"]')
    assert "tab=charts" in p.url
    assert [s.get_attribute("data-section") for s in p.locator('[data-testid="section"]').all()] == ["Charts", "train", "val"]
    p.get_by_role("tab", name="System").click()
    system = p.locator('[data-testid="section"][data-section="System"]')
    empty = p.get_by_test_id("no-system")
    p.wait_for_function("() => document.querySelector('[data-testid=no-system]') || document.querySelector('[data-section=System]')")
    if system.count():  # this machine sampled system metrics during the run
        p.wait_for_selector('[data-section="System"] [data-testid="chart"][data-status="ready"]')
        assert p.locator('[data-section="System"] [data-testid="chart"]').first.get_attribute("data-x") == "_runtime"
    else:
        assert "No system metrics" in empty.inner_text()
    page.shot("run-system")


def test_logs_show_console_output_with_search(ui: UI, page: Page) -> None:
    p = open_run(page, ui.run_url(3) + "?tab=logs")
    logs = p.get_by_test_id("logs")
    logs.get_by_text("epoch done: loss").wait_for()
    assert "WARNING: learning rate schedule finished" in logs.inner_text()
    logs.get_by_label("Search logs").fill("warning")
    p.wait_for_function("() => document.querySelectorAll('[data-testid=logs] .line').length === 1")
    assert logs.locator("mark").inner_text() == "WARNING"
    p.wait_for_function("() => location.search.includes('q=warning')")
    page.shot("run-logs")


def test_files_tab_lists_run_files_with_downloads(ui: UI, page: Page) -> None:
    p = open_run(page, ui.run_url(0) + "?tab=files")
    files = p.get_by_test_id("files")
    links = files.get_by_role("link", name="Download")
    if links.count() == 0:
        assert "No files" in files.inner_text()
        return
    href = links.first.get_attribute("href")
    assert href.startswith("/api/v1/projects/") and "/files/" in href
    assert p.request.get(ui.url + href).ok


def test_a_run_keeps_its_workspace_colour_on_its_page(ui: UI, page: Page) -> None:
    p = page.page
    p.goto(ui.workspace)
    swatch = p.locator('[data-testid="runs-table"] [data-run] .swatch').nth(2)
    swatch.wait_for()
    name = p.locator('[data-testid="runs-table"] [data-run] .name').nth(2).inner_text()
    color = swatch.evaluate("e => getComputedStyle(e).borderTopColor")
    p.locator('[data-testid="runs-table"] [data-run] .name').nth(2).click()
    p.wait_for_function("() => document.querySelector('[data-testid=run-name]')")
    assert p.get_by_test_id("run-name").inner_text() == name
    p.wait_for_function(
        "c => getComputedStyle(document.querySelector('.header .dot')).backgroundColor === c", arg=color
    )
