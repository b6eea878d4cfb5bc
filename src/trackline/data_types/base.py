"""What every trackline data type shares: the value protocol and file-backed media.

A data type is a ``WBValue``: it has ``_trackline_value = True`` and ``to_json(run)``.
Inline values (``Histogram``) encode without a run. File-backed media (``Media``)
hold their encoded bytes (or a source file) and its sha256 from the moment they are
made; binding one to a run writes it under ``run.dir/media/<kind>/`` with W&B's name
``<key>_<step>_<sha256[:20]><ext>`` and records it as a run file, so the sender puts
it in the content-addressed blob store (identical media are stored once).
"""

from __future__ import annotations

import abc
import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from trackline.sdk.values import Unloggable

if TYPE_CHECKING:
    from trackline.data_types.binding import Binder

logger = logging.getLogger("trackline")


def warn(text: str) -> None:
    logger.warning(text)


class MediaNeedsRun(Unloggable):
    """A file-backed value was encoded without a run to hold its file."""


class WBValue(abc.ABC):
    """Base of trackline's data types (W&B: ``wandb.sdk.data_types.base_types.wb_value.WBValue``)."""

    _trackline_value: ClassVar[bool] = True
    _log_type: ClassVar[str] = ""

    @abc.abstractmethod
    def to_json(self, run: Any = None) -> dict[str, Any]:
        """The JSON stored in history/summary for this value."""

    def _bind_json(self, binder: Binder, key: str, step: int | str) -> dict[str, Any]:
        """The JSON reference of this value logged under ``key`` at ``step``."""
        return self.to_json()


def media_filename(key: str, step: int | str, id_: str, ext: str) -> str:
    """W&B's ``<key>_<step>_<id><ext>``: a ``/`` in the key makes folders; ``.``/``..`` parts become ``_``."""
    text = str(key).replace("\\", "_").replace("\x00", "_").lstrip("/")
    parts = ["_" if p in (".", "..") else p for p in text.split("/") if p != ""]
    if not parts:
        parts = ["_"]
    return "/".join(parts) + f"_{step}_{id_}{ext}"


class Media(WBValue):
    """A value stored as a file of the run (image, audio, video, html, 3D object, table...)."""

    SUBDIR: ClassVar[str] = "media"
    MAX_ITEMS: ClassVar[int | None] = None

    def __init__(self, caption: str | None = None) -> None:
        if caption is not None and not isinstance(caption, str):
            caption = str(caption)
        self._caption = caption
        self._payload: bytes | None = None
        self._source: str | None = None
        self._sha256: str | None = None
        self._size: int | None = None
        self._ext = ""
        self._run: Any = None
        self._path: str | None = None  # relative to run.dir once bound

    # -- content ------------------------------------------------------------------------

    def _set_bytes(self, data: bytes, ext: str) -> None:
        self._payload = data
        self._source = None
        self._sha256 = hashlib.sha256(data).hexdigest()
        self._size = len(data)
        self._ext = ext

    def _set_source(self, path: str, ext: str | None = None) -> None:
        """Use an existing file (copied when bound), hashed now."""
        sha = hashlib.sha256()
        size = 0
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                sha.update(chunk)
                size += len(chunk)
        self._payload = None
        self._source = os.path.abspath(path)
        self._sha256 = sha.hexdigest()
        self._size = size
        self._ext = ext if ext is not None else os.path.splitext(path)[1]

    def _read_bytes(self) -> bytes:
        if self._payload is not None:
            return self._payload
        if self._source is not None:
            with open(self._source, "rb") as f:
                return f.read()
        stored = getattr(self, "_stored", None)  # read back through the API
        if stored is not None:
            self._payload = stored.read()
            return self._payload
        raise ValueError(f"this {type(self).__name__} has no content")

    def download(self, root: str = ".", replace: bool = False, exist_ok: bool = False) -> str:
        """Save a media file read through the API to ``root/<path>``; returns the path written."""
        from trackline.data_types.readback import download

        return download(self, root, replace, exist_ok)

    @property
    def sha256(self) -> str | None:
        return self._sha256

    # -- binding ------------------------------------------------------------------------

    def _file_name(self, key: str, step: int | str, id_: str | None = None) -> str:
        assert self._sha256 is not None
        return f"{self.SUBDIR}/" + media_filename(key, step, id_ or self._sha256[:20], self._ext)

    def bind_to_run(self, run: Any, key: str, step: int | str, id_: str | None = None) -> None:
        """Write this value's file into ``run.dir`` and record it as a run file (W&B's ``bind_to_run``)."""
        from trackline.data_types.binding import Binder

        binder = Binder(run)
        self._bind(binder, key, step, id_)
        binder.flush()

    def _bind(self, binder: Binder, key: str, step: int | str, id_: str | None = None) -> str:
        if self._sha256 is None:
            raise ValueError(f"this {type(self).__name__} has no content to log")
        rel = self._file_name(key, step, id_)
        binder.write(rel, self)
        self._run = binder.run
        self._path = rel
        return rel

    def is_bound(self) -> bool:
        return self._run is not None

    def _ref_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"_type": self._log_type, "path": self._path, "sha256": self._sha256, "size": self._size}
        if self._caption is not None:
            out["caption"] = self._caption
        return out

    def to_json(self, run: Any = None) -> dict[str, Any]:
        """The JSON reference (``{"_type", "path", "sha256", "size", ...}``); needs the run it is bound to."""
        # Without a run (msgspec's hook in log()) this always raises, so every log() of a
        # media object takes the binding path: a new step gets its own file name.
        if run is None or self._path is None or run is not self._run:
            raise MediaNeedsRun(
                f"a {type(self).__name__} must be logged with run.log() (or bound with bind_to_run) "
                "before it can be turned into JSON"
            )
        return self._ref_json()

    def _bind_json(self, binder: Binder, key: str, step: int | str) -> dict[str, Any]:
        self._bind(binder, key, step)
        return self._ref_json()

    # -- sequences ----------------------------------------------------------------------

    @classmethod
    def seq_to_json(cls, seq: Sequence[Media], binder: Binder, key: str, step: int | str) -> Any:
        """One JSON value for a list of media of this class (W&B's ``seq_to_json``).

        Classes with a combined form (images, audio, video, html, 3D objects) override this.
        The others (tables, plotly figures, masks, boxes) are kept as a list of their own
        references (W&B has no combined form for them either: its log call fails and is lost).
        """
        return [m._bind_json(binder, key, step) for m in seq]

    @staticmethod
    def captions(items: Sequence[Media]) -> list[str | None] | bool:
        if items and items[0]._caption is not None:
            return [m._caption for m in items]
        return False

    # -- local files --------------------------------------------------------------------

    def _local_file(self) -> str:
        """A path to this value's file on disk (bound copy, source, or a temporary file)."""
        if self._run is not None and self._path is not None:
            full = os.path.join(self._run.dir, *self._path.split("/"))
            if os.path.exists(full):
                return full
        if self._source is not None:
            return self._source
        fd, tmp = tempfile.mkstemp(suffix=self._ext, prefix="trackline-media-")
        with os.fdopen(fd, "wb") as f:
            f.write(self._read_bytes())
        self._source = tmp
        return tmp

    def __repr__(self) -> str:
        where = self._path or (self._sha256[:12] if self._sha256 else "empty")
        return f"<{type(self).__name__} {where}>"


def full_typename(obj: Any) -> str:
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def is_numpy_array(obj: Any) -> bool:
    return type(obj).__module__ == "numpy" and type(obj).__name__ == "ndarray"


def is_torch_tensor(obj: Any) -> bool:
    return (type(obj).__module__ or "").startswith("torch") and hasattr(obj, "detach")


def to_numpy(obj: Any, argument: str) -> Any:
    """numpy / torch / jax / tf / lists -> an ndarray; anything else is a TypeError naming ``argument``."""
    import numpy as np

    if is_numpy_array(obj):
        return obj
    if is_torch_tensor(obj):
        t = obj.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        return t.numpy()
    if hasattr(obj, "numpy") and callable(obj.numpy):
        return np.asarray(obj.numpy())
    if isinstance(obj, (list, tuple)) or hasattr(obj, "__array__"):
        try:
            return np.asarray(obj)
        except (ValueError, TypeError) as exc:
            raise TypeError(f"{argument}: cannot turn {full_typename(obj)} into an array: {exc}") from None
    raise TypeError(f"{argument}: expected an array (numpy, torch, list), got {full_typename(obj)}")
