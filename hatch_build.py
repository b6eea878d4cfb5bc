"""Hatchling build hook: build the web UI (ui/, Vite) into src/trackline/server/static, and
compile the C extension ``trackline.data_types._histogram_native``.

Runs for wheels and editable installs. It skips cleanly, with a note, when
``TRACKLINE_SKIP_UI_BUILD=1`` is set, when npm is not installed, or when the build is
already newer than every UI source file. A failed UI build warns and leaves the package
without a UI (the server then shows a "UI not built" page), unless
``TRACKLINE_REQUIRE_UI_BUILD=1`` asks for it to be an error.

The C extension is compiled beside its source (so an editable install imports it) with the
compiler Python was built with (``sysconfig``'s ``LDSHARED``), when the source is newer than
the built file. Without a compiler, or on an interpreter other than CPython, it warns and
the package works without it (histograms then use ``numpy.histogram``), unless
``TRACKLINE_REQUIRE_NATIVE=1`` asks for it to be an error.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

NATIVE_SOURCES = ("src/trackline/data_types/_histogram_native.c",)
# -fno-trapping-math lets the compiler vectorise the C code's compare-and-select loops.
NATIVE_FLAGS = ("-O3", "-fno-trapping-math", "-fPIC", "-Wall")

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
        built = [out for src in NATIVE_SOURCES if (out := self._build_native(root / src)) is not None]
        if version == "standard" and built:
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
            for out in built:
                build_data["force_include"][str(out)] = str(out.relative_to(root / "src"))

    def _build_native(self, source: Path) -> Path | None:
        """Compile ``source`` into an extension module beside it; its path, or None (warned) if it can't."""
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        out = source.with_name(source.stem + str(suffix))
        if not source.is_file():
            return out if out.is_file() else None  # an sdist without C sources
        if out.is_file() and out.stat().st_mtime >= source.stat().st_mtime:
            return out
        linker = sysconfig.get_config_var("LDSHARED")
        if sys.implementation.name != "cpython" or not suffix or not linker:
            self.app.display_warning(f"trackline: not compiling {source.name} (needs CPython); using numpy instead")
            return None
        include = sysconfig.get_paths()["include"]
        partial = out.with_name(out.name + ".partial")
        command = [*shlex.split(str(linker)), *NATIVE_FLAGS, "-I", include, str(source), "-o", str(partial)]
        self.app.display_info(f"trackline: compiling {source.name}")
        try:
            subprocess.run(command, check=True)
            os.replace(partial, out)  # a running process keeps the file it loaded
        except (subprocess.CalledProcessError, OSError) as exc:
            partial.unlink(missing_ok=True)
            if os.environ.get("TRACKLINE_REQUIRE_NATIVE") == "1":
                raise
            self.app.display_warning(
                f"trackline: compiling {source.name} failed ({exc}); histograms will use numpy.histogram "
                "(install a C compiler and Python's headers, then reinstall, for the fast path)"
            )
            return None
        return out

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
