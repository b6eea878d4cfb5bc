"""``Artifact.add_reference``: entries that point at bytes stored elsewhere.

Supported as W&B does: ``file://`` (a file, or a folder walked recursively; digest =
base64 MD5), ``http(s)://`` (digest = the ETag, size = Content-Length), ``s3://`` (digest
= the object's ETag, version id kept in ``extra``; a prefix lists up to ``max_objects``
objects; needs boto3, and honours ``AWS_ENDPOINT_URL`` for MinIO and other S3 servers),
and any other scheme (digest = the URI, no size). ``checksum=False`` records the URI
without reading anything (digest = base64 MD5 of the URI). Every entry name is checked
like a file path: an S3 key with ``..`` cannot become an entry that escapes a download.
"""

from __future__ import annotations

import base64
import hashlib
import os
import urllib.parse
import urllib.request
from typing import Any, BinaryIO

from trackline.artifacts.manifest import ManifestEntry
from trackline.storage.blobs import hash_file
from trackline.storage.paths import safe_relpath

DEFAULT_MAX_OBJECTS = 10_000_000
HTTP_TIMEOUT = 30.0


def _md5_b64_text(text: str) -> str:
    return base64.b64encode(hashlib.md5(text.encode()).digest()).decode()


def _join(name: str | None, rel: str) -> str:
    return f"{name.rstrip('/')}/{rel}" if name else rel


def _entry(path: str, **kw: Any) -> ManifestEntry:
    safe_relpath(path, "reference entry name")
    return ManifestEntry(path=path, **kw)


def reference_entries(
    uri: str, name: str | None = None, checksum: bool = True, max_objects: int | None = None
) -> list[ManifestEntry]:
    if not isinstance(uri, str):
        raise TypeError(f"add_reference: uri must be a string like 's3://bucket/key', got {type(uri).__name__}")
    parsed = urllib.parse.urlparse(uri)
    if not parsed.scheme or "://" not in uri:
        raise ValueError(
            f"add_reference: {uri!r} has no scheme; use a URI such as 'file:///data/x', "
            "'https://host/file' or 's3://bucket/key' (use add_file/add_dir for local paths)"
        )
    if max_objects is None:
        max_objects = DEFAULT_MAX_OBJECTS
    if not isinstance(max_objects, int) or max_objects < 1:
        raise ValueError(f"add_reference: max_objects must be a positive int, got {max_objects!r}")
    if name is not None:
        safe_relpath(name, "name")
    scheme = parsed.scheme.lower()
    if not checksum:
        base = name or os.path.basename(parsed.path.rstrip("/")) or parsed.netloc
        return [_entry(base, digest=_md5_b64_text(uri), ref=uri)]
    if scheme == "file":
        return _file_entries(uri, parsed, name, max_objects)
    if scheme in ("http", "https"):
        return [_http_entry(uri, parsed, name)]
    if scheme == "s3":
        return _s3_entries(uri, parsed, name, max_objects)
    base = name or os.path.basename(parsed.path.rstrip("/")) or parsed.netloc
    return [_entry(base, digest=uri, ref=uri)]


# -- file:// -------------------------------------------------------------------------------


def file_path(uri: str) -> str:
    parsed = urllib.parse.urlparse(uri)
    if parsed.netloc not in ("", "localhost"):
        raise ValueError(f"file reference {uri!r} names host {parsed.netloc!r}; use file:///absolute/path")
    return urllib.parse.unquote(parsed.path)


def _file_entries(uri: str, parsed: Any, name: str | None, max_objects: int) -> list[ManifestEntry]:
    path = file_path(uri)
    if os.path.isfile(path):
        info = hash_file(path)
        return [_entry(name or os.path.basename(path), digest=info.md5_b64, size=info.size,
                       ref="file://" + urllib.parse.quote(os.path.abspath(path)))]
    if not os.path.isdir(path):
        raise ValueError(f"add_reference: {uri!r}: no file or folder at {path}")
    out: list[ManifestEntry] = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for fn in sorted(filenames):
            full = os.path.join(dirpath, fn)
            rel = os.path.relpath(full, path).replace(os.sep, "/")
            info = hash_file(full)
            out.append(_entry(_join(name, rel), digest=info.md5_b64, size=info.size,
                              ref="file://" + urllib.parse.quote(os.path.abspath(full))))
            if len(out) > max_objects:
                raise ValueError(
                    f"add_reference: {uri!r} holds more than max_objects={max_objects} files; "
                    "pass a larger max_objects"
                )
    return out


# -- http(s):// ----------------------------------------------------------------------------


def _etag(headers: Any) -> tuple[str | None, dict[str, Any]]:
    etag = headers.get("ETag") or headers.get("etag")
    extra: dict[str, Any] = {}
    if etag:
        extra["etag"] = etag
        if len(etag) >= 2 and etag[0] == '"' and etag[-1] == '"':
            etag = etag[1:-1]
    return etag, extra


def _http_entry(uri: str, parsed: Any, name: str | None) -> ManifestEntry:
    req = urllib.request.Request(uri, method="GET")
    with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as resp:  # headers only; the body is not read
        etag, extra = _etag(resp.headers)
        size = int(resp.headers.get("Content-Length") or 0)
    base = name or os.path.basename(parsed.path.rstrip("/")) or parsed.netloc
    return _entry(base, digest=etag or uri, size=size, ref=uri, extra=extra)


def open_http(entry: ManifestEntry) -> BinaryIO:
    assert entry.ref is not None
    resp = urllib.request.urlopen(entry.ref, timeout=HTTP_TIMEOUT)
    etag, _ = _etag(resp.headers)
    if etag and entry.digest != entry.ref and etag != entry.digest:
        resp.close()
        raise ValueError(
            f"Digest mismatch for url {entry.ref}: expected ETag {entry.digest!r}, got {etag!r} "
            "(the content changed since the reference was added)"
        )
    return resp


# -- s3:// ---------------------------------------------------------------------------------


def _s3_client() -> Any:
    try:
        import boto3
    except ImportError as exc:
        raise ImportError("s3:// references need boto3: pip install 'trackline[s3]' (or boto3)") from exc
    return boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)


def _s3_split(uri: str) -> tuple[str, str, str | None]:
    parsed = urllib.parse.urlparse(uri)
    query = urllib.parse.parse_qs(parsed.query)
    versions = query.get("versionId")
    version = versions[0] if versions else None
    return parsed.netloc, urllib.parse.unquote(parsed.path.lstrip("/")), version


def _s3_entries(uri: str, parsed: Any, name: str | None, max_objects: int) -> list[ManifestEntry]:
    bucket, key, version = _s3_split(uri)
    client = _s3_client()
    if key:
        try:
            kw: dict[str, Any] = {"Bucket": bucket, "Key": key}
            if version:
                kw["VersionId"] = version
            head = client.head_object(**kw)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code not in ("404", "NoSuchKey", "NotFound"):
                raise
        else:
            etag, extra = _etag({"ETag": head.get("ETag")})
            if head.get("VersionId") and head["VersionId"] != "null":
                extra["versionID"] = head["VersionId"]
            return [_entry(name or os.path.basename(key), digest=etag or uri, size=int(head["ContentLength"]),
                           ref=f"s3://{bucket}/{key}", extra=extra)]
    prefix = key
    out: list[ManifestEntry] = []
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            k = obj["Key"]
            if k.endswith("/"):
                continue
            rel = k[len(prefix) :].lstrip("/") if prefix and k != prefix else os.path.basename(k)
            etag, extra = _etag({"ETag": obj.get("ETag")})
            out.append(_entry(_join(name, rel), digest=etag or f"s3://{bucket}/{k}", size=int(obj["Size"]),
                              ref=f"s3://{bucket}/{k}", extra=extra))
            if len(out) > max_objects:
                raise ValueError(
                    f"Exceeded {max_objects} objects tracked under {uri!r}; pass a larger max_objects to add_reference"
                )
    if not out:
        raise ValueError(f"add_reference: nothing at {uri!r} (no object and no objects under that prefix)")
    return out


def open_s3(entry: ManifestEntry) -> BinaryIO:
    assert entry.ref is not None
    bucket, key, _ = _s3_split(entry.ref)
    kw: dict[str, Any] = {"Bucket": bucket, "Key": key}
    version = entry.extra.get("versionID")
    if version:
        kw["VersionId"] = version
    obj = _s3_client().get_object(**kw)
    etag, _ = _etag({"ETag": obj.get("ETag")})
    if etag and not version and entry.digest != entry.ref and etag != entry.digest:
        raise ValueError(
            f"Digest mismatch for {entry.ref}: expected ETag {entry.digest!r}, got {etag!r} "
            "(the object changed since the reference was added)"
        )
    body: BinaryIO = obj["Body"]
    return body


def open_reference(entry: ManifestEntry) -> BinaryIO:
    """The content of a reference entry (for the cache to keep)."""
    ref = entry.ref or ""
    scheme = urllib.parse.urlparse(ref).scheme.lower()
    if scheme in ("http", "https"):
        return open_http(entry)
    if scheme == "s3":
        return open_s3(entry)
    if scheme == "file":
        return open(file_path(ref), "rb")
    raise ValueError(f"cannot download reference {ref!r}: scheme {scheme!r} is tracked only, not fetched")
