"""``trackline.Artifact``: a versioned set of files (W&B: ``wandb.Artifact``).

An Artifact starts as a draft: ``add_file``/``add_dir``/``new_file``/``add_reference``/
``add`` build its manifest (files are hashed, and staged into the blob store, as they
are added). ``run.log_artifact(a)`` finalizes it and writes it to the run's record log;
the store then assigns ``v0, v1, ...`` (no new version when the digest is unchanged).
An Artifact read back (``run.use_artifact``, ``Api.artifact``) is a committed version:
``download``, ``checkout``, ``verify``, ``file``, ``files``, ``get`` work on it, and its
``description``, ``metadata``, ``aliases``, ``tags`` and ``ttl`` can be edited and
``save()``-d.
"""

from __future__ import annotations

import contextlib
import datetime
import enum
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from trackline.artifacts import naming
from trackline.artifacts.errors import (
    ArtifactFinalizedError,
    ArtifactNotLoggedError,
    WaitTimeoutError,
)
from trackline.artifacts.manifest import Manifest, ManifestEntry
from trackline.storage.paths import UnsafePathError, link_stays_inside, safe_relpath

if TYPE_CHECKING:
    from trackline.artifacts.client import ArtifactClient
    from trackline.storage.blobs import LocalBlobStore


class ArtifactTTL(enum.Enum):
    """``ttl = ArtifactTTL.INHERIT``: take the collection's policy (trackline has none: kept)."""

    INHERIT = 0


class ArtifactState:
    PENDING = "PENDING"
    COMMITTED = "COMMITTED"
    DELETED = "DELETED"


def _check_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError as exc:
            raise ValueError(f"metadata: a string must be a JSON object, got {metadata[:40]!r}") from exc
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a dict (or a JSON object string), got {type(metadata).__name__}")
    if len(metadata) > naming.METADATA_MAX_KEYS:
        raise ValueError(
            f"metadata has {len(metadata)} keys; at most {naming.METADATA_MAX_KEYS} are allowed "
            "(nest related values under one key)"
        )
    from trackline.sdk.values import json_friendly

    out = {str(k): json_friendly(v) for k, v in metadata.items()}
    json.dumps(out)  # a value that cannot be stored fails here, not in the sender
    return out


def _check_ttl(ttl: Any) -> Any:
    if ttl is None or ttl is ArtifactTTL.INHERIT:
        return ttl
    if not isinstance(ttl, datetime.timedelta):
        raise TypeError(f"ttl must be a datetime.timedelta, ArtifactTTL.INHERIT or None, got {type(ttl).__name__}")
    if ttl.total_seconds() <= 0:
        raise ValueError(f"ttl must be positive, got {ttl}")
    return ttl


class _PendingLog:
    """A log/upsert request written to a run's record log, not yet seen in the store."""

    def __init__(self, run: Any, seq: int, client_id: str, entity: str, project: str) -> None:
        self.run = run
        self.seq = seq
        self.client_id = client_id
        self.entity = entity
        self.project = project


class Artifact:
    """A versioned, content-addressed set of files and references (W&B: ``wandb.Artifact``)."""

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: Mapping[str, Any] | str | None = None,
        incremental: bool = False,
        use_as: str | None = None,
        storage_region: str | None = None,
        *,
        _internal: bool = False,
    ) -> None:
        self._name = naming.validate_name(name)
        self._type = naming.validate_type(type, name, internal=_internal)
        if description is not None and not isinstance(description, str):
            raise TypeError(f"description must be a string, got {description.__class__.__name__}")
        self._description = description
        self._metadata = _check_metadata(metadata)
        self._incremental = bool(incremental)
        if incremental:
            import warnings

            warnings.warn("Using experimental arg `incremental`: the new version is the latest version plus "
                          "this draft's files", stacklevel=2)
        self._use_as = use_as
        self._storage_region = storage_region
        self._manifest = Manifest()
        self._dirs: set[str] = set()
        self._final = False
        self._state = ArtifactState.PENDING
        self._aliases: list[str] = []
        self._tags: list[str] = []
        self._ttl: Any = ArtifactTTL.INHERIT
        self._row: dict[str, Any] | None = None
        self._client: ArtifactClient | None = None
        self._pending: _PendingLog | None = None
        self._staging: LocalBlobStore | None = None
        self._hash_cache: Any = None
        self._added_objs: dict[int, tuple[Any, ManifestEntry]] = {}
        self._tmp_dirs: list[str] = []
        self._distributed_id: str | None = None
        self._entries_loaded = True
        self._offline_note = ""

    # -- construction from the store --------------------------------------------------------

    @classmethod
    def _from_row(cls, client: ArtifactClient, row: dict[str, Any]) -> Artifact:
        art = cls.__new__(cls)
        art._name = row["collection"]
        art._type = row["type"]
        art._description = row.get("description")
        art._metadata = dict(row.get("metadata") or {})
        art._incremental = False
        art._use_as = None
        art._storage_region = None
        art._manifest = Manifest()
        art._dirs = set()
        art._final = True
        art._state = row["state"]
        art._aliases = [a for a in row.get("aliases") or [] if a != "latest"] + (
            ["latest"] if "latest" in (row.get("aliases") or []) else []
        )
        art._tags = list(row.get("tags") or [])
        ttl = row.get("ttl_seconds")
        art._ttl = None if ttl is None else datetime.timedelta(seconds=float(ttl))
        art._row = row
        art._client = client
        art._pending = None
        art._staging = None
        art._hash_cache = None
        art._added_objs = {}
        art._tmp_dirs = []
        art._distributed_id = row.get("distributed_id")
        art._entries_loaded = False
        art._offline_note = ""
        return art

    def _set_row(self, client: ArtifactClient, row: dict[str, Any]) -> None:
        fresh = Artifact._from_row(client, row)
        keep = None
        if self._entries_loaded and len(self._manifest) and self._manifest.digest() == row.get("digest"):
            keep = self._manifest
        self.__dict__.update({k: v for k, v in fresh.__dict__.items() if k not in ("_added_objs",)})
        if keep is not None:
            # Entries added in this process keep their local paths (no re-read needed).
            self._manifest, self._entries_loaded = keep, True
        self._pending = None

    # -- guards -----------------------------------------------------------------------------

    def _check_draft(self, method: str) -> None:
        if self._final:
            raise ArtifactFinalizedError(method)

    def _logged(self, attr: str) -> dict[str, Any]:
        if self._row is None and self._pending is not None:
            self._resolve_pending(timeout=None, attr=attr)
        if self._row is None:
            raise ArtifactNotLoggedError(attr, self._offline_note)
        return self._row

    def is_draft(self) -> bool:
        return self._state == ArtifactState.PENDING

    def finalize(self) -> None:
        """Lock the draft: no more changes to its contents."""
        self._final = True

    # -- building a draft -------------------------------------------------------------------

    def _stage_store(self) -> LocalBlobStore:
        if self._staging is None:
            from trackline.artifacts import staging

            settings = staging.current_settings()
            self._staging = staging.staging_store(settings)
            self._hash_cache = staging.hash_cache(settings)
        return self._staging

    def _check_new_path(self, name: str, overwrite: bool, digest: str) -> ManifestEntry | None:
        """The existing entry when adding ``name`` again is a no-op; raise on a clash."""
        if name in self._dirs:
            raise ValueError(f"Cannot add {name!r}: the artifact already has a folder of that name")
        parts = name.split("/")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            if prefix in self._manifest.entries:
                raise ValueError(f"Cannot add {name!r}: {prefix!r} is already a file of the artifact")
        existing = self._manifest.get(name)
        if existing is not None:
            if existing.digest == digest:
                return existing
            if not overwrite:
                raise ValueError(
                    f"Cannot add the same path twice: {name!r}. Pass overwrite=True to replace it "
                    "(add_dir: merge=True)."
                )
        return None

    def _put(self, entry: ManifestEntry) -> ManifestEntry:
        self._manifest.add(entry)
        parts = entry.path.split("/")
        for i in range(1, len(parts)):
            self._dirs.add("/".join(parts[:i]))
        return entry

    def add_file(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        is_tmp: bool | None = False,
        skip_cache: bool | None = False,
        policy: str | None = "mutable",
        overwrite: bool = False,
    ) -> ManifestEntry:
        """Add one file as ``name`` (default: its base name). ``policy="mutable"`` (default)
        keeps a copy as it is now; ``"immutable"`` promises the file will not change."""
        self._check_draft("add_file")
        path = os.fspath(local_path)
        if not os.path.isfile(path):
            raise ValueError(f"Path is not a file: {path!r}")
        policy = policy or "mutable"
        if policy not in ("mutable", "immutable"):
            raise ValueError(f"Invalid policy {policy!r}: use 'mutable' or 'immutable'")
        name = safe_relpath(name if name is not None else os.path.basename(path), "name")
        from trackline.artifacts.staging import stage_files

        staged = stage_files([path], policy, self._stage_store(), self._hash_cache)[0]
        if is_tmp:
            folder, _, base = name.rpartition("/")
            parts = base.split(".")
            parts[0] = staged.sha256[:20]
            name = f"{folder}/{'.'.join(parts)}" if folder else ".".join(parts)
        existing = self._check_new_path(name, overwrite, staged.md5_b64)
        if existing is not None:
            return existing
        return self._put(ManifestEntry(
            path=name, digest=staged.md5_b64, size=staged.size, sha256=staged.sha256,
            local_path=staged.local_path, skip_cache=bool(skip_cache),
        ))

    def add_dir(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        skip_cache: bool | None = False,
        policy: str | None = "mutable",
        merge: bool = False,
    ) -> None:
        """Add every file under a folder (following links that stay inside it) as ``name/<relpath>``.

        Files are hashed on 8 threads. ``merge=True`` lets changed files replace entries of
        the same path (it never removes entries).
        """
        self._check_draft("add_dir")
        root = os.fspath(local_path)
        if not os.path.isdir(root):
            raise ValueError(f"Path is not a directory: {root!r}")
        policy = policy or "mutable"
        if policy not in ("mutable", "immutable"):
            raise ValueError(f"Invalid policy {policy!r}: use 'mutable' or 'immutable'")
        if name is not None:
            name = safe_relpath(name.rstrip("/"), "name")
        started = time.monotonic()
        paths, names = self._walk(root, name)
        from trackline.artifacts.staging import stage_files

        staged = stage_files(paths, policy, self._stage_store(), self._hash_cache)
        # Check every clash before changing anything: a refused add_dir adds nothing.
        for entry_name, s in zip(names, staged, strict=True):
            self._check_new_path(entry_name, merge, s.md5_b64)
        for entry_name, s in zip(names, staged, strict=True):
            self._put(ManifestEntry(path=entry_name, digest=s.md5_b64, size=s.size, sha256=s.sha256,
                                    local_path=s.local_path, skip_cache=bool(skip_cache)))
        _termlog(f"Adding directory to artifact ({root})... Done. {time.monotonic() - started:.1f}s")

    @staticmethod
    def _walk(root: str, prefix: str | None) -> tuple[list[str], list[str]]:
        """Files under ``root`` (sorted, links followed while they stay inside) and their entry names."""
        paths: list[str] = []
        names: list[str] = []
        seen: set[str] = set()
        base = f"{prefix}/" if prefix else ""
        stack = [(root, base)]
        while stack:
            folder, rel = stack.pop()
            real = os.path.realpath(folder)
            if real in seen:  # a link back up the tree
                continue
            seen.add(real)
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
            subdirs = []
            for e in entries:
                if e.is_symlink() and not link_stays_inside(root, e.path):
                    kind = "add its target with its own add_dir" if e.is_dir() else "add the target with add_file"
                    raise UnsafePathError(
                        f"add_dir: {e.path} is a symlink to {os.path.realpath(e.path)}, outside {root}; "
                        f"{kind}, or use add_reference('file://...')"
                    )
                if e.is_dir():
                    subdirs.append((e.path, f"{rel}{e.name}/"))
                elif e.is_file():  # not sockets, fifos or dangling links
                    names.append(safe_relpath(rel + e.name, "entry name"))
                    paths.append(e.path)
            stack.extend(reversed(subdirs))
        return paths, names

    @contextlib.contextmanager
    def new_file(
        self, name: str, mode: str = "x", encoding: str | None = None, policy: str = "mutable"
    ) -> Iterator[IO[Any]]:
        """A new file, written in a temporary folder and added as ``name`` when closed.

        ``mode="x"`` (default) refuses a name the artifact already has; ``"w"`` replaces it.
        """
        self._check_draft("new_file")
        name = safe_relpath(name, "name")
        overwrite = "x" not in mode
        if not overwrite and name in self._manifest.entries:
            raise ValueError(f"File with name {name!r} already exists in the artifact; use mode='w' to replace it")
        tmp_dir = tempfile.mkdtemp(prefix="trackline-artifact-")
        self._tmp_dirs.append(tmp_dir)
        path = os.path.join(tmp_dir, *name.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        file_mode = mode.replace("x", "w")
        if "b" not in file_mode and encoding is None:
            encoding = "utf-8"
        with open(path, file_mode, encoding=encoding) as f:
            yield f
        self.add_file(path, name=name, policy="mutable", overwrite=True)
        shutil.rmtree(tmp_dir, ignore_errors=True)
        self._tmp_dirs.remove(tmp_dir)

    def add_reference(
        self, uri: Any, name: str | None = None, checksum: bool = True, max_objects: int | None = None
    ) -> Sequence[ManifestEntry]:
        """Track content stored elsewhere (``file://``, ``http(s)://``, ``s3://``, any URI) without copying it."""
        self._check_draft("add_reference")
        from trackline.artifacts.references import reference_entries

        if isinstance(uri, (ManifestEntry, ArtifactFile)):
            uri = uri.ref_url()  # an entry of a logged artifact: W&B's cross-artifact reference
        uri = getattr(uri, "uri", uri)  # a pathlib-like object
        from trackline.artifacts.artifact_refs import is_artifact_ref

        if is_artifact_ref(uri):
            entries: Sequence[ManifestEntry] = [self._artifact_reference(str(uri), name)]
        else:
            entries = reference_entries(str(uri), name, checksum, max_objects)
        for e in entries:
            self._check_new_path(e.path, True, e.digest)
        for e in entries:
            self._put(e)
        return entries

    @staticmethod
    def _artifact_reference(uri: str, name: str | None) -> ManifestEntry:
        """An entry of another logged version, looked up in this environment's store (offline too)."""
        import trackline
        from trackline.artifacts import staging
        from trackline.artifacts.artifact_refs import reference_entry
        from trackline.artifacts.client import ArtifactClient

        settings = staging.current_settings()
        run = getattr(trackline, "run", None)
        entity = getattr(run, "entity", None) if run is not None else None
        project = getattr(run, "project", None) if run is not None else None
        client = ArtifactClient.for_settings(settings)
        return reference_entry(client, uri, name, entity or settings.entity, project or settings.project)

    def add(self, obj: Any, name: str, overwrite: bool = False) -> ManifestEntry:
        """Add a data type (Table, Image, Histogram, ...) as ``<name>.<type>.json`` (+ its file)."""
        self._check_draft("add")
        safe_relpath(name, "name")
        known = self._added_objs.get(id(obj))
        if known is not None and known[0] is obj and not overwrite:
            return known[1]
        from trackline.artifacts.objects import add_object

        entry = add_object(self, obj, name, overwrite)
        self._added_objs[id(obj)] = (obj, entry)
        return entry

    def __setitem__(self, name: str, obj: Any) -> None:
        self.add(obj, name)

    def remove(self, item: str | os.PathLike[str] | ManifestEntry) -> None:
        """Remove an entry, or every entry under a folder path; FileNotFoundError if none."""
        self._check_draft("remove")
        path = item.path if isinstance(item, ManifestEntry) else os.fspath(item).replace(os.sep, "/").strip("/")
        hits = [p for p in self._manifest.entries if p == path or p.startswith(path + "/")]
        if not hits:
            raise FileNotFoundError(f"Cannot remove missing entry: {path!r}")
        for p in hits:
            self._manifest.remove(p)
        self._dirs = {"/".join(p.split("/")[:i]) for p in self._manifest.entries for i in range(1, p.count("/") + 1)}

    # -- reading entries ----------------------------------------------------------------------

    @property
    def manifest(self) -> Manifest:
        if not self._entries_loaded:
            assert self._client is not None and self._row is not None
            self._manifest = self._client.manifest(self._row)
            for e in self._manifest:
                e._parent = self
            self._entries_loaded = True
        return self._manifest

    def get_entry(self, name: str) -> ManifestEntry:
        """The entry ``name`` of a logged artifact; KeyError when it has none."""
        self._logged("get_entry")
        entry = self.manifest.get(str(name))
        if entry is None:
            raise KeyError(f"Path not contained in artifact: {name}")
        entry._parent = self
        return entry

    def _concrete(self, entry: ManifestEntry) -> ManifestEntry:
        """``entry``, or for an entry of another artifact (``wandb-artifact://``) what it points at:
        the blob (read in place) or the other version's own entry (its reference is fetched)."""
        from trackline.artifacts.artifact_refs import concrete_entry, is_artifact_ref

        if not is_artifact_ref(entry.ref):
            return entry
        client = self._need_client("download")
        local = getattr(client.blobs, "path", None)
        if entry.sha256 and local is not None and os.path.isfile(local(entry.sha256)):
            return ManifestEntry(path=entry.path, digest=entry.digest, size=os.path.getsize(local(entry.sha256)),
                                 sha256=entry.sha256)
        try:
            return concrete_entry(client, entry)
        except ValueError as exc:
            raise FileNotFoundError(f"artifact entry {entry.path!r} refers to {entry.ref}, which cannot be "
                                    f"read: {exc}") from exc

    def _referenced(self, entry: ManifestEntry) -> tuple[Artifact, str]:
        """The version and path an entry of another artifact points at."""
        from trackline.artifacts.artifact_refs import resolve

        assert entry.ref is not None
        client = self._need_client("get")
        target = resolve(client, entry.ref)
        return client.by_id(target.artifact_id), target.path

    def _download_entry(self, entry: ManifestEntry, root: str | None, skip_cache: bool) -> str:
        from trackline.artifacts.download import download_entries
        from trackline.storage.paths import target_inside

        client = self._need_client("download")
        target = os.path.abspath(root) if root is not None else self._default_root()
        download_entries([self._concrete(entry)], target, client.blobs, client.cache(), skip_cache=skip_cache)
        return target_inside(target, entry.path)

    def get_path(self, name: str) -> ManifestEntry:
        import warnings

        warnings.warn("Artifact.get_path is deprecated; use Artifact.get_entry", DeprecationWarning, stacklevel=2)
        return self.get_entry(name)

    def get(self, name: str) -> Any:
        """The data type stored as ``name`` (``.<type>.json`` is found automatically)."""
        self._logged("get")
        from trackline.artifacts.objects import load_object

        return load_object(self, name)

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def _local_copy(self, path: str) -> str:
        """A local file with entry ``path``'s bytes (blob store in place, or the cache)."""
        entry = self.manifest.get(path)
        if entry is None:
            raise KeyError(f"Path not contained in artifact: {path}")
        if entry.local_path and os.path.isfile(entry.local_path):
            return entry.local_path
        from trackline.artifacts.download import source_path

        client = self._need_client("get")
        return source_path(self._concrete(entry), client.blobs, client.cache())

    def files(self, names: Sequence[str] | None = None, per_page: int = 50) -> list[ArtifactFile]:
        """The artifact's files (optionally only ``names``), sorted by path."""
        self._logged("files")
        wanted = None if names is None else set(names)
        return [ArtifactFile(self, e) for p, e in sorted(self.manifest.entries.items())
                if wanted is None or p in wanted]

    # -- downloading --------------------------------------------------------------------------

    def _need_client(self, what: str) -> ArtifactClient:
        self._logged(what)
        if self._client is None:
            raise ArtifactNotLoggedError(what)
        return self._client

    def _default_root(self, include_version: bool = True) -> str:
        for var in ("TRACKLINE_ARTIFACT_DIR", "WANDB_ARTIFACT_DIR"):
            if os.environ.get(var):
                base = os.environ[var]
                break
        else:
            base = os.path.join(os.getcwd(), "artifacts")
        name = self.name if include_version else self._name
        return os.path.join(os.path.abspath(base), name)

    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        allow_missing_references: bool = False,
        skip_cache: bool | None = None,
        path_prefix: str | None = None,
        multipart: bool | None = None,
    ) -> str:
        """Write the files to ``root`` (default ``./artifacts/<name:vN>``); returns the folder."""
        client = self._need_client("download")
        from trackline.artifacts.download import download_entries

        target = os.path.abspath(os.fspath(root)) if root is not None else self._default_root()
        entries: list[ManifestEntry] = []
        unreadable: list[str] = []
        for p, e in sorted(self.manifest.entries.items()):
            if path_prefix is not None and not p.startswith(path_prefix):
                continue
            try:
                entries.append(self._concrete(e))
            except FileNotFoundError:
                if not allow_missing_references:
                    raise
                unreadable.append(p)
        stats = download_entries(entries, target, client.blobs, client.cache(), allow_missing_references,
                                 bool(skip_cache))
        stats.missing_refs += unreadable
        if stats.missing_refs:
            _termwarn(f"{len(stats.missing_refs)} reference(s) could not be downloaded: {stats.missing_refs[:5]}")
        self._last_download = stats
        return target

    def checkout(self, root: str | None = None) -> str:
        """Make ``root`` hold exactly this version: remove other files, then download."""
        from trackline.artifacts.download import remove_extra_files

        self._logged("checkout")
        target = os.path.abspath(root) if root is not None else self._default_root()
        remove_extra_files(target, set(self.manifest.entries))
        return self.download(target)

    def verify(self, root: str | None = None) -> None:
        """Raise ValueError unless ``root`` holds exactly this version's files (references are skipped)."""
        from trackline.artifacts.download import verify_folder

        self._logged("verify")
        target = os.path.abspath(root) if root is not None else self._default_root()
        skipped = verify_folder(target, self.manifest.entries, self.name)
        if skipped:
            _termwarn(f"skipped verification of {skipped} refs")

    def file(self, root: str | None = None) -> str:
        """Download a single-file artifact; returns the file's path."""
        self._logged("file")
        if len(self.manifest) != 1:
            raise ValueError("This method should only be called on artifacts containing a single file")
        target = root if root is not None else self._default_root(include_version=False)
        folder = self.download(target)
        return os.path.join(folder, *next(iter(self.manifest.entries)).split("/"))

    # -- logging, waiting, saving ---------------------------------------------------------------

    def _bind_pending(self, run: Any, seq: int, client_id: str, entity: str, project: str) -> None:
        self._pending = _PendingLog(run, seq, client_id, entity, project)
        if run.offline:
            self._offline_note = (
                f" (it was logged by offline run {run.id}: it gets its version when "
                f"`trackline sync {run.sync_dir}` adds the run to the store)"
            )

    def _resolve_pending(self, timeout: float | None, attr: str = "wait") -> None:
        pending = self._pending
        if pending is None:
            return
        run = pending.run
        if run.offline:
            return
        wait_stored(run, pending.seq, timeout, f"artifact {self._name}")
        from trackline.artifacts.client import ArtifactClient

        client = ArtifactClient.for_settings(run._settings)
        row, error = client.db.by_client_id(pending.client_id)
        if error is not None:
            self._pending = None
            raise ValueError(f"Unable to commit artifact {self._name}: {error}")
        if row is None:
            return  # a distributed upsert not committed yet
        self._set_row(client, row)

    def wait(self, timeout: int | float | None = None) -> Artifact:
        """Block until the logged version is committed; fills in id, version, aliases..."""
        if self._row is None and self._pending is None:
            raise ArtifactNotLoggedError("wait")
        if self._pending is not None and self._pending.run.offline:
            _termwarn(f"Artifact.wait: {self._offline_note.strip(' ()')}")
            return self
        self._resolve_pending(timeout)
        return self

    def save(self, project: str | None = None, settings: Any = None) -> None:
        """Log a draft through the active run (or a new ``job_type="auto"`` run); persist edits of a logged one."""
        if self._row is not None or self._pending is not None:
            if self._row is None:
                self.wait()
            if self._row is not None:
                self._push_edits()
            return
        import trackline

        run = trackline.run
        if run is not None and not getattr(run, "_finished", True):
            run.log_artifact(self)
            return
        from trackline.sdk.init import init

        with init(project=project, job_type="auto", settings=settings, reinit="create_new") as tmp_run:
            tmp_run.log_artifact(self)
            self.wait()

    def _push_edits(self) -> None:
        client = self._need_client("save")
        row = self._logged("save")
        ttl = self._ttl
        fields: dict[str, Any] = {
            "description": self._description,
            "metadata": self._metadata,
            "tags": list(self._tags),
            "ttl_seconds": ttl.total_seconds() if isinstance(ttl, datetime.timedelta) else None,
        }
        client.db.update(int(row["id"]), fields, aliases=list(self._aliases))
        fresh = client.db.version(int(row["id"]))
        if fresh is not None:
            self._set_row(client, fresh)

    # -- version-level operations -------------------------------------------------------------

    def delete(self, delete_aliases: bool = False) -> None:
        """Delete this version (a link: only the link). Versions with aliases need ``delete_aliases=True``."""
        client = self._need_client("delete")
        from trackline.storage.sql.artifacts import ArtifactConflict

        try:
            client.db.delete([int(self._logged("delete")["id"])], delete_aliases=delete_aliases)
        except ArtifactConflict as exc:
            raise ValueError(f"Cannot delete {self.qualified_name}: {exc}") from exc
        self._state = ArtifactState.DELETED

    def link(self, target_path: str, aliases: Sequence[str] | None = None) -> Artifact:
        """Link this version into a portfolio (``[entity/][project/]collection``); returns the link."""
        if self._row is None and self._pending is None:
            self.save()
        client = self._need_client("link")
        row = self._logged("link")
        from trackline.artifacts.run_artifacts import parse_target

        entity, project, collection = parse_target(target_path, row["entity"], row["project"])
        link_id = client.db.link(int(row["id"]), entity, project, collection, naming.validate_aliases(aliases))
        linked = client.db.version(link_id)
        assert linked is not None
        return Artifact._from_row(client, linked)

    def unlink(self) -> None:
        """Remove this link from its portfolio (the source version stays)."""
        row = self._logged("unlink")
        if row.get("source_version_id") is None:
            raise ValueError(f"Artifact {self.qualified_name} is not a linked artifact; use delete() for versions")
        self.delete()

    def used_by(self) -> list[Any]:
        """The runs that used this version (public API Run objects)."""
        client = self._need_client("used_by")
        return client.public_runs(client.db.lineage(int(self._logged("used_by")["id"]), "input"))

    def logged_by(self) -> Any:
        """The run that logged this version, or None."""
        client = self._need_client("logged_by")
        row = self._logged("logged_by")
        pk = row.get("run_pk")
        runs = client.public_runs([int(pk)] if pk is not None else [])
        return runs[0] if runs else None

    def new_draft(self) -> Artifact:
        """A draft with this version's name, type, metadata and files, to change and log as a new version."""
        self._logged("new_draft")
        draft = Artifact(self._name, self._type, self._description, dict(self._metadata), _internal=True)
        for entry in self.manifest:
            draft._put(ManifestEntry(
                path=entry.path, digest=entry.digest, size=entry.size, ref=entry.ref,
                birth_artifact_id=entry.birth_artifact_id, extra=dict(entry.extra), sha256=entry.sha256,
            ))
        return draft

    def json_encode(self) -> dict[str, Any]:
        """The ``artifactVersion`` reference W&B puts in a run's config."""
        row = self._logged("json_encode")
        return {
            "_type": "artifactVersion",
            "_version": "v0",
            "id": row["artifact_id"],
            "version": self.source_version,
            "sequenceName": self.source_name.split(":")[0],
            "usedAs": self._use_as,
        }

    # -- properties ---------------------------------------------------------------------------

    @property
    def id(self) -> str | None:
        if self._row is None and self._pending is not None and not self._pending.run.offline:
            self._resolve_pending(None, "id")
        return None if self._row is None else str(self._row["artifact_id"])

    @property
    def entity(self) -> str:
        return str(self._logged("entity")["entity"])

    @property
    def project(self) -> str:
        return str(self._logged("project")["project"])

    @property
    def name(self) -> str:
        """``collection:vN`` once logged; the draft's name before."""
        if self._row is None and self._pending is not None and not self._pending.run.offline:
            self._resolve_pending(None, "name")
        if self._row is None or self._row.get("version_index") is None:
            return self._name
        return f"{self._name}:v{self._row['version_index']}"

    @property
    def qualified_name(self) -> str:
        row = self._logged("qualified_name")
        return f"{row['entity']}/{row['project']}/{self.name}"

    @property
    def version(self) -> str:
        row = self._logged("version")
        if row.get("version_index") is None:
            raise ArtifactNotLoggedError("version", " (a distributed version gets its index at finish_artifact)")
        return f"v{row['version_index']}"

    @property
    def collection(self) -> Any:
        from trackline.artifacts.collection import ArtifactCollection

        client = self._need_client("collection")
        row = self._logged("collection")
        found = client.db.collections(row["entity"], row["project"], name=row["collection"])
        return ArtifactCollection(client, found[0])

    @property
    def is_link(self) -> bool:
        return self._row is not None and self._row.get("source_version_id") is not None

    def _source(self) -> dict[str, Any]:
        row = self._logged("source")
        return row.get("source") or {
            "id": row["id"], "artifact_id": row["artifact_id"], "collection": row["collection"],
            "entity": row["entity"], "project": row["project"], "version_index": row["version_index"],
            "aliases": row.get("aliases") or [],
        }

    @property
    def source_name(self) -> str:
        s = self._source()
        return f"{s['collection']}:v{s['version_index']}"

    @property
    def source_entity(self) -> str:
        return str(self._source()["entity"])

    @property
    def source_project(self) -> str:
        return str(self._source()["project"])

    @property
    def source_version(self) -> str:
        return f"v{self._source()['version_index']}"

    @property
    def source_qualified_name(self) -> str:
        s = self._source()
        return f"{s['entity']}/{s['project']}/{s['collection']}:v{s['version_index']}"

    @property
    def source_collection(self) -> Any:
        return self.source_artifact.collection

    @property
    def source_artifact(self) -> Artifact:
        if not self.is_link:
            return self
        client = self._need_client("source_artifact")
        row = client.db.version(int(self._source()["id"]))
        assert row is not None
        return Artifact._from_row(client, row)

    @property
    def linked_artifacts(self) -> list[Artifact]:
        client = self._need_client("linked_artifacts")
        return [Artifact._from_row(client, r) for r in client.links_of(int(self._source()["id"]))]

    @property
    def type(self) -> str:
        return self._type

    @property
    def url(self) -> str:
        row = self._logged("url")
        base = self._client.base_url if self._client is not None else ""
        return f"{base}/{row['entity']}/{row['project']}/artifacts/{self._type}/{row['collection']}/{self.version}"

    @property
    def state(self) -> str:
        return self._state

    @property
    def digest(self) -> str:
        if self._row is not None and self._row.get("digest"):
            return str(self._row["digest"])
        return self.manifest.digest()

    @property
    def size(self) -> int:
        if self._row is not None and not self._entries_loaded:
            return int(self._row.get("size") or 0)
        return self.manifest.size

    @property
    def commit_hash(self) -> str:
        return self.digest[:12]

    @property
    def file_count(self) -> int:
        row = self._logged("file_count")
        return int(row.get("file_count") or 0)

    @property
    def created_at(self) -> str:
        return _iso(self._logged("created_at")["created_at"])

    @property
    def updated_at(self) -> str:
        row = self._logged("updated_at")
        return _iso(row.get("updated_at") or row["created_at"])

    @property
    def history_step(self) -> int | None:
        step = self._logged("history_step").get("history_step")
        return None if step is None else max(0, int(step) - 1)

    @property
    def use_as(self) -> str | None:
        return self._use_as

    @property
    def distributed_id(self) -> str | None:
        return self._distributed_id

    @distributed_id.setter
    def distributed_id(self, value: str | None) -> None:
        self._distributed_id = value

    @property
    def incremental(self) -> bool:
        return self._incremental

    @property
    def description(self) -> str | None:
        return self._description

    @description.setter
    def description(self, value: str | None) -> None:
        if value is not None and not isinstance(value, str):
            raise TypeError(f"description must be a string, got {type(value).__name__}")
        self._description = value

    @property
    def metadata(self) -> dict[str, Any]:
        return self._metadata

    @metadata.setter
    def metadata(self, value: Mapping[str, Any] | str | None) -> None:
        self._metadata = _check_metadata(value)

    @property
    def ttl(self) -> Any:
        return self._ttl

    @ttl.setter
    def ttl(self, value: Any) -> None:
        self._ttl = _check_ttl(value)

    @property
    def aliases(self) -> list[str]:
        return list(self._aliases)

    @aliases.setter
    def aliases(self, value: Sequence[str]) -> None:
        if isinstance(value, str):
            raise TypeError("aliases must be a list of strings like ['best'], not a string")
        self._aliases = ([a for a in naming.validate_aliases([a for a in value if a != "latest"])]
                         + (["latest"] if "latest" in value else []))

    @property
    def tags(self) -> list[str]:
        return list(self._tags)

    @tags.setter
    def tags(self, value: Sequence[str]) -> None:
        if isinstance(value, str):
            raise TypeError("tags must be a list of strings like ['prod'], not a string")
        self._tags = naming.validate_tags(value)

    def __repr__(self) -> str:
        if self._row is not None and self._row.get("version_index") is not None:
            return f"<Artifact {self.qualified_name}>"
        return f"<Artifact {self._name} ({self._type}, draft)>" if not self._final else f"<Artifact {self._name}>"

    def __del__(self) -> None:
        for d in getattr(self, "_tmp_dirs", ()):
            shutil.rmtree(d, ignore_errors=True)


class ArtifactFile:
    """One file of a logged artifact (``artifact.files()``)."""

    def __init__(self, artifact: Artifact, entry: ManifestEntry) -> None:
        self._artifact = artifact
        self._entry = entry
        self.name = entry.path
        self.size = entry.size
        self.md5 = entry.digest
        self.digest = entry.digest
        self.ref = entry.ref
        self.sha256 = entry.sha256

    def download(self, root: str = ".", replace: bool = False) -> str:
        """Write this file under ``root``; returns its path."""
        from trackline.artifacts.download import download_entries
        from trackline.storage.paths import target_inside

        target = target_inside(root, self.name)
        if os.path.exists(target) and not replace:
            raise ValueError(f"File already exists at {target}; pass replace=True to overwrite it")
        client = self._artifact._need_client("download")
        download_entries([self._artifact._concrete(self._entry)], os.path.abspath(root), client.blobs, client.cache())
        return target

    def ref_url(self) -> str:
        """``wandb-artifact://<artifact id>/<path>``: this file, for another artifact's ``add_reference``."""
        from trackline.artifacts.artifact_refs import ref_url

        return ref_url(str(self._artifact._source()["artifact_id"]), self.name)

    def __repr__(self) -> str:
        return f"<ArtifactFile {self.name} ({self.size} bytes)>"


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(float(ts), tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _termlog(text: str) -> None:
    _emit(text, warn=False)


def _termwarn(text: str) -> None:
    _emit(text, warn=True)


def _emit(text: str, warn: bool) -> None:
    import trackline

    run = getattr(trackline, "run", None)
    printer = getattr(run, "_printer", None)
    if printer is not None:
        (printer.warn if warn else printer.info)(text)
        return
    if os.environ.get("TRACKLINE_SILENT", "").lower() in ("1", "true", "yes") or os.environ.get(
        "WANDB_SILENT", ""
    ).lower() in ("1", "true", "yes"):
        return
    import sys

    print(("trackline: WARNING " if warn else "trackline: ") + text, file=sys.stderr)


def wait_stored(run: Any, seq: int, timeout: float | None, what: str) -> None:
    """Block until the run's sender has stored record ``seq`` (a finished run already has)."""
    sender = getattr(run, "_sender", None)
    if sender is None or getattr(run, "_finished", False):
        return  # offline, or finished: finish() waited for the store already
    snap = sender.snapshot(seq, timeout=600.0 if timeout is None else timeout)
    if snap is None or snap.stored_seq < seq:
        if sender.error:
            raise ValueError(f"the store could not take {what}: {sender.error}")
        raise WaitTimeoutError(f"{what} was not committed within {timeout} s")


def new_client_id() -> str:
    return uuid.uuid4().hex
