"""Media endpoints of the server, called in-process over real stored runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import trackline
from tests.unit.server.conftest import Client, assert_error
from trackline.server import create_app, media
from trackline.storage import open_store


@pytest.fixture
def served(isolated: Path, tmp_path: Path) -> tuple[Client, str, Any]:
    run = trackline.init(project="media-srv")
    for step in range(3):
        run.log({
            "samples": trackline.Image(np.full((4, 4, 3), step * 60, dtype=np.uint8), caption=f"step {step}"),
            "grads": trackline.Histogram(np.random.default_rng(step).normal(size=200), num_bins=16),
        })
    n = 5000
    run.log({
        "preds": pd.DataFrame({"id": np.arange(n), "label": [f"cat {i}" if i % 2 else f"dog {i}" for i in range(n)],
                               "score": np.linspace(1, 0, n)}),
        "page": trackline.Html("<script>parent.document.title='owned'</script><p>hi</p>"),
        "clip": trackline.Audio(np.zeros(400), sample_rate=8000),
        "roc": trackline.plot.line(trackline.Table(columns=["x", "y"], data=[[0, 1], [1, 2]]), "x", "y"),
    })
    run.finish()
    store = open_store(run.settings.store_url)
    static = tmp_path / "static"
    static.mkdir()
    base = f"/api/v1/projects/{run.entity}/{run.project}/runs/{run.id}"
    return Client(create_app(store, static_dir=static)), base, run


def test_media_index_lists_keys_types_and_charts(served: tuple[Client, str, Any]) -> None:
    client, base, _ = served
    keys = {k["key"]: k for k in client.get(base + "/media").json()["keys"]}
    assert keys["samples"]["type"] == "image-file" and keys["grads"]["type"] == "histogram"
    assert keys["preds"]["type"] == "table-file" and keys["page"]["type"] == "html-file"
    assert keys["roc"]["type"] == "chart" and keys["roc"]["table_key"] == "roc_table"
    assert keys["roc"]["spec"] == "wandb/line/v0" and keys["roc"]["fields"]["x"] == "x"


def test_steps_and_files_with_content_type_and_caching(served: tuple[Client, str, Any]) -> None:
    client, base, run = served
    steps = client.get(base + "/media/steps", params={"key": "samples"}).json()["steps"]
    assert [s["step"] for s in steps] == [0, 1, 2] and steps[1]["value"]["caption"] == "step 1"
    path = steps[1]["value"]["path"]
    resp = client.get(f"{base}/media/file/{path}")
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/png"
    assert resp.content == (Path(run.dir) / path).read_bytes()
    assert "immutable" in resp.headers["cache-control"]
    etag = resp.headers["etag"]
    assert etag == f'"{steps[1]["value"]["sha256"]}"'
    again = client.get(f"{base}/media/file/{path}", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    hist = client.get(base + "/media/steps", params={"key": "grads"}).json()["steps"]
    assert len(hist) == 3 and len(hist[0]["value"]["values"]) == 16
    audio = client.get(f"{base}/media/steps", params={"key": "clip"}).json()["steps"][0]["value"]["path"]
    assert client.get(f"{base}/media/file/{audio}").headers["content-type"] == "audio/wav"
    partial = client.get(f"{base}/media/file/{audio}", headers={"range": "bytes=0-3"})
    assert partial.status_code == 206 and partial.content == b"RIFF"


def test_html_is_served_sandboxed(served: tuple[Client, str, Any]) -> None:
    client, base, _ = served
    ref = client.get(base + "/media/steps", params={"key": "page"}).json()["steps"][0]["value"]
    resp = client.get(f"{base}/media/file/{ref['path']}")
    assert resp.headers["content-type"].startswith("text/html")
    csp = resp.headers["content-security-policy"]
    assert csp.startswith("sandbox allow-scripts") and "allow-same-origin" not in csp


def test_table_pages_sort_and_filter_on_the_server(served: tuple[Client, str, Any]) -> None:
    client, base, _ = served
    page = client.get(base + "/media/table", params={"key": "preds", "limit": 3}).json()
    assert page["columns"] == ["id", "label", "score"] and page["column_types"] == ["number", "string", "number"]
    assert page["total"] == page["matched"] == 5000 and [r[0] for r in page["rows"]] == [0, 1, 2]
    top = client.get(base + "/media/table", params={"key": "preds", "sort": "id", "desc": "true", "limit": 2}).json()
    assert [r[0] for r in top["rows"]] == [4999, 4998]
    found = client.get(base + "/media/table", params={"key": "preds", "q": "CAT 4999"}).json()
    assert found["matched"] == 1 and found["rows"][0][1] == "cat 4999"
    tail = client.get(base + "/media/table", params={"key": "preds", "offset": 4998, "limit": 10}).json()
    assert len(tail["rows"]) == 2 and tail["offset"] == 4998


def test_bad_requests_get_clear_errors(served: tuple[Client, str, Any]) -> None:
    client, base, _ = served
    assert_error(client.get(base + "/media/steps"), 400, "'key' is required")
    assert_error(client.get(base + "/media/table", params={"key": "samples"}), 404, "table 'samples'")
    assert_error(client.get(base + "/media/table", params={"key": "preds", "limit": 0}), 400, "limit")
    assert_error(client.get(base + "/media/table", params={"key": "preds", "sort": "nope"}), 400, "sort")
    assert_error(client.get(base + "/media/file/output.log"), 404, "not a media file")
    assert_error(client.get(base + "/media/file/media/../../../etc/passwd"), 404)
    assert_error(client.get(base.replace("runs/", "runs/x") + "/media"), 404, "not found")


def test_every_media_route_is_documented_for_openapi() -> None:
    routes = {"/api/v1" + re.sub(r"\{(\w+):path\}", r"{\1}", r.path) for r in media.routes}
    assert routes == set(media.OPENAPI_PATHS)
    for path, ops in media.OPENAPI_PATHS.items():
        declared = {p["name"] for p in ops["get"]["parameters"] if p["in"] == "path"}
        assert declared == set(re.findall(r"\{(\w+)\}", path))
