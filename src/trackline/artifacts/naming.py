"""Artifact names, types, aliases and tags, validated by W&B's rules; artifact paths parsed.

``name``, ``name:alias``, ``name:vN``, ``project/name:...``, ``entity/project/name:...``
(W&B's ``ArtifactPath.from_str``): the part after the first ``:`` is the version or alias.
A registry collection is ``wandb-registry-<registry>/<collection>`` (its project part).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

NAME_MAX = 128
METADATA_MAX_KEYS = 100
_NAME = re.compile(r"^[A-Za-z0-9_\-.]+$")
_TAG = re.compile(r"^[-\w]+( +[-\w]+)*$")
_VERSION = re.compile(r"^v(\d+)$")
REGISTRY_PREFIX = "wandb-registry-"
MODEL_REGISTRY_PROJECT = "model-registry"


def validate_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"Artifact name must be a non-empty string like 'my-dataset', got {name!r}")
    if len(name) > NAME_MAX:
        raise ValueError(f"Artifact name is longer than {NAME_MAX} characters: {name[:40]!r}...; shorten it")
    if not _NAME.match(name):
        raise ValueError(
            "Artifact name may only contain alphanumeric characters, dashes, underscores, and dots. "
            f"Invalid name: {name!r}"
        )
    return name


def validate_type(type_: object, name: str, internal: bool = False) -> str:
    """W&B's reserved types: ``wandb-*``, ``job``, ``run_table`` for ``run-*``, ``code`` for ``source-*``."""
    if not isinstance(type_, str) or not type_:
        raise ValueError(f"Artifact type must be a non-empty string like 'dataset' or 'model', got {type_!r}")
    if len(type_) > NAME_MAX:
        raise ValueError(f"Artifact type is longer than {NAME_MAX} characters: {type_[:40]!r}...")
    if internal:
        return type_
    reserved = (
        type_.startswith("wandb-")
        or type_ == "job"
        or (type_ == "run_table" and name.startswith("run-"))
        or (type_ == "code" and name.startswith("source-"))
    )
    if reserved:
        raise ValueError(
            f"Artifact type {type_!r} is reserved for internal use (name {name!r}). "
            "Please use a different type."
        )
    return type_


def validate_aliases(aliases: object) -> list[str]:
    """Aliases must not contain ``/`` or ``:``; ``vN`` is a version index, not an alias."""
    if aliases is None:
        return []
    if isinstance(aliases, str):
        aliases = [aliases]
    if not isinstance(aliases, Iterable):
        raise TypeError(f"aliases must be a list of strings like ['best'], got {type(aliases).__name__}")
    out: list[str] = []
    for a in aliases:
        if not isinstance(a, str) or not a:
            raise ValueError(f"aliases must be non-empty strings, got {a!r}")
        if "/" in a or ":" in a:
            raise ValueError(
                f"Aliases must not contain any of the following characters: '/', ':'. Invalid alias: {a!r}"
            )
        if _VERSION.match(a):
            raise ValueError(f"alias {a!r} looks like a version index (vN); versions are assigned, pick another alias")
        if len(a) > NAME_MAX:
            raise ValueError(f"alias {a[:40]!r}... is longer than {NAME_MAX} characters")
        if a not in out:
            out.append(a)
    return out


def validate_tags(tags: object) -> list[str]:
    """Tags match ``^[-\\w]+( +[-\\w]+)*$``; duplicates are removed, order kept."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, Iterable):
        raise TypeError(f"tags must be a list of strings like ['prod'], got {type(tags).__name__}")
    out: list[str] = []
    for t in tags:
        if not isinstance(t, str) or not _TAG.match(t):
            raise ValueError(
                f"Invalid tag {t!r}: tags may contain letters, digits, '_', '-' and single spaces "
                "between words"
            )
        if t not in out:
            out.append(t)
    return out


def version_index(token: str) -> int | None:
    """``3`` for ``"v3"``; None for an alias."""
    m = _VERSION.match(token)
    return int(m.group(1)) if m else None


def is_registry_project(project: str) -> bool:
    return project == MODEL_REGISTRY_PROJECT or project.startswith(REGISTRY_PREFIX)


def safe_artifact_name(name: str) -> str:
    """W&B's ``make_artifact_name_safe``: odd characters become ``_``; long names keep both ends."""
    cleaned = re.sub(r"[^A-Za-z0-9_\-.]", "_", name)
    if len(cleaned) > NAME_MAX:
        cleaned = cleaned[:63] + ".." + cleaned[-63:]
    return cleaned


@dataclass(frozen=True)
class ArtifactPath:
    """A parsed ``[[entity/]project/]name[:version_or_alias]``."""

    name: str
    project: str | None = None
    entity: str | None = None
    version: str | None = None  # "vN" or an alias; None when not given

    @classmethod
    def from_str(cls, path: str) -> ArtifactPath:
        if not isinstance(path, str) or not path.strip():
            raise ValueError(
                f"Invalid artifact path {path!r}: use 'name:alias', 'name:v3', 'project/name:latest' "
                "or 'entity/project/name:v0'"
            )
        body, sep, version = path.strip().partition(":")
        if sep and not version:
            raise ValueError(f"Invalid artifact path {path!r}: nothing after ':'; use 'name:latest' or 'name:v0'")
        if "/" in version:
            raise ValueError(f"Invalid artifact path {path!r}: the version or alias after ':' may not contain '/'")
        parts = body.split("/")
        if len(parts) > 3:
            raise ValueError(
                f"Invalid artifact path {path!r}: more than 3 parts; use 'entity/project/name:alias'"
            )
        if any(not p for p in parts):
            raise ValueError(f"Invalid artifact path {path!r}: empty part between '/'")
        name = parts[-1]
        project = parts[-2] if len(parts) >= 2 else None
        entity = parts[0] if len(parts) == 3 else None
        return cls(name=name, project=project, entity=entity, version=version or None)

    def with_defaults(self, entity: str, project: str) -> ArtifactPath:
        return ArtifactPath(self.name, self.project or project, self.entity or entity, self.version)

    def __str__(self) -> str:
        prefix = "/".join(p for p in (self.entity, self.project) if p)
        full = f"{prefix}/{self.name}" if prefix else self.name
        return f"{full}:{self.version}" if self.version else full
