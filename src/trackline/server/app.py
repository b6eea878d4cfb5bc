"""The ASGI app: ``/api/v1`` (JSON) and the web UI, with JSON errors for every API failure."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from trackline.server import api, artifacts, media, sweeps
from trackline.server.errors import ApiError, error_body
from trackline.server.responses import JSON
from trackline.server.static import UIFiles
from trackline.storage.sql.store import SQLStore

log = logging.getLogger("trackline.server")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


# The app's own pages: scripts and styles only from this origin (uPlot and Svelte set inline
# styles), media and blobs from here; nothing may frame the app. connect-src allows data: and
# blob: URLs (which reach no other origin) because three.js's glTF loader fetches a .gltf's
# embedded buffers (data: URIs) and a GLB's textures (blob: URLs). Logged HTML media get a
# stricter policy of their own (server/media.py) and run sandboxed in an iframe.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' data: blob:; "
    "frame-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'self'"
)
# The one page allowed to evaluate code: the UI's plotly frame (ui/public/plotly-frame.html),
# which draws plotly figures with WebGL traces (plotly.js compiles their shaders with `new
# Function`). It is sandboxed by this policy itself (an opaque origin, so its scripts cannot
# reach the app even when opened directly), loads scripts only from the app's own files and
# talks to the app only through postMessage.
PLOTLY_FRAME_PATH = "/plotly-frame.html"
PLOTLY_FRAME_POLICY = (
    "sandbox allow-scripts; default-src 'none'; script-src 'self' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "worker-src blob:; frame-ancestors 'self'"
)


class SecurityHeaders:
    """Adds the CSP (and friends) to every response that does not set its own."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                if b"content-security-policy" not in names:
                    policy = PLOTLY_FRAME_POLICY if scope.get("path") == PLOTLY_FRAME_PATH else CONTENT_SECURITY_POLICY
                    headers.append((b"content-security-policy", policy.encode()))
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSON(error_body(exc.status, exc.message, exc.code), status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not _is_api(request):
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code)
    message = {
        404: f"no API endpoint at {request.url.path}; see /api/v1/openapi.json",
        405: f"{request.method} is not allowed on {request.url.path}; see /api/v1/openapi.json",
    }.get(exc.status_code, str(exc.detail))
    return JSON(error_body(exc.status_code, message), status_code=exc.status_code)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("error serving %s %s", request.method, request.url.path)
    message = f"internal error: {type(exc).__name__}: {exc}"
    return JSON(error_body(500, message), status_code=500)


def create_app(
    store: SQLStore | str,
    static_dir: str | os.PathLike[str] | None = None,
    allowed_hosts: Sequence[str] | None = None,
) -> Starlette:
    """The trackline app over ``store`` (a Store or its URL/path).

    ``static_dir`` holds the built UI (default: the package's ``server/static``);
    ``allowed_hosts`` limits the Host header (against DNS rebinding when serving on
    loopback); None accepts any.
    """
    if isinstance(store, str):
        from trackline.storage import open_store

        store = open_store(store)
    ui = UIFiles(static_dir)

    async def not_found_api(request: Request) -> Response:
        raise ApiError(404, f"no API endpoint at {request.url.path}; see /api/v1/openapi.json")

    def page(request: Request) -> Response:
        return ui.response(request)

    middleware: list[Middleware] = [Middleware(SecurityHeaders)]
    if allowed_hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    handlers: dict[Any, Any] = {
        ApiError: _api_error,
        HTTPException: _http_error,
        Exception: _server_error,
    }
    app = Starlette(
        routes=[
            Mount("/api/v1", routes=[*api.routes, *media.routes, *artifacts.routes, *sweeps.routes]),
            Route("/api/{path:path}", not_found_api, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
            Route("/{path:path}", page, methods=["GET", "HEAD"]),
        ],
        middleware=middleware,
        exception_handlers=handlers,
    )
    app.state.store = store
    app.state.ui_built = ui.built
    return app
