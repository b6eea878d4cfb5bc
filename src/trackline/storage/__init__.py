"""Where runs live: the Store contract and its implementations, chosen by URL."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trackline.storage.sql.store import SQLStore


def open_store(url: str, blobs: str | None = None) -> SQLStore:
    """Open (creating and migrating if needed) the store at ``url``.

    ``sqlite:///path`` or a plain filesystem path gives the embedded store;
    ``postgresql://user@host/db`` the team store. ``blobs`` is the blob store for run
    files and artifacts (a folder or URL); without it, the folder ``blobs`` next to a
    SQLite file.
    """
    from trackline.storage.blobs import open_blob_store
    from trackline.storage.sql.store import SQLStore

    if "://" not in url:
        url = "sqlite:///" + url
    if blobs is None and url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        import os

        blobs = os.path.join(os.path.dirname(os.path.abspath(url[len("sqlite:///") :])), "blobs")
    return SQLStore(url, open_blob_store(blobs) if blobs else None)
