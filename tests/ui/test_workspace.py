"""The project workspace in real Chromium: sections, charts with data, synced hover, zoom that
refetches the window, filters and grouping that change the table and the charts, the URL."""

from __future__ import annotations

import json
import shutil
from typing import Any

from tests.ui.conftest import REPO, STEPS, UI, UPDATE_SCREENSHOTS, Page


def open_workspace(page: Page, url: str) -> Any:
    p = page.page
    p.goto(url)
    p.wait_for_selector('[data-testid="chart"][data-key="train/loss"][data-status="ready"]')
    return p


def chart(p: Any, key: str) -> Any:
    return p.locator(f'[data-testid="chart"][data-key="{key}"]')


def series_requests(p: Any) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    p.on("request", lambda r: r.url.endswith("/series") and r.method == "POST" and got.append(json.loads(r.post_data)))
    return got


def test_workspace_shows_sections_and_charts_with_data(ui: UI, page: Page) -> None:
    p = open_workspace(page, ui.workspace)
    sections = p.locator('[data-testid="section"]')
    assert [sections.nth(i).get_attribute("data-section") for i in range(sections.count())] == [
        "Charts", "train", "val"
    ]
    loss = chart(p, "train/loss")
    assert int(loss.get_attribute("data-points")) == 6 * STEPS  # every point of all six runs, bucketed
    assert loss.locator("canvas").count() == 1
    assert p.get_by_test_id("run-count").inner_text() == "6 runs"
    assert p.locator('[data-testid="runs-table"] [data-run]').count() == 6
    for key in ("epoch", "grad_norm", "train/acc"):
        p.wait_for_selector(f'[data-testid="chart"][data-key="{key}"][data-status="ready"]')
    shot = page.shot("workspace")
    if UPDATE_SCREENSHOTS:
        (REPO / "docs" / "screenshots").mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, REPO / "docs" / "screenshots" / "workspace.png")
    val = chart(p, "val/loss")
    val.scroll_into_view_if_needed()
    p.wait_for_selector('[data-testid="chart"][data-key="val/loss"][data-status="ready"]')
    assert val.get_attribute("data-x") == "epoch"  # define_metric("val/*", step_metric="epoch")
    assert int(val.get_attribute("data-points")) == 6 * (STEPS // 200)


def test_a_spike_survives_bucketing_as_the_band_top(ui: UI, page: Page) -> None:
    p = open_workspace(page, ui.workspace + "?q=resnet-0$")
    # one run, 2000 steps in ~512 buckets: the spike at step 1234 is no bucket's last value,
    # but the y-axis reaches it because the min/max band is drawn
    p.wait_for_selector('[data-testid="chart"][data-key="train/loss"][data-y-range]')
    top = float(chart(p, "train/loss").get_attribute("data-y-range").split(":")[1])
    assert top >= 3.0, top
    p.get_by_label("Min/max").uncheck()  # without the band, only bucket last values are drawn
    p.wait_for_function(
        "() => parseFloat(document.querySelector('[data-testid=chart][data-key=\"train/loss\"]').dataset.yRange.split(':')[1]) < 3"
    )


def test_charts_mount_only_when_visible(ui: UI, page: Page) -> None:
    p = page.page
    p.set_viewport_size({"width": 1440, "height": 500})
    p.goto(ui.workspace + "?sec=Charts")  # collapse the first section; train/* fills the screen
    p.wait_for_selector('[data-testid="chart"][data-key="train/acc"][data-status="ready"]')
    far = chart(p, "val/loss")
    assert far.get_attribute("data-status") == "idle"
    assert far.locator("canvas").count() == 0
    far.scroll_into_view_if_needed()
    p.wait_for_selector('[data-testid="chart"][data-key="val/loss"][data-status="ready"]')
    assert far.locator("canvas").count() == 1


def test_hover_on_one_chart_moves_the_cursor_on_the_others(ui: UI, page: Page) -> None:
    p = open_workspace(page, ui.workspace)
    p.wait_for_selector('[data-testid="chart"][data-key="train/acc"][data-status="ready"]')
    acc = chart(p, "train/acc")
    assert acc.get_attribute("data-cursor") in (None, "")
    box = chart(p, "train/loss").locator(".u-over").bounding_box()
    p.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    p.wait_for_function(
        "() => document.querySelector('[data-testid=chart][data-key=\"train/acc\"]').dataset.cursor !== ''"
    )
    assert chart(p, "train/loss").locator(".tip").is_visible()  # the hovered chart shows values
    assert acc.locator(".tip").count() == 0  # the others only move their cursor
    assert "resnet-" in chart(p, "train/loss").locator(".tip").inner_text()
    page.shot("hover")


def test_drag_zoom_refetches_the_window_at_full_resolution(ui: UI, page: Page) -> None:
    p = open_workspace(page, ui.workspace)
    sent = series_requests(p)
    over = chart(p, "train/loss").locator(".u-over")
    box = over.bounding_box()
    y = box["y"] + box["height"] / 2
    p.mouse.move(box["x"] + box["width"] * 0.40, y)
    p.mouse.down()
    p.mouse.move(box["x"] + box["width"] * 0.45, y, steps=5)
    p.mouse.up()
    p.wait_for_selector('[data-testid="chart"][data-key="train/loss"][data-window]:not([data-window=""])')
    p.wait_for_selector('[data-testid="chart"][data-key="train/loss"][data-status="ready"]')
    windowed = [r for r in sent if r.get("x_min") is not None]
    assert windowed, sent
    lo, hi = windowed[-1]["x_min"], windowed[-1]["x_max"]
    assert 0.3 * STEPS < lo < hi < 0.55 * STEPS
    assert "zoom=_step" in p.url
    # the same window comes back at full resolution: one entry per step
    ans = p.evaluate(
        """async ([runs, lo, hi]) => (await (await fetch(location.pathname.replace(/^\\/([^/]+)\\/([^/]+).*/, '/api/v1/projects/$1/$2/series'),
            {method: 'POST', headers: {'content-type': 'application/json'},
             body: JSON.stringify({runs, keys: ['train/loss'], x_min: lo, x_max: hi, buckets: 512})})).json())""",
        [windowed[-1]["runs"], lo, hi],
    )
    assert all(s["exact"] for s in ans["series"])
    page.shot("zoomed")
    p.get_by_role("button", name="Reset zoom").click()
    p.wait_for_selector('[data-testid="chart"][data-key="train/loss"][data-window=""]')
    assert "zoom=" not in p.url


def test_a_filter_narrows_the_table_and_the_charts(ui: UI, page: Page) -> None:
    p = open_workspace(page, ui.workspace)
    sent = series_requests(p)
    box = p.get_by_label("Add a filter")
    box.fill("config.lr >= 0.001")
    box.press("Enter")
    p.wait_for_function("() => document.querySelector('[data-testid=run-count]').innerText === '4 of 6 runs'")
    assert p.locator('[data-testid="runs-table"] [data-run]').count() == 4
    p.wait_for_function("() => document.querySelector('[data-testid=chart][data-key=\"train/loss\"]').dataset.status === 'ready'")
    assert sent and len(sent[-1]["runs"]) == 4
    assert int(chart(p, "train/loss").get_attribute("data-points")) == 4 * STEPS
    assert "f=config.lr" in p.url
    # a filter that cannot be read says how to write one
    box.fill("config.lr")
    box.press("Enter")
    assert "write <field> <op> <value>" in p.get_by_role("alert").inner_text()
    p.get_by_label("Remove filter config.lr >= 0.001").click()
    p.wait_for_function("() => document.querySelector('[data-testid=run-count]').innerText === '6 runs'")


def test_grouping_changes_the_table_and_draws_group_means(ui: UI, page: Page) -> None:
    p = open_workspace(page, ui.workspace)
    p.get_by_label("Group by").select_option("config.optimizer")
    rows = p.locator('[data-testid="runs-table"] .row.group')
    p.wait_for_function("() => document.querySelectorAll('[data-testid=runs-table] .row.group').length === 2")
    assert sorted(rows.nth(i).locator(".glabel").inner_text() for i in range(2)) == ["adam", "sgd"]
    assert p.locator('[data-testid="runs-table"] [data-run]').count() == 0  # groups start folded
    rows.nth(0).locator(".gname").click()
    assert p.locator('[data-testid="runs-table"] [data-run]').count() == 3
    p.wait_for_function("() => document.querySelector('[data-testid=chart][data-key=\"train/loss\"]').dataset.status === 'ready'")
    over = chart(p, "train/loss").locator(".u-over")
    box = over.bounding_box()
    p.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
    tip = chart(p, "train/loss").locator(".tip")
    tip.wait_for()
    text = tip.inner_text()
    assert "adam (3)" in text and "sgd (3)" in text  # one mean line per group
    assert "group=config.optimizer" in p.url
    page.shot("grouped")


def test_sort_hide_and_the_url_reproduce_the_view(ui: UI, page: Page) -> None:
    p = open_workspace(page, ui.workspace)
    names = p.locator('[data-testid="runs-table"] [data-run] .name')
    p.get_by_role("columnheader", name="Name").click()
    p.wait_for_function("() => document.querySelector('[data-testid=runs-table] [data-run] .name').innerText === 'resnet-0'")
    assert [names.nth(i).inner_text() for i in range(6)] == [f"resnet-{i}" for i in range(6)]
    p.locator('[data-testid="runs-table"] [data-run]').nth(1).get_by_label("Hide run").click()
    p.get_by_label("Smoothing").fill("0.6")
    p.get_by_label("Smoothing").dispatch_event("change")
    p.get_by_label("X axis").select_option("_runtime")
    url = p.url
    assert "sort=name" in url and "hide=" in url and "smooth=0.6" in url and "x=_runtime" in url
    # a fresh page at that URL shows the same view
    p.goto(url)
    p.wait_for_selector('[data-testid="chart"][data-key="train/loss"][data-status="ready"]')
    assert chart(p, "train/loss").get_attribute("data-x") == "_runtime"
    assert p.get_by_label("X axis").input_value() == "_runtime"
    assert p.get_by_label("Smoothing").input_value() == "0.6"
    assert names.nth(0).inner_text() == "resnet-0"
    assert p.locator('[data-testid="runs-table"] [data-run]').nth(1).get_by_label("Show run").count() == 1


def test_projects_page_lists_projects_and_links_to_workspaces(ui: UI, page: Page) -> None:
    p = page.page
    p.goto(ui.url)
    link = p.get_by_role("link", name="vision", exact=True)
    rows = p.get_by_test_id("projects").locator("tbody tr")
    assert "6" in rows.filter(has=link).inner_text()  # its run count
    link.click()
    p.wait_for_selector('[data-testid="chart"]')
    assert p.url == ui.workspace


def test_dark_mode_follows_the_system(ui: UI, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme="dark")
    try:
        dark = Page(context.new_page(), "workspace-dark")
        p = open_workspace(dark, ui.workspace)
        bg = p.evaluate("() => getComputedStyle(document.body).backgroundColor")
        r, g, b = (int(v) for v in bg[bg.index("(") + 1 : bg.index(")")].split(",")[:3])
        assert r + g + b < 150, bg
        dark.shot()
        assert dark.errors == []
    finally:
        context.close()


def test_keyboard_slash_focuses_search_and_arrows_walk_the_table(ui: UI, page: Page) -> None:
    p = open_workspace(page, ui.workspace)
    p.keyboard.press("/")
    assert p.evaluate("() => document.activeElement.getAttribute('aria-label')") == "Search runs"
    p.keyboard.type("resnet-[12]")
    p.wait_for_function("() => document.querySelector('[data-testid=run-count]').innerText === '2 of 6 runs'")
    first = p.locator('[data-testid="runs-table"] [data-run] .name').first
    first.focus()
    p.keyboard.press("ArrowDown")
    p.wait_for_function("() => document.activeElement.closest('[data-index]')?.dataset.index === '1'")
    assert p.evaluate("() => document.activeElement.innerText") == "resnet-1"  # newest first
    p.keyboard.press("Enter")  # the name is a link: Enter opens the run
    p.wait_for_selector('[data-testid="run-name"]')
    assert p.get_by_test_id("run-name").inner_text() == "resnet-1"
