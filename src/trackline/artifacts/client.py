"""The store-backed side of artifacts: resolve names, read entries, edit, link, lineage.

One :class:`ArtifactClient` per store (and blob store) is shared in a process. It reads
the SQL store directly, which is how ``use_artifact`` works offline: the local store is
right here. The query API, the CLI and the server reach artifacts through it too.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from trackline.artifacts.errors import ArtifactNotFoundError
from trackline.artifacts.manifest import Manifest, ManifestEntry
from trackline.artifacts.naming import ArtifactPath
from trackline.storage.sql.artifacts import ArtifactDB

if TYPE_CHECKING:
    from trackline.artifacts.artifact import Artifact
    from trackline.artifacts.cache import ArtifactCache
    from trackline.settings import Settings
    from trackline.storage.sql.store import SQLStore

_clients: dict[tuple[str, str], ArtifactClient] = {}  # most recently used last
_lock = threading.Lock()
MAX_OPEN_CLIENTS = 8  # a process that touches many stores (tests, notebooks) keeps few open


class ArtifactClient:
    def __init__(self, store: SQLStore, settings: Settings | None = None, api: Any = None) -> None:
        self.store = store
        self.blobs = store.blobs
        self.db = ArtifactDB(store.engine, store.project_id)
        self._settings = settings
        self._api = api
        self._cache: ArtifactCache | None = None

    @classmethod
    def for_settings(cls, settings: Settings) -> ArtifactClient:
        """The shared client of the store these settings name (opened once per process)."""
        key = (settings.store_url, settings.blob_url)
        with _lock:
            client = _clients.pop(key, None)
            if client is None:
                from trackline.storage import open_store

                client = cls(open_store(*key), settings)
            _clients[key] = client
            while len(_clients) > MAX_OPEN_CLIENTS:
                oldest = next(iter(_clients))
                _clients.pop(oldest).store.close()
            return client

    @classmethod
    def for_store(cls, store: SQLStore, settings: Settings | None = None, api: Any = None) -> ArtifactClient:
        return cls(store, settings, api)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from trackline.artifacts.staging import current_settings

            self._settings = current_settings()
        return self._settings

    @property
    def base_url(self) -> str:
        return self.settings.app_url

    def cache(self) -> ArtifactCache:
        if self._cache is None:
            from trackline.artifacts.cache import ArtifactCache
            from trackline.artifacts.staging import cache_root

            self._cache = ArtifactCache(cache_root(self.settings))
        return self._cache

    # -- finding versions ---------------------------------------------------------------------

    def artifact(self, name: str, entity: str, project: str, type: str | None = None) -> Artifact:
        """A committed version by W&B name (``name``, ``name:alias``, ``project/name:vN``, ...)."""
        from trackline.artifacts.artifact import Artifact

        path = ArtifactPath.from_str(name).with_defaults(entity, project)
        assert path.entity is not None and path.project is not None
        row = self.db.resolve(path.entity, path.project, path.name, path.version)
        if row is None:
            raise ArtifactNotFoundError(
                f"artifact '{path.entity}/{path.project}/{path.name}:{path.version or 'latest'}' not found in "
                f"{self.store.url}; `trackline artifact ls {path.entity}/{path.project}` lists what is there"
            )
        if type is not None and row["type"] != type:
            raise ValueError(
                f"Supplied type {type!r} does not match type {row['type']!r} of artifact {path.name!r}"
            )
        return Artifact._from_row(self, row)

    def by_id(self, artifact_id: str) -> Artifact:
        from trackline.artifacts.artifact import Artifact

        row = self.db.by_artifact_id(artifact_id)
        if row is None:
            raise ArtifactNotFoundError(f"no artifact with id {artifact_id!r} in {self.store.url}")
        return Artifact._from_row(self, row)

    def from_row(self, row: dict[str, Any]) -> Artifact:
        from trackline.artifacts.artifact import Artifact

        return Artifact._from_row(self, row)

    def manifest(self, row: dict[str, Any]) -> Manifest:
        m = Manifest()
        for e in self.db.entries(int(row["id"])):
            m.add(ManifestEntry(
                path=e["path"], digest=e["digest"], size=e["size"], ref=e["ref"],
                birth_artifact_id=e["birth_artifact_id"], extra=dict(e["extra"] or {}), sha256=e["sha256"],
            ))
        return m

    def links_of(self, vid: int) -> list[dict[str, Any]]:
        from sqlalchemy import select

        from trackline.storage.sql import schema as t

        with self.store.engine.connect() as conn:
            ids = [int(x) for (x,) in conn.execute(
                select(t.artifact_versions.c.id).where(t.artifact_versions.c.source_version_id == vid)
            )]
        return [r for r in (self.db.version(i) for i in ids) if r is not None]

    # -- runs ---------------------------------------------------------------------------------

    def api(self) -> Any:
        if self._api is None:
            from trackline.api.api import Api
            from trackline.api.reader import StoreReader

            self._api = Api(reader=StoreReader(self.store))
        return self._api

    def run_rows(self, pks: list[int]) -> list[dict[str, Any]]:
        from sqlalchemy import select

        from trackline.storage.sql import schema as t

        if not pks:
            return []
        q = (
            select(t.runs, t.projects.c.entity, t.projects.c.name.label("project"))
            .join(t.projects, t.projects.c.id == t.runs.c.project_id)
            .where(t.runs.c.pk.in_(pks))
        )
        with self.store.engine.connect() as conn:
            by_pk = {int(r.pk): dict(r._mapping) for r in conn.execute(q)}
        return [by_pk[pk] for pk in pks if pk in by_pk]

    def public_runs(self, pks: list[int]) -> list[Any]:
        from trackline.api.public_run import Run

        api = self.api()
        return [Run(api, row) for row in self.run_rows(pks)]
