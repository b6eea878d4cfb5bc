"""Pack a ``.gltf`` and the files it refers to into one binary glTF (``.glb``).

A ``.gltf`` is JSON whose buffers and images may live in separate files named by relative
URIs. Only one file is logged per ``Object3D``, so such a ``.gltf`` is packed at log time:
its buffers are concatenated into the GLB's one BIN chunk (each 4-byte aligned; their
bufferViews are moved by the buffer's offset) and its images become bufferViews of that
chunk. Standard library only (glTF 2.0, "GLB File Format Specification").
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import posixpath
import struct
from typing import Any
from urllib.parse import unquote

GLB_MAGIC = b"glTF"
JSON_CHUNK = b"JSON"
BIN_CHUNK = b"BIN\0"
_MAX_GLB = 2**32 - 1  # the header's length is a uint32

_MIME_BY_EXT = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
                ".ktx2": "image/ktx2"}


def _is_data(uri: str) -> bool:
    return uri[:5].lower() == "data:"


def _is_external(uri: str) -> bool:
    """An absolute URI with a scheme (http:, https:, file:...), not a data: URI."""
    scheme, sep, _ = uri.partition(":")
    return bool(sep) and len(scheme) > 1 and scheme.replace("+", "").replace("-", "").replace(".", "").isalnum()


def needs_packing(doc: Any) -> bool:
    """Whether a parsed ``.gltf`` refers to any file outside itself (buffers or images by URI)."""
    if not isinstance(doc, dict):
        return False
    for kind in ("buffers", "images"):
        for item in doc.get(kind) or []:
            uri = item.get("uri") if isinstance(item, dict) else None
            if isinstance(uri, str) and not _is_data(uri):
                return True
    return False


def _data_uri(uri: str, where: str, gltf_name: str) -> tuple[bytes, str | None]:
    """The bytes and media type of a ``data:`` URI."""
    head, sep, body = uri.partition(",")
    if not sep:
        raise ValueError(f"{gltf_name}: {where} has a malformed data: URI")
    params = head[5:].split(";")
    mime = params[0] or None
    try:
        data = base64.b64decode(body, validate=True) if "base64" in params[1:] else unquote(body).encode("latin-1")
    except (binascii.Error, UnicodeEncodeError) as e:
        raise ValueError(f"{gltf_name}: {where} has a data: URI that does not decode ({e})") from e
    return data, mime


def _local_file(uri: str, where: str, folder: str, gltf_name: str) -> str:
    """The file a relative URI names, which must stay inside the ``.gltf``'s folder."""
    if _is_external(uri):
        raise ValueError(
            f"{gltf_name}: {where} refers to {uri!r}, outside the file; trackline logs 3D files "
            "without fetching anything: download it next to the .gltf and refer to it by a relative path"
        )
    rel = unquote(uri).replace("\\", "/")
    norm = posixpath.normpath(rel)
    if rel.startswith("/") or norm == ".." or norm.startswith("../") or os.path.isabs(rel) or ":" in norm.split("/")[0]:
        raise ValueError(
            f"{gltf_name}: {where} refers to {uri!r}, which is not inside the .gltf's folder "
            f"({folder}); only files in that folder or below it are packed"
        )
    path = os.path.join(folder, *norm.split("/"))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{gltf_name}: {where} refers to {uri!r}, but there is no file {path!r}")
    return path


def _read(item: dict[str, Any], where: str, folder: str | None, gltf_name: str) -> tuple[bytes, str | None]:
    uri = item["uri"]
    if not isinstance(uri, str):
        raise ValueError(f"{gltf_name}: {where}.uri must be a string")
    if _is_data(uri):
        return _data_uri(uri, where, gltf_name)
    if folder is None:
        raise ValueError(
            f"{gltf_name}: {where} refers to the file {uri!r}, which cannot be found from a file object: "
            "log the .gltf by its path so the files beside it are packed with it"
        )
    path = _local_file(uri, where, folder, gltf_name)
    with open(path, "rb") as f:
        return f.read(), _MIME_BY_EXT.get(os.path.splitext(path)[1].lower())


def _sniff_mime(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"\xabKTX 20\xbb\r\n\x1a\n"):
        return "image/ktx2"
    return None


def pack_glb(doc: dict[str, Any], folder: str | None, gltf_name: str = "the .gltf") -> bytes:
    """The GLB of a parsed ``.gltf`` whose relative URIs are files under ``folder``.

    Every buffer (file or ``data:`` URI) goes into the BIN chunk, 4-byte aligned, and every
    image with a URI becomes a bufferView there (with its ``mimeType``). Raises ValueError
    for URIs outside ``folder`` or with a scheme (http, file...), FileNotFoundError for a
    missing file; ``gltf_name`` names the file in those messages.
    """
    doc = json.loads(json.dumps(doc))  # a deep copy: the caller's document stays as it was
    blob = bytearray()

    def append(data: bytes) -> int:
        blob.extend(b"\0" * (-len(blob) % 4))
        offset = len(blob)
        blob.extend(data)
        return offset

    buffers = doc.get("buffers") or []
    offsets: list[int] = []
    for i, buf in enumerate(buffers):
        where = f"buffers[{i}]"
        if not isinstance(buf, dict):
            raise ValueError(f"{gltf_name}: {where} is not an object")
        length = buf.get("byteLength")
        if not isinstance(length, int) or length < 0:
            raise ValueError(f"{gltf_name}: {where} has no valid byteLength")
        if "uri" in buf:
            data, _ = _read(buf, where, folder, gltf_name)
        elif (buf.get("extensions") or {}).get("EXT_meshopt_compression", {}).get("fallback"):
            data = b"\0" * length  # a placeholder the meshopt decoder never reads
        else:
            raise ValueError(f"{gltf_name}: {where} has no uri (only a .glb's first buffer may go without one)")
        if len(data) < length:
            raise ValueError(f"{gltf_name}: {where} holds {len(data)} bytes, fewer than its byteLength {length}")
        offsets.append(append(data[:length]))
    views = doc.get("bufferViews") or []
    for i, view in enumerate(views):
        b = view.get("buffer") if isinstance(view, dict) else None
        if not isinstance(b, int) or not 0 <= b < len(offsets):
            raise ValueError(f"{gltf_name}: bufferViews[{i}] refers to a buffer that does not exist")
        view["buffer"] = 0
        view["byteOffset"] = offsets[b] + int(view.get("byteOffset", 0))
        meshopt = (view.get("extensions") or {}).get("EXT_meshopt_compression")
        if isinstance(meshopt, dict) and isinstance(meshopt.get("buffer"), int) and 0 <= meshopt["buffer"] < len(offsets):
            # the compressed data lives in a buffer of its own too
            meshopt["byteOffset"] = offsets[meshopt["buffer"]] + int(meshopt.get("byteOffset", 0))
            meshopt["buffer"] = 0
    for i, image in enumerate(doc.get("images") or []):
        if not isinstance(image, dict) or "uri" not in image:
            continue
        data, mime = _read(image, f"images[{i}]", folder, gltf_name)
        mime = image.get("mimeType") or _sniff_mime(data) or mime
        if mime is None:
            raise ValueError(f"{gltf_name}: images[{i}] ({image['uri']!r}) is not a PNG, JPEG, WebP or KTX2 image")
        del image["uri"]
        image["mimeType"] = mime
        image["bufferView"] = len(views)
        views.append({"buffer": 0, "byteOffset": append(data), "byteLength": len(data)})
    if views:
        doc["bufferViews"] = views
    if blob:
        doc["buffers"] = [{"byteLength": len(blob)}]
    else:
        doc.pop("buffers", None)
    return glb_bytes(doc, bytes(blob))


def glb_bytes(doc: dict[str, Any], binary: bytes) -> bytes:
    """A GLB container: the 12-byte header, the JSON chunk, and a BIN chunk when there is data."""
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 4)  # the JSON chunk is padded with spaces
    chunks = struct.pack("<I4s", len(text), JSON_CHUNK) + text
    if binary:
        binary += b"\0" * (-len(binary) % 4)
        chunks += struct.pack("<I4s", len(binary), BIN_CHUNK) + binary
    total = 12 + len(chunks)
    if total > _MAX_GLB:
        raise ValueError(f"the packed .glb would be {total} bytes; a GLB holds at most {_MAX_GLB}")
    return struct.pack("<4sII", GLB_MAGIC, 2, total) + chunks


def read_glb(data: bytes) -> tuple[dict[str, Any], bytes]:
    """The JSON document and the BIN chunk (b"" when there is none) of a GLB."""
    magic, version, total = struct.unpack_from("<4sII", data, 0)
    if magic != GLB_MAGIC or version != 2 or total != len(data):
        raise ValueError("not a glTF 2.0 binary file")
    pos, doc, binary = 12, None, b""
    while pos < total:
        length, kind = struct.unpack_from("<I4s", data, pos)
        body = data[pos + 8 : pos + 8 + length]
        if kind == JSON_CHUNK:
            doc = json.loads(body)
        elif kind == BIN_CHUNK:
            binary = body
        pos += 8 + length
    if not isinstance(doc, dict):
        raise ValueError("the GLB has no JSON chunk")
    return doc, binary
