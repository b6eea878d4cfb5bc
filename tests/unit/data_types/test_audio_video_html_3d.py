"""Audio, Video, Html, Object3D and Plotly: constructors, files and errors."""

from __future__ import annotations

import io
import json
import logging
import wave
from pathlib import Path

import numpy as np
import pytest

import trackline
from tests.unit.data_types.conftest import last_row


def test_audio_numpy_is_written_as_16_bit_wav() -> None:
    samples = np.sin(np.linspace(0, 100, 1600)).astype(np.float32)
    a = trackline.Audio(samples, sample_rate=16000, caption="tone")
    with wave.open(io.BytesIO(a._read_bytes())) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()) == (16000, 1, 2, 1600)
    assert a.duration() == pytest.approx(0.1)
    stereo = trackline.Audio(np.zeros((10, 2), dtype=np.int16), sample_rate=8000)
    with wave.open(io.BytesIO(stereo._read_bytes())) as w:
        assert w.getnchannels() == 2


def test_audio_errors() -> None:
    with pytest.raises(ValueError, match='Argument "sample_rate" is required'):
        trackline.Audio(np.zeros(10))
    with pytest.raises(ValueError, match="0-length"):
        trackline.Audio(np.zeros(0), sample_rate=8000)
    with pytest.raises(ValueError, match="NaN"):
        trackline.Audio(np.array([0.0, np.nan]), sample_rate=8000)
    with pytest.raises(ValueError, match="sample_rate must be a positive integer"):
        trackline.Audio(np.zeros(4), sample_rate=-1)
    with pytest.raises(ValueError, match=r"\(samples,\) or \(samples, channels\)"):
        trackline.Audio(np.zeros((2, 2, 2)), sample_rate=8000)


def test_audio_from_a_wav_file_reads_its_rate(tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    path.write_bytes(trackline.Audio(np.zeros(800), sample_rate=8000)._read_bytes())
    a = trackline.Audio(str(path))
    assert a.sample_rate == 8000 and a.duration() == pytest.approx(0.1)
    with pytest.raises(FileNotFoundError):
        trackline.Audio(str(tmp_path / "nope.wav"))


def test_video_gif_frames_and_batch_tiling() -> None:
    from PIL import Image as PILImage

    frames = np.zeros((5, 3, 8, 6), dtype=np.uint8)  # t, c, h, w
    v = trackline.Video(frames, fps=10, format="gif")
    gif = PILImage.open(io.BytesIO(v._read_bytes()))
    assert gif.n_frames in (1, 5) and gif.size == (6, 8)  # identical frames may be merged by the encoder
    batch = np.random.default_rng(0).integers(0, 255, (3, 2, 3, 8, 6), dtype=np.uint8)
    tiled = trackline.Video(batch, format="gif")  # 3 clips padded to 4: a 2 x 2 grid
    assert (tiled._width, tiled._height) == (12, 16)


def test_video_errors_and_default_format(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ValueError, match="at least 4 dimensions"):
        trackline.Video(np.zeros((3, 8, 8)), format="gif")
    with pytest.raises(ValueError, match="accepts gif, mp4, webm, ogg formats"):
        trackline.Video(np.zeros((1, 3, 8, 8)), format="avi")
    with pytest.raises(ValueError, match="empty"):
        trackline.Video(np.zeros((0, 3, 8, 8), np.uint8), format="gif")
    with caplog.at_level(logging.WARNING, logger="trackline"):
        v = trackline.Video(np.zeros((2, 3, 8, 8), np.uint8))
    assert v._ext == ".gif" and any("defaulting to `gif`" in r.getMessage() for r in caplog.records)


def test_video_mp4_and_webm_decode_back() -> None:
    av = pytest.importorskip("av")
    frames = np.random.default_rng(1).integers(0, 255, (6, 3, 16, 16), dtype=np.uint8)
    for fmt in ("mp4", "webm"):
        v = trackline.Video(frames, fps=6, format=fmt)
        with av.open(io.BytesIO(v._read_bytes())) as c:
            assert sum(1 for _ in c.decode(video=0)) == 6


def test_html_inject_and_sources(tmp_path: Path) -> None:
    h = trackline.Html("<html><head></head><body>x</body></html>")
    assert h.html.startswith('<html><head><base target="_blank">')
    assert trackline.Html("<p>x</p>", inject=False).html == "<p>x</p>"
    assert trackline.Html("<p>x</p>").html == '<head><base target="_blank"></head><p>x</p>'
    page = tmp_path / "page.html"
    page.write_text("<b>file</b>")
    assert "<b>file</b>" in trackline.Html(str(page)).html
    assert trackline.Html(str(page), data_is_not_path=True).html.endswith("page.html")
    assert "io" in trackline.Html(io.StringIO("<i>io</i>")).html
    with pytest.raises(ValueError, match="data must be a string or an io object"):
        trackline.Html(3)


def test_object3d_point_clouds_and_files(tmp_path: Path) -> None:
    pts = np.random.default_rng(2).random((5, 6))
    o = trackline.Object3D(pts)
    assert o._ext == ".pts.json" and len(json.loads(o._read_bytes())) == 5
    for bad in (np.zeros((5, 5)), np.zeros(3)):
        with pytest.raises(ValueError, match="nx3"):
            trackline.Object3D(bad)
    with pytest.raises(ValueError, match="empty"):
        trackline.Object3D(np.zeros((0, 3)))
    scene = trackline.Object3D.from_point_cloud(
        points=np.zeros((2, 3)),
        boxes=[{"corners": [[0, 0, 0]] * 8, "label": "car", "color": [255, 0, 0]}],
        vectors=[{"start": [0, 0, 0], "end": [1, 1, 1]}],
    )
    body = json.loads(scene._read_bytes())
    assert body["type"] == "lidar/beta" and body["boxes"][0]["label"] == "car" and len(body["vectors"]) == 1
    with pytest.raises(ValueError, match="Point cloud type not supported"):
        trackline.Object3D.from_point_cloud(np.zeros((1, 3)), [], point_cloud_type="radar")
    stl = tmp_path / "cube.stl"
    stl.write_text("solid cube\nendsolid cube\n")
    assert trackline.Object3D(str(stl))._ext == ".stl"
    bad = tmp_path / "cube.xyz"
    bad.write_text("x")
    with pytest.raises(ValueError, match="not compatible with Object3D"):
        trackline.Object3D(str(bad))
    with pytest.raises(ValueError, match="Must pass file type"):
        trackline.Object3D(io.StringIO("{}"))


def test_plotly_figure_is_stored_as_json(run: trackline.Run) -> None:
    go = pytest.importorskip("plotly.graph_objects")
    fig = go.Figure(data=[go.Scatter(x=[1, 2], y=[3, 4])])
    run.log({"fig": trackline.Plotly(fig), "direct": fig})
    row = last_row(run)
    assert row["fig"]["_type"] == row["direct"]["_type"] == "plotly-file"
    body = json.loads((Path(run.dir) / row["fig"]["path"]).read_text())
    assert body["data"][0]["y"] == [3, 4]
    with pytest.raises(ValueError, match="Logged plots must be plotly figures"):
        trackline.Plotly("nope")


def test_matplotlib_figure_logged_directly_becomes_an_image(run: trackline.Run) -> None:
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    run.log({"chart": fig})
    plt.close(fig)
    ref = last_row(run)["chart"]
    assert ref["_type"] == "image-file" and ref["path"].endswith(".png")
