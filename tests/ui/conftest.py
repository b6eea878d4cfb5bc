"""Browser tests: a real `trackline ui` on 127.0.0.1 over a store seeded through the SDK, driven
by Playwright in Debian's headless Chromium (/usr/bin/chromium; never a downloaded browser).

Screenshots go to test-artifacts/ui/. With TRACKLINE_UPDATE_SCREENSHOTS=1 the workspace
screenshot also replaces docs/screenshots/workspace.png (the README's picture).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts" / "ui"
STATIC = REPO / "src" / "trackline" / "server" / "static"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
STEPS = 2000
# read now: the autouse `isolated` fixture clears TRACKLINE_* variables before each test
UPDATE_SCREENSHOTS = os.environ.get("TRACKLINE_UPDATE_SCREENSHOTS") == "1"



def _ui_stale() -> bool:
    """Whether a UI source is newer than the build (hatch_build's rule; needs hatchling)."""
    sys.path.insert(0, str(REPO))
    try:
        from hatch_build import is_stale
    except ImportError:
        return False
    finally:
        sys.path.remove(str(REPO))
    return bool(is_stale(REPO / "ui", STATIC))


@pytest.fixture(scope="session")
def ui_built() -> None:
    """The built UI, rebuilt (scripts/build-ui) when a UI source is newer than the build."""
    if (STATIC / "index.html").is_file() and not _ui_stale():
        return
    if shutil.which("npm") is None:
        pytest.skip("the web UI is not built and npm is missing (run ./scripts/build-ui)")
    subprocess.run([str(REPO / "scripts" / "build-ui")], check=True, capture_output=True, timeout=600)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "TRACKLINE_"))}
    env.update(TRACKLINE_HOME=str(home), TRACKLINE_CONFIG_DIR=str(home / "config"), TRACKLINE_SILENT="true",
               PYTHONPATH=str(REPO / "src"))
    return env


@contextlib.contextmanager
def serve_seeded(base: Path, seed: str, *args: str) -> Iterator[tuple[str, str]]:
    """Run ``seed`` (a Python script; ``args`` are its arguments) in a fresh home under ``base``,
    serve that home with ``trackline ui`` on a free port, and yield (the UI's URL, the seed's
    last line of output)."""
    home, work = base / "home", base / "work"
    work.mkdir()
    env = _env(home)
    seeded = subprocess.run([sys.executable, "-c", seed, *args], cwd=work, env=env, capture_output=True, text=True,
                            timeout=300)
    assert seeded.returncode == 0, seeded.stderr
    last = seeded.stdout.strip().splitlines()[-1]
    proc = subprocess.Popen([sys.executable, "-m", "trackline.cli.main", "ui", "--port", "0"], cwd=work, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("trackline UI: http://127.0.0.1:"), line
        yield line.split()[2], last
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


@contextlib.contextmanager
def serve_seeded_run(base: Path, seed: str, project: str, *args: str) -> Iterator[str]:
    """Run ``seed`` (a script that prints "<entity> <run id>" last), serve it, and yield the
    run page's Media tab URL."""
    with serve_seeded(base, seed, *args) as (url, last):
        entity, run_id = last.split()[-2:]
        yield f"{url}/{entity}/{project}/runs/{run_id}?tab=media"


def media_panel(p: Any, key: str) -> Any:
    return p.locator(f'[data-testid="media-panel"][data-key="{key}"]')


def open_media(page: Page, url: str, timeout_ms: float | None = None) -> Any:
    """Open a run's Media tab and wait until its panels are loaded."""
    p = page.page
    if timeout_ms is not None:
        p.set_default_timeout(timeout_ms)
    p.goto(url)
    p.wait_for_selector('[data-testid="media-tab"][data-loaded="true"]')
    return p


@dataclass
class UI:
    url: str
    home: Path
    work: Path
    run_ids: list[str]  # resnet-0 ... resnet-5
    entity: str = "root"
    proc: Any = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def workspace(self) -> str:
        return f"{self.url}/{self.entity}/vision"

    def run_url(self, i: int) -> str:
        return f"{self.workspace}/runs/{self.run_ids[i]}"


@pytest.fixture(scope="session")
def ui(ui_built: None, browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    base = tmp_path_factory.mktemp("ui")
    home, work = base / "home", base / "work"
    work.mkdir()
    env = _env(home)
    seeded = subprocess.run(
        [sys.executable, str(REPO / "tests" / "ui" / "seed_ui.py"), str(STEPS)],
        cwd=work, env=env, capture_output=True, text=True, timeout=300,
    )
    assert seeded.returncode == 0, seeded.stderr
    ids = [line for line in seeded.stdout.splitlines() if line and " " not in line]
    assert len(ids) == 6, seeded.stdout
    proc = subprocess.Popen(
        [sys.executable, "-m", "trackline.cli.main", "ui", "--port", "0"],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("trackline UI: http://127.0.0.1:"), line
    url = line.split()[2]
    import httpx

    projects = httpx.get(url + "/api/v1/projects", timeout=30).json()["projects"]
    entity = next(p["entity"] for p in projects if p["name"] == "vision")
    yield UI(url=url, home=home, work=work, run_ids=ids, entity=entity, proc=proc, env=env)
    proc.terminate()
    proc.communicate(timeout=20)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright; without it the browser tests skip (the rest run)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    playwright_sync = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A Playwright page that records console errors, and saves a screenshot at the end."""

    def __init__(self, page: Any, name: str) -> None:
        self.page = page
        self.name = name
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def shot(self, name: str | None = None) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name or self.name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme="light")
    p = Page(context.new_page(), request.node.name)
    p.page.set_default_timeout(15_000)
    yield p
    try:
        p.shot()
    finally:
        context.close()
    assert p.errors == [], f"console errors: {p.errors}"
