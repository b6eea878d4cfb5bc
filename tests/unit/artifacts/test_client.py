"""One artifact client per store, shared in a process; few stay open."""

from __future__ import annotations

from pathlib import Path

from trackline.artifacts import client as client_mod
from trackline.settings import Settings


def test_clients_are_shared_and_bounded(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(client_mod, "MAX_OPEN_CLIENTS", 2)
    client_mod._clients.clear()
    settings = [Settings(store=str(tmp_path / f"s{i}.db")) for i in range(3)]
    first = client_mod.ArtifactClient.for_settings(settings[0])
    assert client_mod.ArtifactClient.for_settings(settings[0]) is first
    client_mod.ArtifactClient.for_settings(settings[1])
    client_mod.ArtifactClient.for_settings(settings[0])  # most recently used again
    client_mod.ArtifactClient.for_settings(settings[2])
    keys = [k[0] for k in client_mod._clients]
    assert keys == [settings[0].store_url, settings[2].store_url]  # s1 was the least recently used
    assert first.db.collections(None, None) == []  # an evicted-then-reused store still works
