"""Collections and types of artifacts (W&B: ``ArtifactCollection``, ``ArtifactType``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trackline.artifacts import naming

if TYPE_CHECKING:
    from trackline.artifacts.artifact import Artifact
    from trackline.artifacts.client import ArtifactClient


class ArtifactCollection:
    """The versions of one artifact name in a project (a portfolio holds links, e.g. a registered model)."""

    def __init__(self, client: ArtifactClient, row: dict[str, Any]) -> None:
        self._client = client
        self._row = row
        self.id = row["id"]
        self.entity: str = row["entity"]
        self.project: str = row["project"]
        self._name: str = row["name"]
        self.type: str = row["type"]
        self.description: str | None = row.get("description")
        self._tags: list[str] = list(row.get("tags") or [])
        self.created_at = row.get("created_at")
        self.aliases: list[str] = list(row.get("aliases") or [])

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = naming.validate_name(value)

    @property
    def tags(self) -> list[str]:
        return list(self._tags)

    @tags.setter
    def tags(self, value: list[str]) -> None:
        self._tags = naming.validate_tags(value)

    def is_sequence(self) -> bool:
        """True for logged versions, False for a portfolio of links."""
        return not bool(self._row.get("is_portfolio"))

    @property
    def version_count(self) -> int:
        return int(self._row.get("version_count") or 0)

    def artifacts(self, per_page: int = 50) -> list[Artifact]:
        """The versions, newest first."""
        return [self._client.from_row(r) for r in self._client.db.versions(int(self.id))]

    versions = artifacts

    def save(self) -> None:
        """Persist edits of ``name``, ``description`` and ``tags``."""
        self._client.db.update_collection(int(self.id), {"name": self._name, "description": self.description,
                                                         "tags": self._tags})

    def delete(self) -> None:
        """Delete the collection and every version in it."""
        self._client.db.delete_collection(int(self.id))

    def __repr__(self) -> str:
        return f"<ArtifactCollection {self.entity}/{self.project}/{self._name} ({self.type})>"


class ArtifactType:
    """The artifacts of one type in a project."""

    def __init__(self, client: ArtifactClient, entity: str, project: str, type_name: str) -> None:
        self._client = client
        self.entity = entity
        self.project = project
        self.name = type_name
        self.type = type_name

    def collections(self, per_page: int = 50) -> list[ArtifactCollection]:
        return [ArtifactCollection(self._client, r)
                for r in self._client.db.collections(self.entity, self.project, self.name)]

    def collection(self, name: str) -> ArtifactCollection:
        found = self._client.db.collections(self.entity, self.project, self.name, name=name)
        if not found:
            raise ValueError(f"no {self.name} collection {name!r} in {self.entity}/{self.project}")
        return ArtifactCollection(self._client, found[0])

    def __repr__(self) -> str:
        return f"<ArtifactType {self.name} in {self.entity}/{self.project}>"
