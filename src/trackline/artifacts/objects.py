"""``Artifact.add(obj, name)`` and ``Artifact.get(name)`` for trackline's data types.

A file-backed value (Image, Audio, Video, Html, Object3D, Table, ...) is stored as a file
of the artifact under ``media/<kind>/<sha256[:20]><ext>`` (a Table as Parquet), and a JSON
reference sorted by key is written to ``<name>.<log_type>.json`` (W&B's layout). An inline
value (Histogram, ...) is the JSON alone. ``get`` reads the JSON back and rebuilds the
value with the data type of its ``_type``; without one it returns the JSON.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trackline.artifacts.artifact import Artifact
    from trackline.artifacts.manifest import ManifestEntry


def _log_type(obj: Any) -> str | None:
    t = getattr(type(obj), "_log_type", None) or getattr(obj, "_log_type", None)
    return t if isinstance(t, str) and t else None


def json_name(name: str, log_type: str) -> str:
    suffix = f".{log_type}.json"
    return name if name.endswith(suffix) else name + suffix


def add_object(artifact: Artifact, obj: Any, name: str, overwrite: bool = False) -> ManifestEntry:
    log_type = _log_type(obj)
    if log_type is None or not getattr(obj, "_trackline_value", False):
        raise TypeError(
            f"Artifact.add: {type(obj).__name__} is not a trackline data type (Table, Image, Audio, Video, "
            "Html, Object3D, Histogram, ...); use add_file/add_dir for files, add_reference for URIs"
        )
    source = getattr(obj, "_trackline_artifact_source", None)
    if source is not None:  # read from another artifact: stored as a reference to it (W&B)
        from trackline.artifacts.artifact_refs import ref_url

        other, other_path = source
        return artifact.add_reference(ref_url(str(other._source()["artifact_id"]), other_path),
                                      json_name(name, log_type))[0]
    payload: dict[str, Any]
    data: bytes | None = None
    ext = ""
    if hasattr(obj, "to_parquet_bytes"):
        data, ext, subdir = obj.to_parquet_bytes(), ".parquet", "media/tables"
    elif callable(getattr(obj, "_read_bytes", None)):
        data, ext = obj._read_bytes(), str(getattr(obj, "_ext", "") or "")
        subdir = str(getattr(type(obj), "SUBDIR", "media") or "media")
    if data is not None:
        sha = hashlib.sha256(data).hexdigest()
        rel = f"{subdir}/{sha[:20]}{ext}"
        with artifact.new_file(rel, mode="wb") as f:
            f.write(data)
        payload = {"_type": log_type, "path": rel, "sha256": sha, "size": len(data)}
        caption = getattr(obj, "_caption", None)
        if caption is not None:
            payload["caption"] = caption
        if hasattr(obj, "to_parquet_bytes"):
            payload["nrows"] = len(obj)
            payload["columns"] = list(getattr(obj, "columns", []) or [])
    else:
        try:
            payload = dict(obj.to_json())
        except Exception as exc:
            raise TypeError(f"Artifact.add: could not turn {type(obj).__name__} into JSON: {exc}") from exc
    target = json_name(name, log_type)
    text = json.dumps(payload, sort_keys=True, default=str)
    existing = artifact._manifest.get(target)
    if existing is not None and not overwrite:
        digest_now = _b64_md5(text.encode())
        if existing.digest == digest_now:
            return existing
        raise ValueError(f"Cannot add the same path twice: {target!r}; pass overwrite=True to replace it")
    with artifact.new_file(target, mode="w", encoding="utf-8") as f:
        f.write(text)
    entry = artifact._manifest.get(target)
    assert entry is not None
    return entry


def _b64_md5(data: bytes) -> str:
    import base64

    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _data_type_for(log_type: str) -> Any:
    try:
        import trackline.data_types as dt
    except Exception:
        return None
    for attr in list(getattr(dt, "__all__", ())) + dir(dt):
        try:
            cls = getattr(dt, attr)
        except Exception:
            continue
        if isinstance(cls, type) and getattr(cls, "_log_type", None) == log_type:
            return cls
    return None


def find_json_entry(artifact: Artifact, name: str) -> str | None:
    entries = artifact.manifest.entries
    if name in entries and name.endswith(".json"):
        return name
    for path in sorted(entries):
        if path.startswith(name + ".") and path.endswith(".json") and path.count(".") >= name.count(".") + 2:
            return path
    return None


def load_object(artifact: Artifact, name: str) -> Any:
    """The value stored as ``name``; it remembers where it came from, so adding it to another
    artifact stores a reference to this entry instead of a copy (W&B)."""
    obj = _load(artifact, name)
    path = find_json_entry(artifact, name)
    if obj is not None and path is not None and not isinstance(obj, dict) and not is_ref_entry(artifact, path):
        try:
            obj._trackline_artifact_source = (artifact, path)
        except AttributeError:  # a type with __slots__: added again as a copy
            pass
    return obj


def is_ref_entry(artifact: Artifact, path: str) -> bool:
    from trackline.artifacts.artifact_refs import is_artifact_ref

    return is_artifact_ref(artifact.manifest.entries[path].ref)


def _load(artifact: Artifact, name: str) -> Any:
    path = find_json_entry(artifact, name)
    if path is None:
        return None
    from trackline.artifacts.artifact_refs import is_artifact_ref

    entry = artifact.manifest.entries[path]
    if is_artifact_ref(entry.ref):  # a value of another artifact: that version reads it (W&B)
        other, other_path = artifact._referenced(entry)
        return load_object(other, other_path)
    with open(artifact._local_copy(path), encoding="utf-8") as f:
        payload = json.load(f)
    log_type = payload.get("_type") if isinstance(payload, dict) else None
    cls = _data_type_for(log_type) if isinstance(log_type, str) else None
    if cls is None:
        return payload
    file_rel = payload.get("path")
    if isinstance(file_rel, str) and file_rel in artifact.manifest.entries:
        local = artifact._local_copy(file_rel)
        if hasattr(cls, "from_parquet"):
            return cls.from_parquet(local)
        try:
            obj = cls(local)
        except TypeError:
            return payload
        if payload.get("caption") is not None and hasattr(obj, "_caption"):
            obj._caption = payload["caption"]
        return obj
    if hasattr(cls, "from_json"):
        return cls.from_json(payload)
    return payload
