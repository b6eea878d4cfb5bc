"""Where runs live: the Store contract and its implementations, chosen by URL."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trackline.storage.sql.store import SQLStore


def open_store(url: str) -> SQLStore:
    """Open (creating and migrating if needed) the store at ``url``.

    ``sqlite:///path`` or a plain filesystem path gives the embedded store;
    ``postgresql://user@host/db`` the team store.
    """
    from trackline.storage.sql.store import SQLStore

    if "://" not in url:
        url = "sqlite:///" + url
    return SQLStore(url)
