"""A .gltf that refers to .bin buffers and image files is logged as one self-contained .glb."""

from __future__ import annotations

import hashlib
import io
import json
import struct
from pathlib import Path

import pytest

import trackline
from tests.unit.data_types.conftest import last_row
from tests.unit.data_types.gltf_files import png, write_textured_gltf
from trackline.data_types.gltf import pack_glb, read_glb


def _view(doc: dict, binary: bytes, i: int) -> bytes:
    v = doc["bufferViews"][i]
    assert v["buffer"] == 0
    return binary[v.get("byteOffset", 0) : v.get("byteOffset", 0) + v["byteLength"]]


def test_gltf_with_bin_files_and_a_texture_is_logged_as_one_glb(run: trackline.Run, tmp_path: Path) -> None:
    gltf = write_textured_gltf(tmp_path)
    original = json.loads(gltf.read_text())
    obj = trackline.Object3D(str(gltf))
    run.log({"mesh": obj})
    ref = last_row(run)["mesh"]
    assert ref["_type"] == "object3D-file" and ref["path"].startswith("media/object3D/mesh_0_")
    assert ref["path"].endswith(".glb")
    stored = (Path(run.dir) / ref["path"]).read_bytes()
    # W&B's reference describes the file actually stored
    assert ref["sha256"] == hashlib.sha256(stored).hexdigest() == obj.sha256
    assert ref["size"] == len(stored)
    assert ref["path"] == f"media/object3D/mesh_0_{obj.sha256[:20]}.glb"  # type: ignore[index]

    magic, version, total = struct.unpack_from("<4sII", stored)
    assert (magic, version, total) == (b"glTF", 2, len(stored))
    json_len, json_kind = struct.unpack_from("<I4s", stored, 12)
    assert json_kind == b"JSON" and json_len % 4 == 0
    bin_len, bin_kind = struct.unpack_from("<I4s", stored, 20 + json_len)
    assert bin_kind == b"BIN\0" and bin_len % 4 == 0 and 28 + json_len + bin_len == len(stored)

    doc, binary = read_glb(stored)
    assert doc["buffers"] == [{"byteLength": doc["buffers"][0]["byteLength"]}]  # one buffer, no uri: the BIN chunk
    assert len(binary) - 3 <= doc["buffers"][0]["byteLength"] <= len(binary)
    # every buffer byte a view refers to comes back exactly
    files = {0: (tmp_path / "geometry.bin").read_bytes(), 1: (tmp_path / "parts" / "more data.bin").read_bytes()}
    for i, view in enumerate(original["bufferViews"]):
        start = view.get("byteOffset", 0)
        assert _view(doc, binary, i) == files[view["buffer"]][start : start + view["byteLength"]], i
        assert doc["bufferViews"][i]["byteOffset"] % 4 == 0
    for i, data in files.items():  # and whole buffers too, each at a 4-aligned offset
        at = doc["bufferViews"][[v["buffer"] for v in original["bufferViews"]].index(i)]["byteOffset"]
        at -= original["bufferViews"][[v["buffer"] for v in original["bufferViews"]].index(i)].get("byteOffset", 0)
        assert at % 4 == 0 and binary[at : at + len(data)] == data
    # the texture moved into the BIN chunk
    (image,) = doc["images"]
    assert "uri" not in image and image["mimeType"] == "image/png"
    assert _view(doc, binary, image["bufferView"]) == (tmp_path / "textures" / "green tile.png").read_bytes()
    # the rest of the document is untouched
    for key in ("meshes", "accessors", "materials", "textures", "samplers", "nodes", "scenes"):
        assert doc[key] == original[key], key


def test_packing_is_deterministic_and_leaves_the_document_alone(tmp_path: Path) -> None:
    gltf = write_textured_gltf(tmp_path)
    doc = json.loads(gltf.read_text())
    before = json.dumps(doc)
    assert pack_glb(doc, str(tmp_path)) == pack_glb(doc, str(tmp_path))
    assert json.dumps(doc) == before
    assert trackline.Object3D(gltf).sha256 == trackline.Object3D(str(gltf)).sha256  # a Path works too


def test_self_contained_gltf_is_kept_as_it_is(tmp_path: Path) -> None:
    doc = {"asset": {"version": "2.0"},
           "buffers": [{"byteLength": 4, "uri": "data:application/octet-stream;base64,AAECAw=="}]}
    path = tmp_path / "inline.gltf"
    path.write_text(json.dumps(doc))
    obj = trackline.Object3D(str(path))
    assert obj._ext == ".gltf" and obj._read_bytes() == path.read_bytes()


def test_data_uri_buffers_are_packed_beside_file_buffers(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"\x01\x02\x03")
    doc = {"asset": {"version": "2.0"},
           "buffers": [{"byteLength": 4, "uri": "data:application/octet-stream;base64,AAECAw=="},
                       {"byteLength": 3, "uri": "a.bin"}],
           "bufferViews": [{"buffer": 1, "byteLength": 3}, {"buffer": 0, "byteOffset": 1, "byteLength": 2}]}
    out, binary = read_glb(pack_glb(doc, str(tmp_path)))
    assert _view(out, binary, 0) == b"\x01\x02\x03" and _view(out, binary, 1) == b"\x01\x02"


def test_open_gltf_file_finds_its_files_beside_it(tmp_path: Path) -> None:
    gltf = write_textured_gltf(tmp_path)
    with open(gltf, "rb") as f:
        obj = trackline.Object3D(f, file_type="gltf")
    assert obj._ext == ".glb" and obj.sha256 == trackline.Object3D(str(gltf)).sha256
    with pytest.raises(ValueError, match=r"log the \.gltf by its path"):
        trackline.Object3D(io.BytesIO(gltf.read_bytes()), file_type="gltf")


@pytest.mark.parametrize("uri", ["../outside.bin", "parts/../../outside.bin", "/etc/passwd", "..%2Foutside.bin",
                                 "C:/outside.bin", "..\\outside.bin"])
def test_files_outside_the_gltf_folder_are_refused(tmp_path: Path, uri: str) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "outside.bin").write_bytes(b"\0" * 8)
    path = folder / "escape.gltf"
    path.write_text(json.dumps({"asset": {"version": "2.0"}, "buffers": [{"byteLength": 8, "uri": uri}]}))
    with pytest.raises(ValueError, match=r"escape\.gltf: buffers\[0\] refers to .* not inside the \.gltf's folder"):
        trackline.Object3D(str(path))


def test_escaping_image_is_refused_too(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "secret.png").write_bytes(png(1, 1, (0, 0, 0)))
    path = tmp_path / "model" / "tex.gltf"
    path.write_text(json.dumps({"asset": {"version": "2.0"}, "images": [{"uri": "../secret.png"}]}))
    with pytest.raises(ValueError, match=r"tex\.gltf: images\[0\] refers to '\.\./secret\.png'"):
        trackline.Object3D(str(path))


@pytest.mark.parametrize("uri", ["https://example.com/model.bin", "http://example.com/a.bin", "file:///tmp/a.bin"])
def test_uris_with_a_scheme_are_refused(tmp_path: Path, uri: str) -> None:
    path = tmp_path / "remote.gltf"
    path.write_text(json.dumps({"asset": {"version": "2.0"}, "buffers": [{"byteLength": 8, "uri": uri}]}))
    with pytest.raises(ValueError, match=r"remote\.gltf: buffers\[0\] refers to .*without fetching anything"):
        trackline.Object3D(str(path))


def test_missing_and_short_buffer_files(tmp_path: Path) -> None:
    path = tmp_path / "m.gltf"
    path.write_text(json.dumps({"asset": {"version": "2.0"}, "buffers": [{"byteLength": 8, "uri": "gone.bin"}]}))
    with pytest.raises(FileNotFoundError, match=r"m\.gltf: buffers\[0\] refers to 'gone\.bin'"):
        trackline.Object3D(str(path))
    (tmp_path / "gone.bin").write_bytes(b"1234")
    with pytest.raises(ValueError, match="fewer than its byteLength 8"):
        trackline.Object3D(str(path))


def test_meshopt_views_follow_their_compressed_buffer(tmp_path: Path) -> None:
    (tmp_path / "packed.bin").write_bytes(b"\x05" * 6)
    doc = {"asset": {"version": "2.0"}, "extensionsUsed": ["EXT_meshopt_compression"],
           "buffers": [{"byteLength": 12, "extensions": {"EXT_meshopt_compression": {"fallback": True}}},
                       {"byteLength": 6, "uri": "packed.bin"}],
           "bufferViews": [{"buffer": 0, "byteLength": 12, "extensions": {"EXT_meshopt_compression": {
               "buffer": 1, "byteOffset": 2, "byteLength": 4, "byteStride": 4, "count": 3, "mode": "ATTRIBUTES"}}}]}
    out, binary = read_glb(pack_glb(doc, str(tmp_path)))
    ext = out["bufferViews"][0]["extensions"]["EXT_meshopt_compression"]
    assert ext["buffer"] == 0 and binary[ext["byteOffset"] : ext["byteOffset"] + ext["byteLength"]] == b"\x05" * 4
    assert _view(out, binary, 0) == b"\0" * 12  # the fallback buffer: room only
