"""The app around the API: UI files or the 'UI not built' page, JSON errors, hosts, the spec."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from starlette.routing import Mount, Route

from tests.unit.server.conftest import Client, assert_error, run_async
from trackline.server import api, artifacts, create_app, media, sweeps
from trackline.server.openapi import spec
from trackline.storage import open_store


@pytest.fixture
def empty_store(store_path: Path):  # type: ignore[no-untyped-def]
    store = open_store(str(store_path))
    yield store
    store.close()


def test_without_a_build_every_page_says_ui_not_built_and_the_api_works(empty_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = Client(create_app(empty_store, static_dir=tmp_path / "nothing"))
    for path in ("/", "/me/proj", "/me/proj/runs/abc?tab=logs"):
        resp = client.get(path)
        assert resp.status_code == 200
        assert "UI not built" in resp.text and "./scripts/build-ui" in resp.text
    assert client.get("/api/v1/projects").json() == {"projects": []}
    assert client.get("/api/v1/health").json()["ui"] is False


def test_a_build_is_served_as_a_single_page_app(empty_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    static = tmp_path / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text("<!doctype html><div id=app></div>")
    (static / "assets" / "app-1234.js").write_text("console.log(1)")
    (static / "favicon.svg").write_text("<svg/>")
    (tmp_path / "outside.txt").write_text("TOPSECRET")
    client = Client(create_app(empty_store, static_dir=static))
    for path in ("/", "/me/proj", "/me/proj/runs/abc"):
        resp = client.get(path)
        assert resp.status_code == 200 and "id=app" in resp.text
        assert resp.headers["cache-control"] == "no-cache"
    asset = client.get("/assets/app-1234.js")
    assert asset.text == "console.log(1)" and "immutable" in asset.headers["cache-control"]
    assert client.get("/favicon.svg").text == "<svg/>"
    assert client.get("/assets/missing.js").status_code == 404
    assert "TOPSECRET" not in client.get("/../outside.txt").text
    assert client.get("/api/v1/health").json()["ui"] is True


def test_api_errors_are_json_with_a_message(empty_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = Client(create_app(empty_store, static_dir=tmp_path))
    assert_error(client.get("/api/v1/nope"), 404, "no API endpoint at /api/v1/nope")
    assert_error(client.get("/api/v2/projects"), 404, "no API endpoint")
    assert_error(client.request("DELETE", "/api/v1/projects"), 405, "DELETE is not allowed")
    assert_error(client.get("/api/v1/projects/a/b/runs/c"), 404, "run a/b/c not found")


def test_an_unexpected_failure_is_a_json_500_not_a_crash(empty_store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    def boom(entity: str | None = None) -> list[dict]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(empty_store, "list_projects", boom)
    app = create_app(empty_store, static_dir=tmp_path)

    async def go() -> httpx.Response:
        # raise_app_exceptions=False: answer what a real server would send, not the exception
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await c.get("/api/v1/projects")

    assert_error(run_async(go), 500, "RuntimeError", "disk on fire")
    assert Client(app).get("/api/v1/health").status_code == 200


def test_allowed_hosts_refuse_other_host_headers(empty_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = Client(create_app(empty_store, static_dir=tmp_path, allowed_hosts=["127.0.0.1", "localhost"]))
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/api/v1/health", headers={"host": "localhost:7878"}).status_code == 200
    assert client.get("/api/v1/health", headers={"host": "attacker.example"}).status_code == 400


def _route_paths() -> set[tuple[str, str]]:
    out = set()
    for r in [*api.routes, *media.routes, *artifacts.routes, *sweeps.routes]:
        assert isinstance(r, (Route, Mount))
        path = "/api/v1" + re.sub(r"\{(\w+):path\}", r"{\1}", r.path)
        for m in (r.methods or set()) - {"HEAD"}:
            out.add((path, m.lower()))
    return out


def test_every_route_is_in_the_openapi_spec_and_nothing_else() -> None:
    documented = {(p, m) for p, ops in spec()["paths"].items() for m in ops}
    assert documented == _route_paths()
    for path, ops in spec()["paths"].items():
        params = set(re.findall(r"\{(\w+)\}", path))
        for op in ops.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == params, path
            assert op["summary"] and "200" in op["responses"]


def test_pages_and_api_carry_a_content_security_policy(empty_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>")
    client = Client(create_app(empty_store, static_dir=tmp_path))
    for url in ("/", "/api/v1/health"):
        r = client.get(url)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "object-src 'none'" in csp and "frame-ancestors 'self'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"


def test_only_the_plotly_frame_may_evaluate_code_and_it_is_sandboxed(empty_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>")
    (tmp_path / "plotly-frame.html").write_text("<!doctype html><title>frame</title>")
    client = Client(create_app(empty_store, static_dir=tmp_path))
    frame = client.get("/plotly-frame.html")
    assert frame.status_code == 200
    policy = frame.headers["content-security-policy"]
    assert policy.startswith("sandbox allow-scripts;") and "allow-same-origin" not in policy
    assert "'unsafe-eval'" in policy and "default-src 'none'" in policy
    for url in ("/", "/index.html", "/api/v1/health"):
        assert "unsafe-eval" not in client.get(url).headers["content-security-policy"]
