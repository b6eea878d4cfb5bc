"""Many 3D panels on one page: a workspace of 6 runs x 4 Object3D keys (24 three.js views,
more than the ~16 WebGL contexts Chrome keeps) draws every one of them and loses no
context; orbiting one view and moving its step slider leave the others as they were."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.ui.conftest import Page, serve_seeded_run
from tests.ui.test_media_3d_plotly import PIXELS, cube, tetrahedron, write_glb, write_obj, write_stl
from tests.unit.data_types.gltf_files import write_textured_gltf

RUNS = 6
KEYS = ("a_glb", "b_obj", "c_stl", "d_gltf")

SEED = r"""
import sys, trackline
files = sys.argv[1]
for i in range(6):
    run = trackline.init(project="media-3d-many", name=f"shapes-{i}")
    for step, obj in enumerate(("tetra.obj", "cube.obj")):
        run.log({"a_glb": trackline.Object3D(files + "/cube.glb"), "b_obj": trackline.Object3D(files + "/" + obj),
                 "c_stl": trackline.Object3D(files + "/cube.stl"),
                 "d_gltf": trackline.Object3D(files + "/textured/textured.gltf")})
    run.finish()
print(run.entity, run.id)
"""

# Counts the WebGL contexts the page makes (in the page or offscreen) and the ones it loses.
WATCH_WEBGL = """(() => {
  const gl = (window.__webgl = { contexts: 0, lost: 0 });
  const get = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
    const ctx = get.call(this, kind, ...rest);
    if (ctx && String(kind).startsWith('webgl') && !this.__webglSeen) {
      this.__webglSeen = true;
      gl.contexts++;
      this.addEventListener('webglcontextlost', () => gl.lost++);
    }
    return ctx;
  };
})()"""


@pytest.fixture(scope="module")
def many_3d_ui(ui_built: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("media-3d-many")
    files = base / "files"
    files.mkdir()
    write_glb(files / "cube.glb", cube(), [0.9, 0.35, 0.1, 1.0])
    write_obj(files / "cube.obj", cube())
    write_obj(files / "tetra.obj", tetrahedron())
    write_stl(files / "cube.stl", cube())
    write_textured_gltf(files / "textured")
    with serve_seeded_run(base, SEED, "media-3d-many", str(files)) as url:
        yield url.split("/runs/")[0]  # the project's workspace


def open_workspace(page: Page, url: str, warnings: list[str]) -> Any:
    p = page.page
    p.set_default_timeout(60_000)  # 24 views, three.js compiling its shaders in software
    p.add_init_script(WATCH_WEBGL)
    p.on("console", lambda m: warnings.append(m.text))
    p.goto(url)
    p.wait_for_selector('[data-testid="workspace-media"][data-loaded="true"]')
    p.wait_for_function(
        "n => { const v = document.querySelectorAll('[data-testid=mesh-viewer]');"
        " return v.length === n && [...v].every((e) => e.dataset.status === 'ready'); }",
        arg=RUNS * len(KEYS),
    )
    return p


def painted(p: Any) -> list[float]:
    canvases = p.locator('[data-testid="mesh-viewer"] canvas')
    return [p.evaluate(PIXELS, canvases.nth(i).element_handle())["painted"] for i in range(canvases.count())]


def test_every_one_of_24_3d_views_is_drawn(many_3d_ui: str, page: Page) -> None:
    warnings: list[str] = []
    p = open_workspace(page, many_3d_ui, warnings)
    cells = p.locator('[data-testid="workspace-media-cell"]')
    assert cells.count() == RUNS * len(KEYS)
    shares = painted(p)
    assert len(shares) == RUNS * len(KEYS)
    blank = [i for i, s in enumerate(shares) if s < 0.03]
    assert blank == [], f"views that drew nothing: {blank} of {shares}"
    assert all(s < 0.9 for s in shares), shares
    gl = p.evaluate("() => window.__webgl")
    assert gl["lost"] == 0, gl
    assert not [w for w in warnings if "WebGL" in w and "context" in w.lower()], warnings
    assert gl["contexts"] < 16, gl  # not one per view
    # the packed glTF's green texture in every run's view
    for i in range(RUNS):
        cell = p.locator('[data-testid="workspace-media-key"][data-key="d_gltf"] [data-testid="workspace-media-cell"] canvas').nth(i)
        px = p.evaluate(PIXELS, cell.element_handle())
        assert px["g"] > px["r"] + 60 and px["g"] > px["b"] + 60, (i, px)
    # a window tall enough for all 24 (the workspace scrolls inside its pane): each view is
    # redrawn at its new size, and the screenshot shows them all
    p.set_viewport_size({"width": 1440, "height": 3400})
    p.wait_for_timeout(300)
    assert min(painted(p)) > 0.03
    page.shot("media-3d-many")


def test_orbit_and_step_slider_redraw_only_their_own_view(many_3d_ui: str, page: Page) -> None:
    warnings: list[str] = []
    p = open_workspace(page, many_3d_ui, warnings)
    before = painted(p)
    obj = p.locator('[data-testid="workspace-media-key"][data-key="b_obj"] [data-testid="workspace-media-cell"]').last
    obj.scroll_into_view_if_needed()
    viewer = obj.locator('[data-testid="mesh-viewer"]')
    assert viewer.get_attribute("data-triangles") == "12"  # step 1: the cube
    index = p.locator('[data-testid="mesh-viewer"]').evaluate_all("(all, el) => all.indexOf(el)", viewer.element_handle())
    canvas = viewer.locator("canvas")
    first = p.evaluate(PIXELS, canvas.element_handle())
    box = canvas.bounding_box()
    p.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    p.mouse.down()
    p.mouse.move(box["x"] + box["width"] / 2 + 90, box["y"] + box["height"] / 2 + 40, steps=6)
    p.mouse.up()
    turned = p.evaluate(PIXELS, canvas.element_handle())
    assert turned != first  # orbiting redraws the cube from another side
    obj.locator('[data-testid="step-slider"]').fill("0")
    p.wait_for_function("el => el.dataset.triangles === '4' && el.dataset.status === 'ready'", arg=viewer.element_handle())
    tetra = p.evaluate(PIXELS, canvas.element_handle())
    assert tetra["painted"] > 0.02 and tetra != turned
    after = painted(p)
    others = [i for i in range(len(before)) if i != index and abs(after[i] - before[i]) > 1e-9]
    assert others == [], (index, others)  # every other view kept its picture
    assert p.evaluate("() => window.__webgl")["lost"] == 0
