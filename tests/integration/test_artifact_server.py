"""The artifact REST endpoints, called in-process through httpx.ASGITransport."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

import trackline
from trackline.server import create_app
from trackline.storage import open_store


def get(app: Any, url: str) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            return await c.get(url)

    return asyncio.run(go())


@pytest.fixture
def seeded(isolated: Path) -> dict[str, Any]:
    secret = isolated / "secret.txt"
    secret.write_text("server-side secret")
    producer = trackline.init(project="shop", name="prep", reinit="create_new")
    art = trackline.Artifact("items", "dataset", description="catalogue", metadata={"rows": 2})
    with art.new_file("data/items.csv") as f:
        f.write("id,name\n1,apple\n")
    with art.new_file("img/logo.png", mode="wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16)
    with art.new_file("page.html") as f:
        f.write("<script>alert(1)</script>")
    art.add_reference(f"file://{secret}", name="ref/secret.txt")
    logged = producer.log_artifact(art, aliases=["stable"]).wait()
    model = producer.link_model(str(isolated / "secret.txt"), "shop-model", name="m", aliases=["prod"])
    producer.finish()
    consumer = trackline.init(project="shop", name="train", reinit="create_new")
    consumer.use_artifact("items:stable")
    out = trackline.Artifact("weights", "model")
    with out.new_file("w.bin", mode="wb") as f:
        f.write(b"w")
    consumer.log_artifact(out).wait()
    consumer.finish()
    store = open_store(producer.settings.store_url)
    return {"app": create_app(store), "entity": producer.entity, "art": logged, "model": model,
            "base": f"/api/v1/projects/{producer.entity}/shop/artifacts"}


def test_collections_and_versions(seeded: dict[str, Any]) -> None:
    app, base = seeded["app"], seeded["base"]
    body = get(app, base).json()
    assert sorted(c["name"] for c in body["collections"]) == ["items", "m", "weights"]
    assert sorted(body["types"]) == ["dataset", "model"]
    assert [c["name"] for c in get(app, base + "?type=dataset").json()["collections"]] == ["items"]
    coll = get(app, base + "/items").json()
    assert coll["collection"]["version_count"] == 1
    [v0] = coll["versions"]
    assert (v0["version"], sorted(v0["aliases"]), v0["logged_by"]["name"]) == ("v0", ["latest", "stable"], "prep")
    assert get(app, base + "/nothing").status_code == 404


def test_version_detail_files_and_manifest(seeded: dict[str, Any]) -> None:
    app, base = seeded["app"], seeded["base"]
    v = get(app, base + "/items/stable").json()
    assert (v["description"], v["metadata"], v["file_count"]) == ("catalogue", {"rows": 2}, 4)
    assert [r["name"] for r in v["used_by"]] == ["train"]
    assert [f["path"] for f in v["files"]] == ["data/items.csv", "img/logo.png", "page.html", "ref/secret.txt"]
    assert [f["stored"] for f in v["files"]] == [True, True, True, False]
    page = get(app, base + "/items/v0?offset=1&limit=2").json()
    assert [f["path"] for f in page["files"]] == ["img/logo.png", "page.html"] and page["files_total"] == 4
    manifest = get(app, base + "/items/v0/manifest").json()
    assert manifest["contents"]["data/items.csv"]["size"] == 16
    assert manifest["contents"]["ref/secret.txt"]["ref"].startswith("file://")
    assert get(app, base + "/items/v9").status_code == 404


def test_files_preview_and_download(seeded: dict[str, Any]) -> None:
    app, base = seeded["app"], seeded["base"]
    csv = get(app, base + "/items/v0/files/data/items.csv")
    assert csv.text == "id,name\n1,apple\n" and csv.headers["content-type"].startswith("text/plain")
    assert csv.headers["x-content-type-options"] == "nosniff"
    png = get(app, base + "/items/v0/files/img/logo.png")
    assert png.headers["content-type"] == "image/png"
    html = get(app, base + "/items/v0/files/page.html")
    assert html.headers["content-type"].startswith("text/plain")  # shown as text, never run
    assert html.headers["content-security-policy"] == "sandbox"
    dl = get(app, base + "/items/v0/files/data/items.csv?download=1")
    assert "attachment" in dl.headers["content-disposition"]
    preview = get(app, base + "/items/v0/files/data/items.csv?preview=1").json()
    assert preview == {"kind": "text", "text": "id,name\n1,apple\n", "truncated": False}
    assert get(app, base + "/items/v0/files/img/logo.png?preview=1").json()["kind"] == "image"
    ref = get(app, base + "/items/v0/files/ref/secret.txt")
    assert ref.status_code == 404 and "reference" in ref.json()["error"]["message"]
    assert "server-side secret" not in ref.text
    # Encoded so the client cannot normalise them away: only exact entry names are served.
    for bad in ("..%2F..%2F..%2Fetc%2Fpasswd", "data%2F..%2Fdata%2Fitems.csv", "%2e%2e%2Fx", "nope.txt",
                "%2Fetc%2Fpasswd"):
        assert get(app, base + f"/items/v0/files/{bad}").status_code == 404, bad


def test_lineage_graph(seeded: dict[str, Any]) -> None:
    app, base = seeded["app"], seeded["base"]
    g = get(app, base + "/items/v0/lineage").json()
    labels = {n["label"]: n["kind"] for n in g["nodes"]}
    assert labels["items:v0"] == "artifact" and labels["prep"] == "run" and labels["train"] == "run"
    assert labels["weights:v0"] == "artifact"
    by_id = {n["id"]: n["label"] for n in g["nodes"]}
    edges = {(by_id[e["from"]], by_id[e["to"]]) for e in g["edges"]}
    assert {("prep", "items:v0"), ("items:v0", "train"), ("train", "weights:v0")} <= edges
    assert g["focus"] == next(n["id"] for n in g["nodes"] if n["label"] == "items:v0")


def test_registry(seeded: dict[str, Any]) -> None:
    app = seeded["app"]
    models = get(app, "/api/v1/registry").json()["models"]
    assert [(m["project"], m["name"], m["is_portfolio"]) for m in models] == [("model-registry", "shop-model", True)]
    [v] = models[0]["versions"]
    assert v["is_link"] and v["source"]["name"] == "m" and sorted(v["aliases"]) == ["latest", "prod"]


def test_a_runs_artifacts(seeded: dict[str, Any]) -> None:
    app = seeded["app"]
    runs = trackline.Api({"project": "shop"}).runs("shop")
    by_name = {r.name: r.id for r in runs}
    base = f"/api/v1/projects/{seeded['entity']}/shop/runs"
    train = get(app, f"{base}/{by_name['train']}/artifacts").json()
    assert [v["name"] for v in train["logged"]] == ["weights:v0"]
    assert [v["name"] for v in train["used"]] == ["items:v0"]
    prep = get(app, f"{base}/{by_name['prep']}/artifacts").json()
    assert sorted(v["name"] for v in prep["logged"]) == ["items:v0", "m:v0"] and prep["used"] == []
    assert get(app, f"{base}/nope/artifacts").status_code == 404


def test_every_artifact_route_is_documented() -> None:
    import re

    from trackline.server import artifacts

    routes = {("/api/v1" + re.sub(r"\{(\w+):path\}", r"{\1}", r.path), m.lower())
              for r in artifacts.routes for m in (r.methods or set()) - {"HEAD"}}
    documented = {(p, m) for p, ops in artifacts.OPENAPI_PATHS.items() for m in ops}
    assert documented == routes
    for path, ops in artifacts.OPENAPI_PATHS.items():
        for op in ops.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"\{(\w+)\}", path)), path
            assert op["summary"] and "200" in op["responses"]
