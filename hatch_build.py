"""Hatchling build hook: build the web UI (ui/, Vite) into src/trackline/server/static.

Runs for wheels and editable installs. It skips cleanly, with a note, when
``TRACKLINE_SKIP_UI_BUILD=1`` is set, when npm is not installed, or when the build is
already newer than every UI source file. A failed UI build warns and leaves the package
without a UI (the server then shows a "UI not built" page), unless
``TRACKLINE_REQUIRE_UI_BUILD=1`` asks for it to be an error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

UI_INPUTS = ("src", "public", "index.html", "package.json", "package-lock.json", "vite.config.ts", "svelte.config.js", "tsconfig.json")


def newest_source(ui: Path) -> float:
    newest = 0.0
    for name in UI_INPUTS:
        p = ui / name
        if p.is_file():
            newest = max(newest, p.stat().st_mtime)
        elif p.is_dir():
            for f in p.rglob("*"):
                if f.is_file() and ".test." not in f.name:
                    newest = max(newest, f.stat().st_mtime)
    return newest


def is_stale(ui: Path, static: Path) -> bool:
    index = static / "index.html"
    return not index.is_file() or index.stat().st_mtime < newest_source(ui)


class UIBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        ui = root / "ui"
        static = root / "src" / "trackline" / "server" / "static"
        self._build(ui, static)
        if version == "standard" and (static / "index.html").is_file():
            # the build output is gitignored, so hatch would leave it out of the wheel
            build_data["force_include"][str(static)] = "trackline/server/static"

    def _build(self, ui: Path, static: Path) -> None:
        if os.environ.get("TRACKLINE_SKIP_UI_BUILD") == "1":
            self.app.display_info("trackline: TRACKLINE_SKIP_UI_BUILD=1, not building the web UI")
            return
        if not (ui / "package.json").is_file():
            return  # an sdist without the UI sources: nothing to build
        npm = shutil.which("npm")
        if npm is None:
            self.app.display_warning(
                "trackline: npm not found, so the web UI is not built (the server will say so). "
                "Install Node.js 20+ and run ./scripts/build-ui, or set TRACKLINE_SKIP_UI_BUILD=1."
            )
            return
        if not is_stale(ui, static):
            self.app.display_info("trackline: web UI build is up to date")
            return
        self.app.display_info("trackline: building the web UI (npm ci && npm run build)")
        try:
            if not (ui / "node_modules").is_dir() or (ui / "package-lock.json").stat().st_mtime > (ui / "node_modules").stat().st_mtime:
                subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ui, check=True)
            subprocess.run([npm, "run", "build", "--silent"], cwd=ui, check=True)
        except (subprocess.CalledProcessError, OSError) as exc:
            if os.environ.get("TRACKLINE_REQUIRE_UI_BUILD") == "1":
                raise
            self.app.display_warning(f"trackline: the web UI build failed ({exc}); installing without it")
