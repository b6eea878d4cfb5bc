"""W&B in offline mode: ``wandb.init(mode="offline")``; data lands in a local .wandb file.

The .wandb transaction log is W&B's only local store in offline mode (nothing is
queryable until ``wandb sync`` uploads it), so "store" here means that file.
It is read back with a small reader of its documented LevelDB-log framing plus
W&B's own protobuf ``Record`` type, so no private W&B reader is needed.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from adapters.base import PROJECT, Adapter, count_items
from workload import KEYS

_HEADER = struct.Struct("<4sHB")  # ident, magic, version
_CHUNK = struct.Struct("<IHB")  # crc32, length, type
_BLOCK = 32768
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def iter_wandb_records(path: Path) -> Iterator[bytes]:
    """Yield each complete record payload; stop quietly at a torn or corrupt tail."""
    data = path.read_bytes()
    if len(data) < _HEADER.size:
        return
    ident, _magic, _version = _HEADER.unpack_from(data, 0)
    if ident != b":W&B":
        raise ValueError(f"{path}: not a W&B transaction log (ident {ident!r})")
    pos = _HEADER.size
    pending: list[bytes] = []
    while True:
        left_in_block = _BLOCK - pos % _BLOCK
        if left_in_block < _CHUNK.size:  # zero trailer at the end of a block
            pos += left_in_block
        if pos + _CHUNK.size > len(data):
            return
        crc, length, kind = _CHUNK.unpack_from(data, pos)
        start = pos + _CHUNK.size
        chunk = data[start : start + length]
        if kind == 0 or len(chunk) < length:
            return  # preallocated zeros or a torn write
        if zlib.crc32(chunk, zlib.crc32(bytes((kind,)))) & 0xFFFFFFFF != crc:
            return  # torn/corrupt: everything before it stands
        pos = start + length
        if kind == _FULL:
            yield chunk
        elif kind == _FIRST:
            pending = [chunk]
        elif kind == _MIDDLE:
            pending.append(chunk)
        elif kind == _LAST:
            pending.append(chunk)
            yield b"".join(pending)
            pending = []


class WandbAdapter(Adapter):
    name = "wandb"
    module = "wandb"
    dists = ("wandb",)
    setup_note = "wandb.init(mode='offline'); run.log(d) (implicit step); store = run-*.wandb file"

    def configure_env(self) -> None:
        os.environ["WANDB_MODE"] = "offline"
        os.environ["WANDB_SILENT"] = "true"
        os.environ["WANDB_DIR"] = str(self.workdir)
        os.environ.setdefault("WANDB_CONFIG_DIR", str(self.workdir / "wandb-config"))
        os.environ.setdefault("WANDB_CACHE_DIR", str(self.workdir / "wandb-cache"))
        os.environ.setdefault("WANDB_DATA_DIR", str(self.workdir / "wandb-data"))

    def import_tool(self) -> None:
        import wandb

        self.wandb = wandb

    def init(self) -> None:
        self.run = self.wandb.init(project=PROJECT, dir=str(self.workdir), mode="offline")

    def log_callable(self) -> Callable[..., Any]:
        return self.run.log

    def finish(self) -> None:
        self.run.finish()

    def context(self) -> dict[str, Any]:
        return {"run_id": self.run.id, "sync_dir": str(Path(self.run.dir).parent)}

    def _run_dir(self, ctx: dict[str, Any]) -> Path:
        if ctx.get("sync_dir"):
            return Path(ctx["sync_dir"])
        found = sorted((self.workdir / "wandb").glob("offline-run-*"))
        if not found:
            raise FileNotFoundError(f"no offline-run-* under {self.workdir / 'wandb'}")
        return found[-1]

    def _wandb_file(self, ctx: dict[str, Any]) -> Path:
        files = sorted(self._run_dir(ctx).glob("run-*.wandb"))
        if not files:
            raise FileNotFoundError(f"no run-*.wandb in {self._run_dir(ctx)}")
        return files[0]

    def read_points(self, ctx: dict[str, Any]) -> Counter[int]:
        from wandb.proto import wandb_internal_pb2 as pb

        def rows() -> Iterator[tuple[int, list[str]]]:
            rec = pb.Record()
            for payload in iter_wandb_records(self._wandb_file(ctx)):
                rec.ParseFromString(payload)
                if rec.WhichOneof("record_type") != "history":
                    continue
                h = rec.history
                keys = [it.key or "/".join(it.nested_key) for it in h.item]
                yield h.step.num, keys

        return count_items(rows(), KEYS)

    def storage_paths(self, ctx: dict[str, Any]) -> tuple[list[Path], list[Path]]:
        return [self._wandb_file(ctx)], [self._run_dir(ctx)]


ADAPTER = WandbAdapter
