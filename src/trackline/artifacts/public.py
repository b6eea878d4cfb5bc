"""Artifacts in the query API (W&B: ``Api.artifact``, ``Api.artifacts``, ``Run.logged_artifacts``...).

``trackline.Api`` and the public ``Run`` keep thin methods that call these functions, so
the API module stays small and every artifact rule lives in this package. Names follow
W&B: ``Api.artifact("name:alias")`` takes the entity and project from the Api's
overrides (project ``uncategorized`` when none is set).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trackline.artifacts.client import ArtifactClient
from trackline.artifacts.collection import ArtifactCollection, ArtifactType
from trackline.artifacts.errors import ArtifactNotFoundError
from trackline.artifacts.naming import ArtifactPath

if TYPE_CHECKING:
    from trackline.artifacts.artifact import Artifact

DEFAULT_PROJECT = "uncategorized"


def client_for(api: Any) -> ArtifactClient:
    client = getattr(api, "_artifact_client", None)
    if client is None:
        store = api.store
        if store is None:
            raise ValueError("artifacts are read from a store; this Api reads from elsewhere (no local store)")
        client = ArtifactClient.for_store(store, api.settings, api=api)
        api._artifact_client = client
    return client


def _defaults(api: Any) -> tuple[str, str]:
    return api.default_entity, api.settings.project or DEFAULT_PROJECT


def _project(api: Any, project: str | None) -> tuple[str, str]:
    entity, default_project = _defaults(api)
    if not project:
        return entity, default_project
    parts = [p for p in project.strip("/").split("/") if p]
    if len(parts) == 2:
        return parts[0], parts[1]
    if len(parts) == 1:
        return entity, parts[0]
    raise ValueError(f"Invalid project {project!r}: use 'entity/project' or 'project'")


def artifact(api: Any, name: str, type: str | None = None) -> Artifact:
    if not isinstance(name, str) or not name:
        raise ValueError("You must specify name= to fetch an artifact, e.g. api.artifact('entity/project/name:v0')")
    entity, project = _defaults(api)
    return client_for(api).artifact(name, entity, project, type)


def artifact_exists(api: Any, name: str, type: str | None = None) -> bool:
    try:
        artifact(api, name, type)
        return True
    except (ArtifactNotFoundError, ValueError):
        return False


def _collection_row(api: Any, type_name: str | None, name: str) -> dict[str, Any]:
    path = ArtifactPath.from_str(name)
    entity, project = _defaults(api)
    path = path.with_defaults(entity, project)
    found = client_for(api).db.collections(path.entity, path.project, name=path.name)
    if not found or (type_name is not None and found[0]["type"] != type_name):
        what = f"{type_name} " if type_name else ""
        raise ArtifactNotFoundError(
            f"no {what}artifact collection {path.entity}/{path.project}/{path.name} in {client_for(api).store.url}"
        )
    return found[0]


def artifact_collection(api: Any, type_name: str, name: str) -> ArtifactCollection:
    return ArtifactCollection(client_for(api), _collection_row(api, type_name, name))


def artifact_collection_exists(api: Any, name: str, type: str) -> bool:
    try:
        _collection_row(api, type, name)
        return True
    except (ArtifactNotFoundError, ValueError):
        return False


def artifacts(
    api: Any, type_name: str, name: str, per_page: int = 50, tags: list[str] | str | None = None,
    order: str | None = None,
) -> list[Artifact]:
    """The versions of collection ``name`` (newest first), optionally only those with every tag in ``tags``."""
    coll = _collection_row(api, type_name, name)
    client = client_for(api)
    rows = client.db.versions(int(coll["id"]))
    if order in ("+created_at", "created_at", "+version"):
        rows = list(reversed(rows))
    wanted = [tags] if isinstance(tags, str) else list(tags or [])
    out = [client.from_row(r) for r in rows if all(t in (r.get("tags") or []) for t in wanted)]
    return out


def artifact_collections(
    api: Any, project_name: str | None, type_name: str | None, per_page: int = 50
) -> list[ArtifactCollection]:
    entity, project = _project(api, project_name)
    client = client_for(api)
    return [ArtifactCollection(client, r) for r in client.db.collections(entity, project, type_name)]


def artifact_types(api: Any, project: str | None = None) -> list[ArtifactType]:
    entity, proj = _project(api, project)
    client = client_for(api)
    return [ArtifactType(client, entity, proj, t) for t in client.db.types(entity, proj)]


def artifact_type(api: Any, type_name: str, project: str | None = None) -> ArtifactType:
    entity, proj = _project(api, project)
    client = client_for(api)
    if type_name not in client.db.types(entity, proj):
        raise ArtifactNotFoundError(f"no artifacts of type {type_name!r} in {entity}/{proj}")
    return ArtifactType(client, entity, proj, type_name)


# -- a stored run's artifacts ---------------------------------------------------------------------


def run_artifacts(run: Any, direction: str) -> list[Artifact]:
    """``run.logged_artifacts()`` (``output``) / ``run.used_artifacts()`` (``input``)."""
    client = client_for(run._api)
    pk = run._row.get("pk")
    if pk is None:
        return []
    return [client.from_row(r) for r in client.db.run_artifacts(int(pk), direction)]


def mark(run: Any, artifact: Artifact, direction: str) -> Artifact:
    """Record after the fact that a stored run used (or logged) a stored artifact."""
    from trackline.artifacts.artifact import Artifact as ArtifactCls

    if not isinstance(artifact, ArtifactCls) or artifact._row is None:
        raise ValueError("pass a logged Artifact (from api.artifact(...)); log drafts from a running run")
    client = client_for(run._api)
    client.db.add_lineage(int(artifact._row["id"]), int(run._row["pk"]), direction)
    return artifact
