"""``Audio`` (W&B: ``wandb.Audio``): raw samples written as 16-bit PCM WAV, or an audio file."""

from __future__ import annotations

import io
import os
import wave
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from trackline.data_types.base import Media, to_numpy

if TYPE_CHECKING:
    from trackline.data_types.binding import Binder

AUDIO_EXTS = (".wav", ".mp3", ".ogg", ".flac", ".m4a", ".aac", ".opus", ".webm")


def wav_bytes(samples: Any, sample_rate: int) -> bytes:
    """Samples ``(n,)`` or ``(n, channels)`` -> WAV bytes (floats in [-1, 1] scaled to int16)."""
    import numpy as np

    arr = samples
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.dtype.kind == "f":
        pcm = (np.clip(arr, -1.0, 1.0) * 32767.0).round().astype("<i2")
    elif arr.dtype == np.int16:
        pcm = arr.astype("<i2", copy=False)
    elif arr.dtype.kind in "iu":
        info = np.iinfo(arr.dtype)
        scale = max(abs(int(info.min)), int(info.max))
        pcm = (arr.astype(np.float64) / scale * 32767.0).round().astype("<i2")
    else:
        raise TypeError(f"data_or_path: audio samples must be numbers, got dtype {arr.dtype}")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(np.ascontiguousarray(pcm).tobytes())
    return buf.getvalue()


class Audio(Media):
    """A sound clip (W&B: ``wandb.Audio``): ``Audio(samples, sample_rate=16000)`` or ``Audio("clip.wav")``."""

    SUBDIR = "media/audio"
    _log_type = "audio-file"

    def __init__(self, data_or_path: Any, sample_rate: int | None = None, caption: str | None = None) -> None:
        super().__init__(caption)
        self._sample_rate = sample_rate
        self._duration: float | None = None
        if isinstance(data_or_path, Audio):
            for attr in ("_payload", "_source", "_sha256", "_size", "_ext", "_sample_rate", "_duration"):
                setattr(self, attr, getattr(data_or_path, attr))
            return
        if isinstance(data_or_path, (str, os.PathLike)):
            path = os.fspath(data_or_path)
            if "://" in path:
                raise ValueError(f"data_or_path: {path!r} is a remote reference; trackline.Audio logs local files only")
            if not os.path.isfile(path):
                raise FileNotFoundError(f"data_or_path: no audio file at {path!r}")
            ext = os.path.splitext(path)[1].lower()
            if ext not in AUDIO_EXTS:
                raise ValueError(f"data_or_path: {path!r} is not an audio file ({', '.join(AUDIO_EXTS)})")
            self._set_source(path, ext)
            if ext == ".wav":
                try:
                    with wave.open(path, "rb") as w:
                        self._sample_rate = w.getframerate()
                        self._duration = w.getnframes() / float(w.getframerate())
                except (wave.Error, EOFError):
                    pass
            return
        if sample_rate is None:
            raise ValueError('Argument "sample_rate" is required when instantiating trackline.Audio with raw data.')
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
            try:
                ok = int(sample_rate) == sample_rate and int(sample_rate) > 0
            except (TypeError, ValueError):
                ok = False
            if not ok or isinstance(sample_rate, bool):
                raise ValueError(f"sample_rate must be a positive integer (samples per second), got {sample_rate!r}")
            sample_rate = int(sample_rate)
        import numpy as np

        arr = to_numpy(data_or_path, "data_or_path")
        if arr.ndim not in (1, 2):
            raise ValueError(f"data_or_path: audio must be (samples,) or (samples, channels), got shape {list(arr.shape)}")
        if arr.shape[0] == 0:
            raise ValueError("data_or_path: the audio has no samples (0-length array)")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValueError("data_or_path: audio samples contain NaN or infinite values")
        self._sample_rate = sample_rate
        self._duration = arr.shape[0] / float(sample_rate)
        self._set_bytes(wav_bytes(arr, sample_rate), ".wav")

    @property
    def sample_rate(self) -> int | None:
        return self._sample_rate

    def duration(self) -> float | None:
        return self._duration

    def _ref_json(self) -> dict[str, Any]:
        out = super()._ref_json()
        if self._sample_rate is not None:
            out["sample_rate"] = self._sample_rate
        if self._duration is not None:
            out["duration"] = self._duration
        return out

    @classmethod
    def seq_to_json(cls, seq: Sequence[Media], binder: Binder, key: str, step: int | str) -> dict[str, Any]:
        items = [s for s in seq if isinstance(s, Audio)]
        meta: dict[str, Any] = {
            "_type": "audio",
            "count": len(items),
            "audio": [a._bind_json(binder, key, step) for a in items],
        }
        rates = [a._sample_rate for a in items]
        if all(r is not None for r in rates):
            meta["sampleRates"] = rates
        durations = [a._duration for a in items]
        if all(d is not None for d in durations):
            meta["durations"] = durations
        captions = cls.captions(items)
        if captions:
            meta["captions"] = captions
        return meta
