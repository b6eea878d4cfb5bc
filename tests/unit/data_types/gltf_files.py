"""A textured glTF written the way exporters write one: the ``.gltf`` JSON, its buffers in
separate ``.bin`` files (one in a subfolder) and a PNG texture, all named by relative URIs."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

GREEN = (30, 200, 60)


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour 8-bit RGB PNG (standard library only)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def write_textured_gltf(folder: Path, name: str = "textured.gltf") -> Path:
    """A cube (8 vertices, 12 triangles) with UVs and a green PNG texture. Positions are in
    ``geometry.bin``; indices and UVs in ``parts/more data.bin`` (an odd length first, so the
    packer has to align); the texture is ``textures/green tile.png``; URIs are %-encoded."""
    vertices = [(x - 0.5, y - 0.5, z - 0.5) for z in (0, 1) for y in (0, 1) for x in (0, 1)]
    uvs = [(x, y) for z in (0, 1) for y in (0, 1) for x in (0, 1)]
    quads = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    faces = [t for q in quads for t in ((q[0], q[1], q[2]), (q[0], q[2], q[3]))]
    positions = b"".join(struct.pack("<3f", *v) for v in vertices)
    indices = b"".join(struct.pack("<3H", *f) for f in faces)  # 72 bytes
    pad = b"\x07" * 3  # bytes no view refers to, so the UVs sit at an offset that is 4-aligned again
    more = indices + b"\0" * (-len(indices) % 4) + b"".join(struct.pack("<2f", *uv) for uv in uvs) + pad
    (folder / "parts").mkdir(parents=True, exist_ok=True)
    (folder / "textures").mkdir(exist_ok=True)
    (folder / "geometry.bin").write_bytes(positions)
    (folder / "parts" / "more data.bin").write_bytes(more)
    (folder / "textures" / "green tile.png").write_bytes(png(4, 4, GREEN))
    uv_offset = len(indices) + (-len(indices) % 4)
    doc: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "trackline test"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 2}, "indices": 1, "material": 0}]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}, "metallicFactor": 0.0,
                                                "roughnessFactor": 0.8}}],
        "textures": [{"source": 0, "sampler": 0}],
        "samplers": [{"magFilter": 9728, "minFilter": 9728}],
        "images": [{"uri": "textures/green%20tile.png"}],
        "buffers": [{"uri": "geometry.bin", "byteLength": len(positions)},
                    {"uri": "parts/more%20data.bin", "byteLength": len(more)}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": len(positions), "target": 34962},
            {"buffer": 1, "byteOffset": 0, "byteLength": len(indices), "target": 34963},
            {"buffer": 1, "byteOffset": uv_offset, "byteLength": 8 * len(uvs), "target": 34962},
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": len(vertices), "type": "VEC3",
             "min": [-0.5, -0.5, -0.5], "max": [0.5, 0.5, 0.5]},
            {"bufferView": 1, "componentType": 5123, "count": len(faces) * 3, "type": "SCALAR"},
            {"bufferView": 2, "componentType": 5126, "count": len(uvs), "type": "VEC2"},
        ],
    }
    path = folder / name
    path.write_text(json.dumps(doc, indent=1))
    return path
