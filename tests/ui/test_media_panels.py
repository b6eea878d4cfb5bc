"""Media panels in real Chromium over a real `trackline ui`: the image step slider and class
overlays, the table viewer's server-side sort and filter, histograms over time, players,
sandboxed HTML, point clouds and plot charts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ui.conftest import REPO, Page, media_panel, open_media, serve_seeded_run

SEED = r"""
import numpy as np, trackline
run = trackline.init(project="media-ui", name="media-run")
for step in range(3):
    img = np.zeros((16, 16, 3), dtype=np.uint8)
    img[..., step] = 255
    mask = np.zeros((16, 16), dtype=int)
    mask[:8] = 1
    run.log({
        "samples": trackline.Image(img, caption=f"caption {step}",
            masks={"pred": {"mask_data": mask, "class_labels": {0: "background", 1: "road"}}},
            boxes={"gt": {"box_data": [{"position": {"minX": 0.1, "maxX": 0.5, "minY": 0.1, "maxY": 0.5}, "class_id": 2}],
                          "class_labels": {2: "car"}}}),
        "grads": trackline.Histogram(np.random.default_rng(step).normal(step, 1, 500), num_bins=32),
        "layer.0": trackline.Histogram(np.arange(10.0)),  # a literal dot: one key, not layer -> 0
    })
n = 3000
table = trackline.Table(columns=["id", "label", "score", "thumb"])
for i in range(n):
    table.add_data(i, f"cat {i}" if i % 3 == 0 else f"dog {i}", float(i % 97), None)
table.data[0][3] = trackline.Image(np.full((4, 4, 3), 128, dtype=np.uint8))
run.log({
    "predictions": table,
    "page": trackline.Html("<p id='x'>hello from html</p><script>try{parent.document.title='owned'}catch(e){document.getElementById('x').textContent='blocked'}</script>"),
    "clip": trackline.Audio(np.sin(np.arange(4000) / 5.0), sample_rate=8000),
    "movie": trackline.Video(np.random.default_rng(0).integers(0, 255, (4, 3, 16, 16), dtype=np.uint8), format="mp4"),
    "cloud": trackline.Object3D(np.random.default_rng(1).random((200, 3))),
    "roc": trackline.plot.roc_curve([0, 1, 1, 0], [[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.6, 0.4]]),
})
run.finish()
print(run.entity, run.id)
"""


@pytest.fixture(scope="module")
def media_ui(ui_built: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_seeded_run(tmp_path_factory.mktemp("media-ui"), SEED, "media-ui") as url:
        yield url


panel = media_panel


def test_a_key_with_a_literal_dot_is_titled_as_logged(media_ui: str, page: Page) -> None:
    p = open_media(page, media_ui)
    hist = panel(p, "layer\\\\.0")  # the stored name escapes the dot
    assert hist.locator("h3").inner_text() == "layer.0"


def test_image_slider_changes_the_image_and_caption(media_ui: str, page: Page) -> None:
    p = open_media(page, media_ui)
    images = panel(p, "samples")
    img = images.locator("img").first
    p.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=img.element_handle())
    assert images.locator('[data-testid="step-value"]').inner_text() == "2"
    assert images.locator('[data-testid="caption"]').inner_text() == "caption 2"
    last_src = img.get_attribute("src")
    images.locator('[data-testid="step-slider"]').fill("0")
    assert images.locator('[data-testid="step-value"]').inner_text() == "0"
    assert images.locator('[data-testid="caption"]').inner_text() == "caption 0"
    assert img.get_attribute("src") != last_src and "samples_0_" in img.get_attribute("src")
    p.wait_for_function("el => el.complete && el.naturalWidth === 16", arg=img.element_handle())
    red = p.evaluate(
        """el => { const c = document.createElement('canvas'); c.width = 16; c.height = 16;
                   const x = c.getContext('2d'); x.drawImage(el, 0, 0); return Array.from(x.getImageData(8, 8, 1, 1).data); }""",
        img.element_handle(),
    )
    assert red[:3] == [255, 0, 0]  # step 0 is the red image


def test_masks_and_boxes_toggle_by_class(media_ui: str, page: Page) -> None:
    p = open_media(page, media_ui)
    images = panel(p, "samples")
    assert images.locator('[data-testid="mask-overlay"]').count() == 1
    box = images.locator('[data-testid="box"]')
    box.first.wait_for()
    assert box.count() == 1
    toggles = images.locator('[data-testid="class-toggles"] input')
    assert toggles.count() == 3  # background, road, car
    images.locator('[data-testid="class-toggles"] input[data-class="2"]').uncheck()
    assert box.count() == 0
    images.locator('[data-testid="class-toggles"] input[data-class="2"]').check()
    assert box.count() == 1


def test_table_viewer_sorts_filters_and_virtualises(media_ui: str, page: Page) -> None:
    p = open_media(page, media_ui)
    viewer = panel(p, "predictions").locator('[data-testid="table-viewer"]')
    p.wait_for_function("() => document.querySelector('[data-testid=table-viewer]').dataset.total === '3000'")
    rows = viewer.locator('[data-testid="table-row"]')
    assert rows.count() < 100  # only the rows around the viewport are in the DOM
    first_cell = lambda: rows.first.locator('[data-testid="table-cell"]').first.inner_text()  # noqa: E731
    p.wait_for_function("() => document.querySelector('[data-testid=table-row]')?.textContent.includes('cat 0')")
    assert viewer.locator('[data-testid="table-cell"] img').count() == 1  # the media cell
    viewer.locator('[data-testid="table-header"][data-col="id"]').click()
    viewer.locator('[data-testid="table-header"][data-col="id"]').click()  # descending
    p.wait_for_function("() => document.querySelector('[data-testid=table-row]')?.textContent.includes('2999')")
    assert first_cell() == "2999"
    viewer.locator('[data-testid="table-filter"]').fill("CAT 299")  # case-insensitive, on the server
    p.wait_for_function("() => document.querySelector('[data-testid=table-viewer]').dataset.matched === '3'")
    p.wait_for_function("() => document.querySelectorAll('[data-testid=table-row]').length === 3")
    labels = [rows.nth(i).locator('[data-testid="table-cell"]').nth(1).inner_text() for i in range(rows.count())]
    assert labels == ["cat 2997", "cat 2994", "cat 2991"]  # still sorted by id, descending
    assert "3 of 3,000 rows" in viewer.inner_text()


def test_histogram_panel_renders_steps(media_ui: str, page: Page) -> None:
    p = open_media(page, media_ui)
    hist = panel(p, "grads").locator('[data-testid="histogram-panel"]')
    assert hist.get_attribute("data-steps") == "3"
    assert hist.locator('[data-testid="histogram-bars"] rect').count() == 32
    painted = p.evaluate(
        """el => { const d = el.getContext('2d').getImageData(0, 0, el.width, el.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""",
        hist.locator("canvas").element_handle(),
    )
    assert painted > 100


def test_players_html_point_cloud_and_chart(media_ui: str, page: Page) -> None:
    p = open_media(page, media_ui)
    audio = panel(p, "clip").locator("audio")
    assert "/media/file/media/audio/clip_" in audio.get_attribute("src")
    assert panel(p, "movie").locator("video").count() == 1
    frame_el = panel(p, "page").locator("iframe")
    sandbox = frame_el.get_attribute("sandbox")
    assert "allow-scripts" in sandbox and "allow-same-origin" not in sandbox
    frame = frame_el.element_handle().content_frame()
    frame.wait_for_selector("#x")
    frame.wait_for_function("() => document.getElementById('x').textContent === 'blocked'")
    assert p.title() != "owned"
    cloud = panel(p, "cloud").locator('[data-testid="point-cloud"]')
    p.wait_for_function("() => document.querySelector('[data-testid=point-cloud]').dataset.points === '200'")
    chart = panel(p, "roc").locator('[data-testid="plot-chart"]')
    assert chart.get_attribute("data-spec") == "wandb/area-under-curve/v0"
    chart.locator('[data-testid="chart-line"]').first.wait_for()
    assert chart.locator('[data-testid="chart-line"]').count() == 2  # one curve per class
    assert panel(p, "roc_table").count() == 0  # the chart's table is not listed twice
    assert cloud.count() == 1


_ = REPO


def test_workspace_shows_media_per_run(media_ui: str, page: Page) -> None:
    p = page.page
    p.goto(media_ui.split("/runs/")[0])
    p.wait_for_selector('[data-testid="workspace-media"][data-loaded="true"]')
    keys = p.locator('[data-testid="workspace-media-key"]')
    names = [keys.nth(i).get_attribute("data-key") for i in range(keys.count())]
    assert {"samples", "grads", "predictions", "roc"} <= set(names) and "roc_table" not in names
    cell = p.locator('[data-testid="workspace-media-key"][data-key="samples"] [data-testid="workspace-media-cell"]')
    assert cell.count() == 1 and "media-run" in cell.inner_text()
    assert "samples_2_" in cell.locator("img").first.get_attribute("src")  # the latest step first
