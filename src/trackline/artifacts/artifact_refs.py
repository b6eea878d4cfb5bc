"""``wandb-artifact://`` references: an entry that points at an entry of another artifact version.

W&B writes them as ``wandb-artifact://<artifact id>/<path in that artifact>``
(``artifact.get_entry(path).ref_url()``), and ``add_reference`` takes that form, an
entry itself, or, in trackline, a name: ``wandb-artifact://[[entity/]project/]name:version/<path>``.
As in W&B the reference is resolved when it is added (the target must be logged, which
works offline: the local store is read), following a chain of such references to the
entry that holds the content; the new entry gets that entry's digest, ``size`` 0 (the
bytes belong to the other version, as in W&B) and the canonical id form as its ``ref``,
so an alias that later moves does not change what the entry means.

trackline also keeps the target's blob address (``sha256``) on the entry: the content is
read from the blob store without a lookup, and the blob stays referenced (``trackline gc``
keeps it) even if the other version is deleted. A target that is itself a reference
(``s3://``, ``https://``, ``file://``) is fetched through the other version at download.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trackline.artifacts.manifest import ManifestEntry
from trackline.storage.paths import safe_relpath
from trackline.storage.sql.artifacts import ARTIFACT_REF_PREFIX as PREFIX

if TYPE_CHECKING:
    from trackline.artifacts.client import ArtifactClient

SCHEME = "wandb-artifact"
MAX_CHAIN = 32  # a longer chain of references to references is a cycle or a mistake


def is_artifact_ref(ref: str | None) -> bool:
    return isinstance(ref, str) and ref.startswith(PREFIX)


def ref_url(artifact_id: str, path: str) -> str:
    return f"{PREFIX}{artifact_id}/{path}"


@dataclass(frozen=True)
class Target:
    """Where a reference points: a version row and the entry at ``path`` in it."""

    row: dict[str, Any]
    entry: dict[str, Any]
    path: str

    @property
    def artifact_id(self) -> str:
        """The id of the version that holds the entry (a link's source)."""
        src = self.row.get("source")
        return str(src["artifact_id"] if src else self.row["artifact_id"])


def _find(client: ArtifactClient, uri: str, entity: str | None, project: str | None) -> Target:
    from trackline.artifacts.naming import ArtifactPath

    body = uri[len(PREFIX):]
    parts = body.split("/")
    if len(parts) < 2 or not parts[0] or not parts[-1]:
        raise ValueError(
            f"add_reference: {uri!r} is not an artifact entry; use 'wandb-artifact://<artifact id>/<path>' "
            "(artifact.get_entry(path).ref_url()) or 'wandb-artifact://entity/project/name:v0/<path>'"
        )
    row = client.db.by_artifact_id(parts[0])  # W&B's form: the version's id
    rest = parts[1:]
    if row is None:
        k = next((i for i, p in enumerate(parts[:3]) if ":" in p), None)
        if k is None or k + 1 >= len(parts):
            raise ValueError(
                f"add_reference: {uri!r}: no artifact with id {parts[0]!r} in {client.store.url}; a name needs a "
                "version or alias, as in 'wandb-artifact://project/name:v0/<path>'"
            )
        name = ArtifactPath.from_str("/".join(parts[: k + 1]))
        e, p = name.entity or entity, name.project or project
        if not e or not p:
            raise ValueError(f"add_reference: {uri!r}: say which project, as in 'wandb-artifact://project/{parts[k]}/...'")
        row = client.db.resolve(e, p, name.name, name.version)
        if row is None:
            raise ValueError(f"add_reference: {uri!r}: artifact '{e}/{p}/{name.name}:{name.version}' not found "
                             f"in {client.store.url}")
        rest = parts[k + 1:]
    path = safe_relpath("/".join(rest), "referenced entry path")
    if row.get("state") != "COMMITTED":
        raise ValueError(f"add_reference: {uri!r}: that version is {row.get('state', 'not committed').lower()}")
    entry = client.db.entry(int(row["id"]), path)
    if entry is None:
        raise ValueError(f"add_reference: {uri!r}: artifact {row['collection']}:v{row['version_index']} "
                         f"has no entry {path!r}")
    return Target(row, entry, path)


def resolve(client: ArtifactClient, uri: str, entity: str | None = None, project: str | None = None) -> Target:
    """The entry a reference finally points at, following references to references (W&B's ``store_path``)."""
    seen: set[str] = set()
    target = _find(client, uri, entity, project)
    while is_artifact_ref(target.entry.get("ref")):
        nxt = str(target.entry["ref"])
        if nxt in seen or len(seen) >= MAX_CHAIN:
            raise ValueError(f"add_reference: {uri!r}: the chain of artifact references does not end ({nxt})")
        seen.add(nxt)
        target = _find(client, nxt, None, None)
    return target


def reference_entry(client: ArtifactClient, uri: str, name: str | None, entity: str | None,
                    project: str | None) -> ManifestEntry:
    """The manifest entry for ``add_reference("wandb-artifact://...", name)``."""
    target = resolve(client, uri, entity, project)
    canonical = ref_url(target.artifact_id, target.path)
    path = safe_relpath(name if name is not None else posixpath.basename(target.path), "name")
    return ManifestEntry(path=path, digest=str(target.entry["digest"]), size=0, ref=canonical,
                         sha256=target.entry.get("sha256"))


def concrete_entry(client: ArtifactClient, entry: ManifestEntry) -> ManifestEntry:
    """``entry`` with the content address of what it points at (for downloads): a stored
    file's blob, or the other version's own reference (s3://, https://, file://)."""
    assert entry.ref is not None
    target = resolve(client, entry.ref)
    t = target.entry
    return ManifestEntry(path=entry.path, digest=str(t["digest"]), size=t.get("size"), ref=t.get("ref"),
                         extra=dict(t.get("extra") or {}), sha256=t.get("sha256"))
