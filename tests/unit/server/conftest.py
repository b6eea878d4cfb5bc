"""A store seeded through the SDK, and the app over it called in-process (httpx.ASGITransport)."""

from __future__ import annotations

import asyncio
import math
import os
import shutil
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import httpx
import pytest

import trackline
from trackline.server import create_app
from trackline.storage import open_store
from trackline.storage.sql.store import SQLStore

T = TypeVar("T")

PROJECT = "vision"
ENTITY_PATH = "/api/v1/projects/{entity}/" + PROJECT


@dataclass
class Seeded:
    store: SQLStore
    entity: str
    runs: list[Any]  # .id and .name of the seeded runs, oldest first

    @property
    def base(self) -> str:
        return f"/api/v1/projects/{self.entity}/{PROJECT}"


def seed_project(steps: int = 300) -> list[Any]:
    """Four runs: two groups, different learning rates, one spike at step 123 in run 0."""
    out = []
    for i, (lr, group) in enumerate([(0.1, "a"), (0.01, "a"), (0.001, "b"), (0.0001, "b")]):
        run = trackline.init(
            project=PROJECT,
            name=f"run-{i}",
            config={"lr": lr, "model": {"depth": 10 + i}, "opt": "adam" if i % 2 else "sgd"},
            tags=["base"] if i < 2 else ["exp"],
            group=group,
            job_type="train",
        )
        run.define_metric("epoch")
        run.define_metric("val/*", step_metric="epoch")
        for s in range(steps):
            loss = 1.0 / (1 + s * lr * 10) + (5.0 if (i == 0 and s == 123) else 0.0)
            run.log({"train/loss": loss, "train/acc": 1 - loss / 2, "lr": lr})
            if s % 100 == 99:
                run.log({"val/loss": loss * 1.1, "epoch": s // 100}, commit=False)
        run.summary["best"] = float(i)
        run.finish()
        out.append(run)
    return out


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    """Seed once per session (finishing runs takes a while); each test gets a copy."""
    base = tmp_path_factory.mktemp("seeded")
    (base / "work").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        for var in list(os.environ):
            if var.startswith(("WANDB_", "TRACKLINE_")):
                mp.delenv(var)
        mp.setenv("TRACKLINE_HOME", str(base / "home"))
        mp.setenv("TRACKLINE_CONFIG_DIR", str(base / "config"))
        mp.setenv("TRACKLINE_SILENT", "true")
        mp.chdir(base / "work")
        runs = [SimpleNamespace(id=r.id, name=r.name) for r in seed_project()]
    open_store(str(base / "home" / "trackline.db")).close()  # checkpoints the WAL
    return base / "home", runs


@pytest.fixture
def seeded(store_path: Path, seeded_template: tuple[Path, list[Any]]) -> Iterator[Seeded]:
    home, runs = seeded_template
    shutil.copytree(home, store_path.parent, dirs_exist_ok=True)
    store = open_store(str(store_path))
    entity = store.list_projects()[0]["entity"]
    yield Seeded(store, entity, runs)
    store.close()


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to the end on a fresh event loop in its own thread (a loop may already
    run in this one: Playwright's sync API keeps one going during the browser tests)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


class Client:
    """A synchronous face on httpx.AsyncClient over the ASGI app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                return await c.request(method, url, **kw)

        return run_async(go)

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def patch(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", url, **kw)


@pytest.fixture
def client(seeded: Seeded, tmp_path: Path) -> Client:
    static = tmp_path / "static-empty"
    static.mkdir()
    return Client(create_app(seeded.store, static_dir=static))


def assert_error(resp: httpx.Response, status: int, *words: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"]["status"] == status
    for w in words:
        assert w in body["error"]["message"], body


def finite(values: list[Any]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]
