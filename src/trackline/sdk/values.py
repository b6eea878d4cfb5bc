"""Turning user values into what a record can hold (W&B's value conversion table).

The fast path costs nothing: msgspec encodes ints, floats (NaN/Inf included), strings,
bools, None, lists, tuples, dicts, bytes and datetimes natively, and calls
:func:`enc_hook` only for anything else (numpy, torch, ...). When even that fails,
:func:`clean` walks the call key by key, drops only the values that cannot be
logged, and names each one in a warning, so one bad value never loses the others.

| input                         | stored as                                             |
| ----------------------------- | ----------------------------------------------------- |
| numpy scalar                  | ``.item()`` (bfloat16/float128 -> float)              |
| numpy array of size 1         | its element                                           |
| numpy array of size <= 32     | a list                                                |
| numpy array of size > 32      | a 32-bin histogram ``{"_type": "histogram", ...}``    |
|                               | (in the summary: a stats dict, as W&B does)           |
| torch / jax / tf tensor       | converted to numpy, then as above                     |
| datetime / date               | ISO string                                            |
| Enum                          | its name                                              |
| callable                      | ``"module.qualname"``                                 |
| object with ``to_json(run)``  | that JSON (trackline data types)                      |
"""

from __future__ import annotations

import datetime
import enum
import math
from collections.abc import Callable
from typing import Any

import msgspec

HISTOGRAM_ELEMENTS = 32


class Unloggable(TypeError):
    """A value that trackline cannot log; the message says what to do instead."""


def _numpy() -> Any:
    import numpy

    return numpy


def _array_to_value(arr: Any, namespace: str) -> Any:
    np = _numpy()
    if arr.dtype == object:
        return [_plain_item(x, namespace) for x in arr.ravel().tolist()]
    if arr.size == 1:
        return _plain_item(arr.reshape(()).item(), namespace)
    if arr.size <= HISTOGRAM_ELEMENTS:
        if arr.dtype.kind == "f" and arr.dtype.itemsize > 8:
            arr = arr.astype(np.float64)
        return arr.tolist()
    if arr.dtype.kind not in "biuf":
        return arr.tolist()
    if namespace == "summary":
        flat = arr.astype(np.float64).ravel()
        finite = flat[np.isfinite(flat)]
        if finite.size == 0:
            return {"_type": "histogram", "values": [], "bins": []}
        return {
            "_type": "np.ndarray.stats",
            "var": float(np.var(finite)),
            "mean": float(np.mean(finite)),
            "min": float(np.min(finite)),
            "max": float(np.max(finite)),
            "10%": float(np.percentile(finite, 10)),
            "25%": float(np.percentile(finite, 25)),
            "75%": float(np.percentile(finite, 75)),
            "90%": float(np.percentile(finite, 90)),
            "size": int(flat.size),
        }
    return histogram_json(arr, HISTOGRAM_ELEMENTS)


def _plain_item(value: Any, namespace: str) -> Any:
    if value is None or type(value) in (int, float, str, bool, bytes):
        return value
    return to_plain(value, namespace)


def histogram_json(values: Any, num_bins: int) -> dict[str, Any]:
    np = _numpy()
    from trackline.data_types.histogram import histogram_of_any

    flat = np.asarray(values).ravel()
    if flat.dtype not in (np.float64, np.float32):
        flat = flat.astype(np.float64)
    try:
        # numpy.histogram's counts and edges over the finite values (float32 edges for
        # float32 values, as W&B's numpy.histogram of the array), ~8x faster on big arrays;
        # ranges numpy cannot bin (W&B's log fails on them) still get every value counted.
        counts, edges = histogram_of_any(flat, num_bins)
    except ValueError:  # nothing finite to count
        return {"_type": "histogram", "values": [], "bins": []}
    return {"_type": "histogram", "values": counts.tolist(), "bins": edges.tolist()}


def to_plain(obj: Any, namespace: str = "history") -> Any:
    """Convert one non-native value; raise :class:`Unloggable` when there is no conversion."""
    to_json = getattr(obj, "to_json", None)
    if to_json is not None and getattr(obj, "_trackline_value", False):
        return to_json()
    module = type(obj).__module__ or ""
    root = module.split(".", 1)[0]
    if root == "numpy":
        np = _numpy()
        if isinstance(obj, np.generic):
            if obj.dtype.kind == "f" or obj.dtype.name == "bfloat16":
                return float(obj)
            return _plain_item(obj.item(), namespace)
        if isinstance(obj, np.ndarray):
            return _array_to_value(obj, namespace)
    if root == "torch" and hasattr(obj, "detach"):
        t = obj.detach()
        if t.dim() == 0:
            return t.item()
        t = t.cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        return _array_to_value(t.numpy(), namespace)
    if root in ("jax", "jaxlib", "tensorflow", "ml_dtypes"):
        np = _numpy()
        return _array_to_value(np.asarray(obj), namespace)
    if root == "pandas" and hasattr(obj, "item") and hasattr(obj, "dtype") and not hasattr(obj, "shape"):
        return obj.item()
    if isinstance(obj, datetime.datetime | datetime.date | datetime.time):
        return obj.isoformat()
    if isinstance(obj, enum.Enum):
        return obj.name
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    if callable(obj) and hasattr(obj, "__qualname__"):
        return f"{getattr(obj, '__module__', '')}.{obj.__qualname__}"
    raise Unloggable(
        f"a value of type {type(obj).__module__}.{type(obj).__qualname__} cannot be logged; "
        "log a number, string, list, dict, numpy/torch value or a trackline data type instead"
    )


def enc_hook(obj: Any) -> Any:
    return to_plain(obj, "history")


def summary_enc_hook(obj: Any) -> Any:
    return to_plain(obj, "summary")


def clean(
    data: dict[str, Any],
    encode: Callable[[Any], bytes],
    warn: Callable[[str, str], None],
    prefix: str = "",
    depth: int = 0,
) -> dict[str, Any]:
    """Keep every value of ``data`` that encodes; drop the others with a warning naming each."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        try:
            encode(value)
            out[key] = value
            continue
        except (msgspec.EncodeError, TypeError, ValueError, OverflowError, RecursionError) as exc:
            error: BaseException = exc
        if isinstance(value, dict) and depth < 32:
            out[key] = clean(value, encode, warn, name + ".", depth + 1)
            continue
        reason = str(error) if isinstance(error, Unloggable) else f"{type(error).__name__}: {error}"
        if isinstance(error, RecursionError):
            reason = "it is nested too deeply; flatten it or log it as a string"
        warn(name, f"Dropped the value of key {name!r} ({type(value).__name__}): {reason}")
    return out


def json_friendly(value: Any, depth: int = 0) -> Any:
    """W&B's config value rules: dicts recursively, numpy -> Python, unknown objects -> str."""
    t = type(value)
    if t in (int, float, str, bool) or value is None:
        return value
    if depth > 64:
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_friendly(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_friendly(v, depth + 1) for v in value]
    if isinstance(value, slice):
        return {"slice_start": value.start, "slice_step": value.step, "slice_stop": value.stop}
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_friendly(dataclasses.asdict(value), depth + 1)
    if isinstance(value, float) and not math.isfinite(value):
        return value
    try:
        return json_friendly(to_plain(value, "config"), depth + 1)
    except Unloggable:
        return str(value)
