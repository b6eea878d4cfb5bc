"""Manifest v1 and digests exactly as W&B computes them.

* An entry's digest is the base64 MD5 of its content (a reference's is its ETag, or the
  URI itself when nothing better is known).
* The artifact digest is the hex MD5 over ``wandb-artifact-manifest-v1\\n`` followed by
  ``"<path>:<entry digest>\\n"`` for every entry, sorted by path. The same files give
  the same digest in W&B and in trackline, which is what makes a re-log of unchanged
  content create no new version.

Entries also carry ``sha256`` (the blob's identity in trackline's blob store) and
``local_path`` (where the bytes are before the sender stores them); neither is part of
the W&B manifest JSON.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from trackline.storage.paths import safe_relpath

MANIFEST_VERSION = 1
STORAGE_POLICY = "wandb-storage-policy-v1"
HEADER = b"wandb-artifact-manifest-v1\n"


@dataclass
class ManifestEntry:
    """One file (or reference) of an artifact (W&B: ``ArtifactManifestEntry``)."""

    path: str
    digest: str
    size: int | None = None
    ref: str | None = None
    birth_artifact_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    sha256: str | None = None  # trackline: content address in the blob store
    local_path: str | None = None  # not serialised: where the bytes are until stored
    skip_cache: bool = False
    _parent: Any = field(default=None, repr=False, compare=False)  # the logged Artifact it came from

    def __post_init__(self) -> None:
        safe_relpath(self.path, "artifact entry name")

    def parent_artifact(self) -> Any:
        """The logged artifact this entry belongs to (``artifact.get_entry(...)``)."""
        if self._parent is None:
            raise ValueError(
                f"entry {self.path!r} is not bound to a logged artifact: get it with artifact.get_entry(path)"
            )
        return self._parent

    def download(self, root: str | None = None, skip_cache: bool | None = None) -> str:
        """Write this entry under ``root`` (default: the artifact's download folder); returns the file's path.

        An entry of another artifact (``wandb-artifact://``) is fetched from that version.
        """
        return str(self.parent_artifact()._download_entry(self, root, bool(skip_cache)))

    def ref_url(self) -> str:
        """``wandb-artifact://<artifact id>/<path>``: this entry, for another artifact's ``add_reference``."""
        from trackline.artifacts.artifact_refs import ref_url

        art = self.parent_artifact()
        return ref_url(str(art._source()["artifact_id"]), self.path)

    def ref_target(self) -> str:
        """The URI a reference entry points at (for an artifact reference: what its target points at)."""
        if self.ref is None:
            raise ValueError("Only reference entries support ref_target().")
        from trackline.artifacts.artifact_refs import is_artifact_ref

        if is_artifact_ref(self.ref) and self._parent is not None:
            target = self._parent._concrete(self)
            if target.ref is not None:
                return str(target.ref)
        return self.ref

    @property
    def name(self) -> str:
        return self.path

    def is_reference(self) -> bool:
        return self.ref is not None

    def to_json(self) -> dict[str, Any]:
        """The W&B manifest form: fields at their default are left out."""
        out: dict[str, Any] = {"digest": self.digest}
        if self.birth_artifact_id:
            out["birthArtifactID"] = self.birth_artifact_id
        if self.ref:
            out["ref"] = self.ref
        if self.extra:
            out["extra"] = self.extra
        if self.size is not None:
            out["size"] = self.size
        return out

    def to_record(self) -> list[Any]:
        """The compact form written to the record log (and read back by the store)."""
        return [self.path, self.digest, self.size, self.sha256, self.ref, self.extra or None,
                self.local_path, self.birth_artifact_id]

    @classmethod
    def from_record(cls, rec: list[Any]) -> ManifestEntry:
        path, digest, size, sha256, ref, extra, local_path, birth = (list(rec) + [None] * 8)[:8]
        return cls(path=path, digest=digest, size=size, ref=ref, birth_artifact_id=birth,
                   extra=dict(extra or {}), sha256=sha256, local_path=local_path)

    def __repr__(self) -> str:
        kind = f"ref={self.ref!r}" if self.ref else f"size={self.size}"
        return f"<ManifestEntry {self.path!r} digest={self.digest!r} {kind}>"


def artifact_digest(entries: Mapping[str, Any] | list[tuple[str, str]]) -> str:
    """Hex MD5 of the manifest header and the sorted ``path:digest`` lines.

    ``entries`` maps path -> entry (anything with ``.digest``) or is a list of
    ``(path, digest)`` pairs.
    """
    pairs: list[tuple[str, str]]
    if isinstance(entries, Mapping):
        pairs = [(p, e.digest if hasattr(e, "digest") else str(e)) for p, e in entries.items()]
    else:
        pairs = list(entries)
    h = hashlib.md5(HEADER)
    for path, digest in sorted(pairs):
        h.update(f"{path}:{digest}\n".encode())
    return h.hexdigest()


class Manifest:
    """The entries of an artifact, by path (W&B: ``ArtifactManifestV1``)."""

    def __init__(self, entries: Mapping[str, ManifestEntry] | None = None,
                 storage_layout: str = "V2") -> None:
        self.entries: dict[str, ManifestEntry] = dict(entries or {})
        self.storage_layout = storage_layout

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[ManifestEntry]:
        return iter(self.entries.values())

    def __contains__(self, path: object) -> bool:
        return path in self.entries

    def add(self, entry: ManifestEntry) -> None:
        self.entries[entry.path] = entry

    def remove(self, path: str) -> None:
        del self.entries[path]

    def get(self, path: str) -> ManifestEntry | None:
        return self.entries.get(path)

    def digest(self) -> str:
        return artifact_digest(self.entries)

    @property
    def size(self) -> int:
        return sum(e.size or 0 for e in self.entries.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "storagePolicy": STORAGE_POLICY,
            "storagePolicyConfig": {"storageLayout": self.storage_layout},
            "contents": {p: self.entries[p].to_json() for p in sorted(self.entries)},
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=4, sort_keys=True)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        """Read a W&B ``wandb_manifest.json`` (version 1); every path is validated."""
        if data.get("version") != MANIFEST_VERSION:
            raise ValueError(f"unsupported artifact manifest version {data.get('version')!r}; only 1 is known")
        contents = data.get("contents")
        if not isinstance(contents, Mapping):
            raise ValueError("artifact manifest has no 'contents' mapping")
        layout = (data.get("storagePolicyConfig") or {}).get("storageLayout", "V2")
        m = cls(storage_layout=layout)
        for path, raw in contents.items():
            if not isinstance(raw, Mapping) or not isinstance(raw.get("digest"), str):
                raise ValueError(f"artifact manifest entry {path!r} has no digest")
            m.add(ManifestEntry(
                path=path,
                digest=raw["digest"],
                size=raw.get("size"),
                ref=raw.get("ref"),
                birth_artifact_id=raw.get("birthArtifactID"),
                extra=dict(raw.get("extra") or {}),
            ))
        return m
