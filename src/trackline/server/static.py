"""The web UI's built files (``server/static``, made by ``scripts/build-ui``), served as an SPA.

Any path that is not an API path or a built asset answers ``index.html``, so links such as
``/entity/project/runs/id?tab=logs`` open the right page. Without a build, a plain page says
how to build it (the API keeps working).
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

DEFAULT_DIR = Path(__file__).parent / "static"

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trackline: UI not built</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:42rem;margin:4rem auto;padding:0 1rem}
code{background:#8882;padding:0 .3em;border-radius:3px}</style></head>
<body><h1>UI not built</h1>
<p>trackline's web UI has not been built into this installation, so there is nothing to show
here yet. The REST API works: see <a href="/api/v1/projects">/api/v1/projects</a> and
<a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
<p>To build the UI from a source checkout (needs Node.js 20 or newer and npm), run
<code>./scripts/build-ui</code> and reload this page. Installing trackline with
<code>pip install .</code> builds it too, unless <code>TRACKLINE_SKIP_UI_BUILD=1</code> is set.</p>
</body></html>
"""


class UIFiles:
    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else DEFAULT_DIR
        self.root = self.directory.resolve()

    @property
    def built(self) -> bool:
        return (self.directory / "index.html").is_file()

    def response(self, request: Request) -> Response:
        if not self.built:
            return HTMLResponse(NOT_BUILT, headers={"Cache-Control": "no-store"})
        rel = request.path_params.get("path", "")
        if rel:
            full = (self.root / rel).resolve()
            if full.is_file() and full.is_relative_to(self.root) and full.name != "index.html":
                immutable = rel.startswith("assets/")
                cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
                return FileResponse(full, headers={"Cache-Control": cache})
            if rel.startswith("assets/"):
                return Response("not found", status_code=404, media_type="text/plain")
        return FileResponse(self.directory / "index.html", headers={"Cache-Control": "no-cache"})
