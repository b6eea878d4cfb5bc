"""3D files and plotly figures in real Chromium over a real `trackline ui`: GLB, OBJ and STL
drawn by the three.js viewer (WebGL pixels read back), and plotly figures drawn by plotly.js
(bars, a heatmap, a WebGL scatter) under the app's Content-Security-Policy."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import Page, media_panel, serve_seeded_run
from tests.ui.conftest import open_media as open_media_tab
from tests.unit.data_types.gltf_files import write_textured_gltf

Vec = tuple[float, float, float]


def _sub(a: Vec, b: Vec) -> Vec:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _cross(a: Vec, b: Vec) -> Vec:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _outward(vertices: list[Vec], faces: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """The faces wound counter-clockwise seen from outside (a convex solid around its centroid)."""
    c = tuple(sum(v[i] for v in vertices) / len(vertices) for i in range(3))
    out = []
    for a, b, d in faces:
        n = _cross(_sub(vertices[b], vertices[a]), _sub(vertices[d], vertices[a]))
        mid = tuple(sum(vertices[i][k] for i in (a, b, d)) / 3 for k in range(3))
        towards = _sub(mid, c)  # type: ignore[arg-type]
        out.append((a, b, d) if sum(n[k] * towards[k] for k in range(3)) > 0 else (a, d, b))
    return out


def cube() -> tuple[list[Vec], list[tuple[int, int, int]]]:
    vertices: list[Vec] = [(x - 0.5, y - 0.5, z - 0.5) for z in (0, 1) for y in (0, 1) for x in (0, 1)]
    quads = [(0, 1, 3, 2), (4, 5, 7, 6), (0, 1, 5, 4), (2, 3, 7, 6), (0, 2, 6, 4), (1, 3, 7, 5)]
    faces = [t for q in quads for t in ((q[0], q[1], q[2]), (q[0], q[2], q[3]))]
    return vertices, _outward(vertices, faces)


def tetrahedron() -> tuple[list[Vec], list[tuple[int, int, int]]]:
    vertices: list[Vec] = [(1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)]
    return vertices, _outward(vertices, [(0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)])


def write_obj(path: Path, solid: tuple[list[Vec], list[tuple[int, int, int]]]) -> Path:
    vertices, faces = solid
    lines = [f"v {x} {y} {z}" for x, y, z in vertices] + [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in faces]
    path.write_text("# written by the test\n" + "\n".join(lines) + "\n")
    return path


def write_stl(path: Path, solid: tuple[list[Vec], list[tuple[int, int, int]]]) -> Path:
    vertices, faces = solid
    out = ["solid test"]
    for face in faces:
        a, b, c = (vertices[i] for i in face)
        n = _cross(_sub(b, a), _sub(c, a))
        out += [f" facet normal {n[0]} {n[1]} {n[2]}", "  outer loop"]
        out += [f"   vertex {v[0]} {v[1]} {v[2]}" for v in (a, b, c)]
        out += ["  endloop", " endfacet"]
    path.write_text("\n".join([*out, "endsolid test"]) + "\n")
    return path


def write_glb(path: Path, solid: tuple[list[Vec], list[tuple[int, int, int]]], rgba: list[float]) -> Path:
    """A minimal binary glTF 2.0: one indexed mesh with one PBR material, no normals (the loader
    makes flat ones)."""
    vertices, faces = solid
    positions = b"".join(struct.pack("<3f", *v) for v in vertices)
    indices = b"".join(struct.pack("<3H", *f) for f in faces)
    indices += b"\0" * (-len(indices) % 4)
    binary = positions + indices
    doc = {
        "asset": {"version": "2.0", "generator": "trackline test"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "material": 0}]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": rgba, "metallicFactor": 0.0, "roughnessFactor": 0.7}}],
        "buffers": [{"byteLength": len(binary)}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": len(positions), "target": 34962},
            {"buffer": 0, "byteOffset": len(positions), "byteLength": len(faces) * 6, "target": 34963},
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": len(vertices), "type": "VEC3",
             "min": [min(v[i] for v in vertices) for i in range(3)], "max": [max(v[i] for v in vertices) for i in range(3)]},
            {"bufferView": 1, "componentType": 5123, "count": len(faces) * 3, "type": "SCALAR"},
        ],
    }
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    chunks = struct.pack("<I4s", len(text), b"JSON") + text + struct.pack("<I4s", len(binary), b"BIN\0") + binary
    path.write_bytes(struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks)
    return path


def write_gltf(path: Path, solid: tuple[list[Vec], list[tuple[int, int, int]]], rgba: list[float]) -> Path:
    """The same mesh as a JSON .gltf with its buffer embedded as a data: URI."""
    import base64

    glb = write_glb(path.with_suffix(".tmp.glb"), solid, rgba).read_bytes()
    (json_len,) = struct.unpack_from("<I", glb, 12)
    doc = json.loads(glb[20 : 20 + json_len])
    binary = glb[20 + json_len + 8 :]
    doc["buffers"] = [{"byteLength": len(binary), "uri": "data:application/octet-stream;base64," + base64.b64encode(binary).decode()}]
    path.write_text(json.dumps(doc))
    return path


SEED = r"""
import sys, numpy as np, plotly.graph_objects as go, trackline
files = sys.argv[1]
run = trackline.init(project="media-3d", name="shapes")
run.log({"glb": trackline.Object3D(files + "/cube.glb"), "obj": trackline.Object3D(files + "/cube.obj"),
         "stl": trackline.Object3D(files + "/cube.stl"), "gltf": trackline.Object3D(files + "/cube.gltf")})
run.log({"obj": trackline.Object3D(files + "/tetra.obj"),
         "textured": trackline.Object3D(files + "/textured/textured.gltf")})  # + .bin files and a PNG
bar = go.Figure(go.Bar(x=["cat", "dog", "bird", "fish"], y=[3, 7, 2, 5], marker_color="#e4572e"))
bar.update_layout(title="Counts per class")
heat = go.Figure(go.Heatmap(z=np.arange(48).reshape(6, 8), colorscale="Viridis"))
rng = np.random.default_rng(0)
gl = go.Figure(go.Scattergl(x=rng.random(2000), y=rng.random(2000), mode="markers"))
run.log({"bars": trackline.Plotly(bar), "heat": heat, "gl": gl})
run.log({"bars": go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))})
run.finish()
print(run.entity, run.id)
"""


@pytest.fixture(scope="module")
def media_3d_ui(ui_built: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("plotly", reason="the plotly figures are made with plotly")
    base = tmp_path_factory.mktemp("media-3d")
    files = base / "files"
    files.mkdir()
    write_glb(files / "cube.glb", cube(), [0.9, 0.35, 0.1, 1.0])
    write_obj(files / "cube.obj", cube())
    write_gltf(files / "cube.gltf", cube(), [0.1, 0.4, 0.9, 1.0])
    write_obj(files / "tetra.obj", tetrahedron())
    write_stl(files / "cube.stl", cube())
    write_textured_gltf(files / "textured")
    with serve_seeded_run(base, SEED, "media-3d", str(files)) as url:
        yield url


panel = media_panel


def open_media(page: Page, url: str) -> Any:
    # plotly.js is a 4.6 MB chunk, three.js compiles shaders in software
    return open_media_tab(page, url, timeout_ms=30_000)


# Painted pixels of a WebGL canvas (transparent background, so alpha > 0 is the object) and
# their mean colour.
PIXELS = """canvas => {
  const c = document.createElement('canvas'); c.width = canvas.width; c.height = canvas.height;
  const x = c.getContext('2d'); x.drawImage(canvas, 0, 0);
  const d = x.getImageData(0, 0, c.width, c.height).data;
  let n = 0, r = 0, g = 0, b = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200) { n++; r += d[i]; g += d[i + 1]; b += d[i + 2]; }
  return { painted: n / (c.width * c.height), r: r / Math.max(n, 1), g: g / Math.max(n, 1), b: b / Math.max(n, 1) };
}"""


def viewer_ready(p: Any, key: str) -> Any:
    viewer = panel(p, key).locator('[data-testid="mesh-viewer"]')
    viewer.and_(p.locator('[data-status="ready"]')).wait_for()
    return viewer


def test_glb_obj_and_stl_are_drawn_with_webgl(media_3d_ui: str, page: Page) -> None:
    p = open_media(page, media_3d_ui)
    for key, fmt in [("glb", "glb"), ("gltf", "gltf"), ("obj", "obj"), ("stl", "stl")]:
        viewer = viewer_ready(p, key)
        assert viewer.get_attribute("data-format") == fmt
        if key != "obj":
            assert viewer.get_attribute("data-triangles") == "12"  # the cube
        pixels = p.evaluate(PIXELS, viewer.locator("canvas").element_handle())
        assert 0.03 < pixels["painted"] < 0.9, (key, pixels)  # the object fills part of the view, fitted
    glb = p.evaluate(PIXELS, panel(p, "glb").locator("canvas").element_handle())
    assert glb["r"] > glb["b"] + 60, glb  # the GLB's orange material
    gltf = p.evaluate(PIXELS, panel(p, "gltf").locator("canvas").element_handle())
    assert gltf["b"] > gltf["r"] + 60, gltf  # the embedded-buffer glTF's blue material
    stl = p.evaluate(PIXELS, panel(p, "stl").locator("canvas").element_handle())
    assert abs(stl["r"] - stl["b"]) < 60, stl  # STL brings no colour: the viewer's grey-blue
    page.shot("media-3d")


def test_gltf_with_separate_bin_and_texture_files_is_drawn(media_3d_ui: str, page: Page) -> None:
    p = open_media(page, media_3d_ui)
    viewer = viewer_ready(p, "textured")
    assert viewer.get_attribute("data-format") == "glb"  # packed with its files when logged
    assert viewer.get_attribute("data-triangles") == "12"
    assert viewer.locator('[data-testid="mesh-error"]').count() == 0
    pixels = p.evaluate(PIXELS, viewer.locator("canvas").element_handle())
    assert 0.03 < pixels["painted"] < 0.9, pixels
    assert pixels["g"] > pixels["r"] + 60 and pixels["g"] > pixels["b"] + 60, pixels  # the green PNG texture


def test_3d_step_slider_swaps_the_object(media_3d_ui: str, page: Page) -> None:
    p = open_media(page, media_3d_ui)
    obj = panel(p, "obj")
    viewer = viewer_ready(p, "obj")
    assert obj.locator('[data-testid="step-value"]').inner_text() == "1"
    assert viewer.get_attribute("data-triangles") == "4"  # step 1: the tetrahedron
    obj.locator('[data-testid="step-slider"]').fill("0")
    p.wait_for_function("el => el.dataset.triangles === '12' && el.dataset.status === 'ready'", arg=viewer.element_handle())
    assert obj.locator('[data-testid="step-value"]').inner_text() == "0"
    before = p.evaluate(PIXELS, viewer.locator("canvas").element_handle())
    box = viewer.locator("canvas").bounding_box()
    p.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    p.mouse.down()
    p.mouse.move(box["x"] + box["width"] / 2 + 80, box["y"] + box["height"] / 2 + 30, steps=5)
    p.mouse.up()
    after = p.evaluate(PIXELS, viewer.locator("canvas").element_handle())
    assert after != before  # orbiting redraws the cube from another side


def test_plotly_bar_and_heatmap_are_drawn_by_plotly(media_3d_ui: str, page: Page) -> None:
    p = open_media(page, media_3d_ui)
    bars = panel(p, "bars").locator('[data-testid="plotly-panel"]')
    bars.and_(p.locator('[data-status="ready"]')).wait_for()
    assert bars.locator(".bars .point").count() == 2  # the latest step: a, b
    bars.locator('[data-testid="step-slider"]').fill("0")
    p.wait_for_function("el => el.querySelectorAll('.bars .point').length === 4", arg=bars.element_handle())
    assert bars.locator(".gtitle").text_content() == "Counts per class"
    ticks = [t.text_content() for t in bars.locator(".xtick text").all()]
    assert ticks == ["cat", "dog", "bird", "fish"]
    fill = bars.locator(".bars .point path").first.evaluate("el => getComputedStyle(el).fill")
    assert fill == "rgb(228, 87, 46)"  # marker_color="#e4572e"
    width = bars.locator(".main-svg").first.bounding_box()["width"]
    assert abs(width - bars.bounding_box()["width"]) < 2  # sized to the panel

    heat = panel(p, "heat").locator('[data-testid="plotly-panel"]')
    heat.and_(p.locator('[data-status="ready"]')).wait_for()
    assert heat.locator(".heatmaplayer image").count() == 1
    assert heat.locator(".colorbar").count() == 1
    page.shot("media-plotly")


def test_plotly_webgl_figure_is_drawn_in_a_sandboxed_frame(media_3d_ui: str, page: Page) -> None:
    import httpx

    origin = "/".join(media_3d_ui.split("/")[:3])
    app_csp = httpx.get(origin + "/", timeout=30).headers["content-security-policy"]
    assert "unsafe-eval" not in app_csp  # the app itself still may not evaluate code
    frame_csp = httpx.get(origin + "/plotly-frame.html", timeout=30).headers["content-security-policy"]
    assert frame_csp.startswith("sandbox allow-scripts;") and "allow-same-origin" not in frame_csp

    p = open_media(page, media_3d_ui)
    gl = panel(p, "gl").locator('[data-testid="plotly-panel"]')
    gl.and_(p.locator('[data-status="ready"]')).wait_for()
    assert gl.get_attribute("data-traces") == "scattergl" and gl.get_attribute("data-webgl") == "true"
    assert gl.locator('[data-testid="plotly-error"]').count() == 0
    frame_el = gl.locator('[data-testid="plotly-frame"]')
    assert frame_el.get_attribute("sandbox") == "allow-scripts"
    frame = frame_el.element_handle().content_frame()
    assert frame.locator(".gl-canvas-context").count() == 1  # regl compiled its shaders: drawn with WebGL
    assert "WebGL is not supported" not in frame.locator("body").inner_text()
    assert frame.locator(".xtick").count() > 2  # the axes around it
    assert frame.evaluate("() => { try { return parent.document.title } catch (e) { return 'blocked' } }") == "blocked"
    assert abs(frame_el.bounding_box()["width"] - gl.bounding_box()["width"]) < 2
    panel(p, "gl").screenshot(path=str(page.shot("media-plotly-gl").parent / "media-plotly-gl-panel.png"))


def test_dark_mode_recolours_plotlys_default_template(media_3d_ui: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme="dark")
    try:
        page = Page(context.new_page(), "media-dark")
        p = open_media(page, media_3d_ui)
        bars = panel(p, "bars").locator('[data-testid="plotly-panel"]')
        bars.and_(p.locator('[data-status="ready"]')).wait_for()
        plot_bg = bars.locator(".bg").first.evaluate("el => getComputedStyle(el).fill")
        assert plot_bg != "rgb(229, 236, 246)"  # plotly's light #E5ECF6 plot area
        r, g, b = (int(v) for v in plot_bg[4:-1].split(","))
        assert max(r, g, b) < 80, plot_bg
        for key in ("glb", "obj", "stl"):
            viewer_ready(p, key)
        panel(p, "gl").locator('[data-testid="plotly-panel"][data-status="ready"]').wait_for()
        page.shot("media-dark")
        assert page.errors == []
    finally:
        context.close()
