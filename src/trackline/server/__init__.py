"""The trackline server: a REST API under ``/api/v1`` and the web UI, over one Store.

``create_app(store_url)`` builds the ASGI app (Starlette); ``trackline ui`` serves it on
127.0.0.1 with uvicorn (``trackline.server.serve``). The app keeps no state of its own
besides the open store, so several workers can serve one database.
"""

from trackline.server.app import create_app

__all__ = ["create_app"]
