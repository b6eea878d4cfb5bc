"""The artifact methods of a Run: what ``run.log_artifact`` & co. do, behind thin Run methods.

Logging writes one ARTIFACT record (the whole manifest, with where each file's bytes
are) to the run's record log before it returns, so it survives a crash and works
offline; the sender (or ``trackline sync``) commits it to the store. Using an artifact
reads the local store directly, so it works offline too (W&B refuses: wandb#5712).
"""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from trackline.artifacts import naming
from trackline.artifacts.artifact import Artifact, new_client_id, wait_stored
from trackline.artifacts.errors import ArtifactNotFoundError
from trackline.records import kinds

if TYPE_CHECKING:
    from trackline.artifacts.client import ArtifactClient


def _client(run: Any) -> ArtifactClient:
    from trackline.artifacts.client import ArtifactClient

    return ArtifactClient.for_settings(run._settings)


def parse_target(target_path: str, entity: str, project: str) -> tuple[str, str, str]:
    """``[entity/][project/]collection`` with missing parts from the run (or source artifact)."""
    if not isinstance(target_path, str) or not target_path.strip("/"):
        raise ValueError(f"target_path must look like 'collection', 'project/collection' or "
                         f"'entity/project/collection', got {target_path!r}")
    if ":" in target_path:
        raise ValueError(f"target_path {target_path!r} may not hold a version or alias; pass aliases=[...]")
    parts = target_path.strip("/").split("/")
    if len(parts) > 3 or any(not p for p in parts):
        raise ValueError(f"Invalid target_path {target_path!r}: use 'entity/project/collection'")
    collection = naming.validate_name(parts[-1])
    if len(parts) == 3:
        return parts[0], parts[1], collection
    if len(parts) == 2:
        return entity, parts[0], collection
    return entity, project, collection


def coerce(run: Any, artifact_or_path: Any, name: str | None, type: str | None) -> Artifact:
    """An Artifact, or one built from a file, folder or URI (W&B's ``_prepare_artifact``)."""
    if isinstance(artifact_or_path, Artifact):
        return artifact_or_path
    if isinstance(artifact_or_path, (str, os.PathLike)):
        path = os.fspath(artifact_or_path)
        art_name = name or f"run-{run.id}-{os.path.basename(path.rstrip('/'))}"
        art = Artifact(art_name, type or "unspecified")
        if os.path.isfile(path):
            art.add_file(path)
        elif os.path.isdir(path):
            art.add_dir(path)
        elif "://" in path:
            art.add_reference(path)
        else:
            raise ValueError(
                f"path must be a file, directory or external reference like s3://bucket/path; got {path!r}"
            )
        return art
    raise TypeError(
        "log_artifact expects an Artifact or a path (file, folder or URI), "
        f"got {artifact_or_path.__class__.__name__}"
    )


def _ttl_seconds(art: Artifact) -> float | None:
    ttl = art.ttl
    return ttl.total_seconds() if isinstance(ttl, datetime.timedelta) else None


def log(
    run: Any,
    artifact_or_path: Any,
    name: str | None = None,
    type: str | None = None,
    aliases: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    *,
    mode: str = "log",
    distributed_id: str | None = None,
    check_type: bool = True,
) -> Artifact:
    run._check_open({"log": "log_artifact", "upsert": "upsert_artifact"}.get(mode, "finish_artifact"))
    art = coerce(run, artifact_or_path, name, type)
    if art._row is not None or art._pending is not None:
        raise ValueError(
            f"Artifact {art.name} is already logged; log changes as a new version with "
            "`artifact.new_draft()`, or record its use with `run.use_artifact(artifact)`"
        )
    alias_list = naming.validate_aliases(aliases)
    alias_list += [a for a in art._aliases if a != "latest" and a not in alias_list]
    tag_list = naming.validate_tags(tags)
    tag_list += [t for t in art._tags if t not in tag_list]
    if check_type and not run.offline:  # the store refuses a clash too; this says so at once
        found = _client(run).db.collections(run.entity, run.project, name=art._name)
        if found and found[0]["type"] != art.type:
            raise ValueError(
                f"Artifact {art._name} already exists with type '{found[0]['type']}'; "
                f"cannot create another with type '{art.type}'"
            )
    art.finalize()
    client_id = new_client_id()
    body = {
        "client_id": client_id,
        "entity": run.entity,
        "project": run.project,
        "name": art._name,
        "type": art.type,
        "description": art.description,
        "metadata": art.metadata,
        "aliases": alias_list,
        "tags": tag_list,
        "ttl": _ttl_seconds(art),
        "entries": [e.to_record() for e in art.manifest],
        "digest": art.manifest.digest(),
        "mode": mode,
        "distributed_id": distributed_id,
        "incremental": art.incremental,
        "history_step": run._step,
        "ts": time.time(),
    }
    if run.offline:  # its staged blobs are referenced only by this log until `trackline sync`
        from trackline.artifacts.gc import register_pending_log
        from trackline.artifacts.staging import staging_store

        register_pending_log(staging_store(run._settings).root, run._settings.sync_file)
    seq = run._write([kinds.ARTIFACT, body])
    art._distributed_id = distributed_id
    art._bind_pending(run, seq, client_id, run.entity, run.project)
    return art


def _catch_up(run: Any) -> None:
    """Let the store take this run's records so far (its own logged artifacts resolve by name)."""
    writer = getattr(run, "_writer", None)
    if writer is not None and not run.offline:
        wait_stored(run, writer.seq, None, "this run's records")


def distributed(run: Any, distributed_id: str | None) -> str:
    dist = distributed_id or run.group
    if not dist:
        raise TypeError("Cannot upsert artifact unless run is in a group or distributed_id is provided")
    return str(dist)


def use(
    run: Any,
    artifact_or_name: Any,
    type: str | None = None,
    aliases: Sequence[str] | None = None,
    use_as: str | None = None,
) -> Artifact:
    run._check_open("use_artifact")
    if use_as is not None:
        import warnings

        warnings.warn("use_artifact(use_as=...) is deprecated and ignored", DeprecationWarning, stacklevel=3)
    if isinstance(artifact_or_name, str):
        _catch_up(run)
        art = _client(run).artifact(artifact_or_name, run.entity, run.project, type)
    elif isinstance(artifact_or_name, Artifact):
        art = artifact_or_name
        if art._row is None and art._pending is None:
            log(run, art, aliases=aliases)
        if art._pending is not None and not run.offline:
            art.wait()
        if type is not None and art.type != type:
            raise ValueError(f"Supplied type {type!r} does not match type {art.type!r} of artifact {art._name!r}")
    else:
        raise TypeError(
            f"use_artifact expects an Artifact or a name like 'dataset:latest', got "
            f"{artifact_or_name.__class__.__name__}"
        )
    ident = art._row["artifact_id"] if art._row is not None else art._pending.client_id  # type: ignore[union-attr]
    run._write([kinds.ARTIFACT_USE, {
        "client_id": new_client_id(),
        "id": ident,
        "name": art.qualified_name if art._row is not None else art._name,
        "use_as": use_as,
        "ts": time.time(),
    }])
    return art


def use_in_config(run: Any, key: str, value: Any) -> tuple[Artifact, dict[str, Any]]:
    """W&B's config artifacts: ``config[key] = artifact`` (or a ``wandb-artifact://`` string, or an
    ``artifactVersion`` dict) uses the artifact; ``config[key]`` then gives the Artifact and the
    stored config holds its ``artifactVersion`` reference."""
    target: Any = value
    if isinstance(value, dict):
        if not value.get("id"):
            raise ValueError(f"config[{key!r}]: an artifactVersion reference needs the artifact's 'id'")
        target = _client(run).by_id(str(value["id"]))
    elif isinstance(value, str):
        body = value[len("wandb-artifact://") :]
        if "://" in body:  # [scheme://host]/entity/project/name:version
            body = body.split("://", 1)[1].partition("/")[2]
        body = body.lstrip("/")
        if body.startswith("_id/"):
            target = _client(run).by_id(body[len("_id/") :])
        elif body:
            target = body
        else:
            raise ValueError(f"config[{key!r}]: {value!r} names no artifact; use 'wandb-artifact://entity/project/name:v0'")
    art = use(run, target)
    art._use_as = key
    if art._row is not None:
        return art, art.json_encode()
    # Logged by this offline run and not in the store yet: named, without an id.
    return art, {"_type": "artifactVersion", "_version": "v0", "id": None, "version": None,
                 "sequenceName": art._name.split(":")[0], "usedAs": key}


def link(run: Any, artifact: Artifact, target_path: str, aliases: Sequence[str] | None = None) -> Artifact | None:
    run._check_open("link_artifact")
    if not isinstance(artifact, Artifact):
        raise TypeError(f"link_artifact expects an Artifact, got {artifact.__class__.__name__}")
    if artifact._row is None and artifact._pending is None:
        log(run, artifact)
    if artifact._pending is not None and not run.offline:
        artifact.wait()
    alias_list = naming.validate_aliases(aliases)
    entity, project, collection = parse_target(target_path, run.entity, run.project)
    ident = artifact._row["artifact_id"] if artifact._row is not None else artifact._pending.client_id  # type: ignore[union-attr]
    client_id = new_client_id()
    seq = run._write([kinds.ARTIFACT_LINK, {
        "client_id": client_id, "id": ident, "entity": entity, "project": project,
        "collection": collection, "aliases": alias_list, "ts": time.time(),
    }])
    if run.offline:
        return None  # linked when `trackline sync` adds the run to the store
    wait_stored(run, seq, None, f"the link of {artifact._name}")
    client = _client(run)
    row, error = client.db.by_client_id(client_id)
    if error is not None:
        raise ValueError(f"Unable to link {artifact._name} to {entity}/{project}/{collection}: {error}")
    return None if row is None else client.from_row(row)


def log_model(run: Any, path: Any, name: str | None = None, aliases: Sequence[str] | None = None) -> None:
    log(run, path, name=name, type="model", aliases=aliases)


def use_model(run: Any, name: str) -> str:
    art = use(run, name)
    if "model" not in art.type:
        raise AssertionError(
            "You can only use this method for 'model' artifacts. For an artifact to be a 'model' artifact, "
            f"its type property must contain the substring 'model' (artifact {name!r} has type {art.type!r})."
        )
    root = art.download()
    entries = list(art.manifest.entries)
    if len(entries) == 1:
        return os.path.join(root, *entries[0].split("/"))
    return root


def link_model(
    run: Any,
    path: Any,
    registered_model_name: str,
    name: str | None = None,
    aliases: Sequence[str] | None = None,
) -> Artifact | None:
    if "/" in registered_model_name:
        raise AssertionError(
            "registered_model_name cannot contain '/': pass just the model's name, e.g. 'my-classifier'"
        )
    naming.validate_name(registered_model_name)
    art_name = name or f"run-{run.id}-{os.path.basename(os.fspath(path).rstrip('/'))}"
    art_type = "model"
    if not run.offline:
        _catch_up(run)
        try:
            existing = _client(run).artifact(f"{art_name}:latest", run.entity, run.project)
            if "model" in existing.type:
                art_type = existing.type
        except (ArtifactNotFoundError, ValueError):
            pass
    art = log(run, path, name=art_name, type=art_type)
    target = f"{run.entity}/{naming.MODEL_REGISTRY_PROJECT}/{registered_model_name}"
    return link(run, art, target, aliases)
