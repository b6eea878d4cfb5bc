"""``Video`` (W&B: ``wandb.Video``): numpy ``(t, c, h, w)`` / ``(b, t, c, h, w)`` or a video file.

GIFs are encoded with Pillow; mp4 (H.264) and webm (VP9) with PyAV (``pip install av``),
which ships its own FFmpeg. A batch of clips is tiled into one grid, as W&B does.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from trackline.data_types.base import Media, to_numpy, warn

if TYPE_CHECKING:
    from trackline.data_types.binding import Binder

EXTS = ("gif", "mp4", "webm", "ogg")


def prepare_video(video: Any) -> Any:
    """``(t, c, h, w)`` or ``(b, t, c, h, w)`` -> uint8 frames ``(t, H, W, c)`` (batches tiled)."""
    import numpy as np

    if video.ndim < 4:
        raise ValueError("Video must be at least 4 dimensions: time, channels, height, width")
    if video.ndim == 4:
        video = video.reshape(1, *video.shape)
    if video.ndim != 5:
        raise ValueError(f"Video must be (time, channels, height, width) or (batch, time, channels, height, width), got shape {list(video.shape)}")
    if video.size == 0:
        raise ValueError(f"data_or_path: the video is empty (shape {list(video.shape)})")
    if video.dtype.kind == "f" and not np.isfinite(video).all():
        raise ValueError("data_or_path: video frames contain NaN or infinite values")
    if video.dtype != np.uint8:
        warn("Converting video data to uint8")
        video = video.astype(np.uint8)
    b, t, c, h, w = video.shape
    if c not in (1, 3, 4):
        raise ValueError(f"Video channels must be 1, 3 or 4, got {c} (shape {list(video.shape)})")
    if b & (b - 1):  # pad the batch to a power of two
        pad = (1 << b.bit_length()) - b
        video = np.concatenate([video, np.zeros((pad, t, c, h, w), dtype=video.dtype)], axis=0)
        b = video.shape[0]
    n_rows = 2 ** ((b.bit_length() - 1) // 2)
    n_cols = b // n_rows
    video = video.reshape(n_rows, n_cols, t, c, h, w).transpose(2, 0, 4, 1, 5, 3)
    return video.reshape(t, n_rows * h, n_cols * w, c)


def encode(frames: Any, fps: int, fmt: str) -> bytes:
    import numpy as np

    if fmt == "gif":
        from PIL import Image as PILImage

        mode = "L" if frames.shape[-1] == 1 else "RGB"
        data = frames[..., 0] if mode == "L" else frames[..., :3]
        images = [PILImage.fromarray(np.ascontiguousarray(f), mode=mode) for f in data]
        buf = io.BytesIO()
        images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                       duration=max(1, round(1000 / fps)), loop=0)
        return buf.getvalue()
    try:
        import av
    except ImportError:
        raise ImportError(f"encoding {fmt} video needs PyAV: pip install av (or use format='gif')") from None
    codec = {"mp4": "libx264", "webm": "libvpx-vp9", "ogg": "libvpx"}[fmt]
    container_fmt = {"mp4": "mp4", "webm": "webm", "ogg": "webm"}[fmt]
    _t, h, w, c = frames.shape
    rgb = np.repeat(frames, 3, axis=-1) if c == 1 else frames[..., :3]
    # yuv420p needs even sizes
    eh, ew = h + (h % 2), w + (w % 2)
    if (eh, ew) != (h, w):
        rgb = np.pad(rgb, ((0, 0), (0, eh - h), (0, ew - w), (0, 0)))
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container_fmt) as out:
        stream = out.add_stream(codec, rate=int(fps))
        stream.width, stream.height = ew, eh
        stream.pix_fmt = "yuv420p"
        for frame in rgb:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


class Video(Media):
    """A video clip (W&B: ``wandb.Video``).

    ``format``: gif, mp4, webm or ogg (numpy input without it: a warning, then gif);
    ``fps`` defaults to 4.
    """

    SUBDIR = "media/videos"
    EXTS = EXTS
    _log_type = "video-file"

    def __init__(self, data_or_path: Any, caption: str | None = None, fps: int | None = None, format: str | None = None) -> None:
        super().__init__(caption)
        self._fps = fps
        self._width: int | None = None
        self._height: int | None = None
        if format is not None and format not in EXTS:
            raise ValueError(f"trackline.Video accepts {', '.join(EXTS)} formats, got format={format!r}")
        if isinstance(data_or_path, (str, os.PathLike)):
            path = os.fspath(data_or_path)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"data_or_path: no video file at {path!r}")
            ext = os.path.splitext(path)[1][1:].lower()
            if ext not in EXTS:
                raise ValueError(f"trackline.Video accepts {', '.join(EXTS)} formats, got {path!r}")
            self._format = ext
            self._set_source(path, "." + ext)
            return
        if isinstance(data_or_path, (bytes, bytearray)) or hasattr(data_or_path, "read"):
            if format is None:
                raise ValueError("trackline.Video requires a `format` argument when initializing with raw bytes (an io object).")
            raw = data_or_path.read() if hasattr(data_or_path, "read") else bytes(data_or_path)
            self._format = format
            self._set_bytes(raw, "." + format)
            return
        if format is None:
            warn("`format` argument was not provided, defaulting to `gif`. This parameter will be required in a future release.")
            format = "gif"
        self._format = format
        fps = 4 if fps is None else fps
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or fps <= 0:
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        self._fps = int(fps)
        arr = to_numpy(data_or_path, "data_or_path")
        frames = prepare_video(arr)
        self._height, self._width = int(frames.shape[1]), int(frames.shape[2])
        self._set_bytes(encode(frames, self._fps, format), "." + format)

    def _ref_json(self) -> dict[str, Any]:
        out = super()._ref_json()
        if self._width is not None:
            out["width"] = self._width
            out["height"] = self._height
        return out

    @classmethod
    def seq_to_json(cls, seq: Sequence[Media], binder: Binder, key: str, step: int | str) -> dict[str, Any]:
        return {
            "_type": "videos",
            "count": len(seq),
            "videos": [v._bind_json(binder, key, step) for v in seq],
            "captions": cls.captions(seq),
        }
