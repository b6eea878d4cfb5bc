"""The series endpoint's work: many runs x keys, on one x-axis, reduced to ~N buckets each.

Reads go through the Store contract (``numeric_history``), one run at a time; the
reduction is the pure code in ``trackline.storage.series``. Per key, every run shares one
bucket width (computed from the x-range of the request or of all runs' data), so the UI
can lay the runs of one chart on a common grid. ``since`` cursors (per run, the last step
the client has) make live polls return only the buckets that changed: those from the
bucket holding the first new point on, which the client swaps in for its own.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trackline.server import history_read, queries
from trackline.server.errors import ApiError
from trackline.storage import series as ds
from trackline.storage.sql.store import SQLStore

MAX_BUCKETS = 100_000
MAX_SERIES = 20_000
STEP = "_step"
# Axes whose values are whole numbers: their buckets are never narrower than 1.
INTEGER_AXES = (STEP,)


@dataclass
class SeriesRequest:
    runs: list[str]
    keys: list[str]
    x: str = STEP
    x_min: float | None = None
    x_max: float | None = None
    buckets: int = 1000
    smoothing: float = 0.0
    system: bool = False
    since: dict[str, int] = field(default_factory=dict)
    width: dict[str, float] = field(default_factory=dict)
    encoding: str = "json"  # "json": number arrays; "b64": base64 of little-endian typed arrays


def _str_list(data: Mapping[str, Any], name: str) -> list[str]:
    value = data.get(name)
    if isinstance(value, str):
        value = [v for v in value.split(",") if v]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ApiError(400, f"'{name}' must be a non-empty list of strings, got {value!r}")
    return list(dict.fromkeys(value))


def _number(data: Mapping[str, Any], name: str) -> float | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"'{name}' must be a number, got {value!r}")
    if not math.isfinite(f):
        raise ApiError(400, f"'{name}' must be finite, got {value!r}")
    return f


def parse_request(data: Mapping[str, Any]) -> SeriesRequest:
    """Validate a request body (or query parameters); errors name the field and the fix."""
    req = SeriesRequest(runs=_str_list(data, "runs"), keys=_str_list(data, "keys"))
    x = data.get("x", STEP)
    if not isinstance(x, str) or not x:
        raise ApiError(400, f"'x' must be a key name such as '_step', '_runtime' or 'epoch', got {x!r}")
    req.x = x
    req.x_min, req.x_max = _number(data, "x_min"), _number(data, "x_max")
    if req.x_min is not None and req.x_max is not None and req.x_min > req.x_max:
        raise ApiError(400, f"'x_min' ({req.x_min}) is above 'x_max' ({req.x_max})")
    buckets = _number(data, "buckets")
    if buckets is not None:
        if buckets != int(buckets) or not 1 <= buckets <= MAX_BUCKETS:
            raise ApiError(400, f"'buckets' must be a whole number from 1 to {MAX_BUCKETS}, got {data.get('buckets')!r}")
        req.buckets = int(buckets)
    smoothing = _number(data, "smoothing")
    if smoothing is not None:
        if not 0 <= smoothing < 1:
            raise ApiError(400, f"'smoothing' must be in [0, 1) (0: none, 0.99: heavy), got {smoothing}")
        req.smoothing = smoothing
    system = data.get("system", False)
    if isinstance(system, str):
        system = system.lower() in ("1", "true", "yes")
    req.system = bool(system)
    since = data.get("since") or {}
    if not isinstance(since, dict) or not all(isinstance(v, int) and not isinstance(v, bool) for v in since.values()):
        raise ApiError(400, f"'since' must map run ids to the last step the client has, got {since!r}")
    req.since = {str(k): int(v) for k, v in since.items()}
    width = data.get("width") or {}
    if not isinstance(width, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in width.values()
    ):
        raise ApiError(400, f"'width' must map keys to the bucket width a previous answer gave, got {width!r}")
    req.width = {str(k): float(v) for k, v in width.items()}
    encoding = data.get("encoding") or "json"
    if encoding not in ("json", "b64"):
        raise ApiError(400, f"'encoding' must be 'json' (number arrays) or 'b64' (base64 typed arrays), got {encoding!r}")
    req.encoding = encoding
    if len(req.runs) * len(req.keys) > MAX_SERIES:
        raise ApiError(400, f"{len(req.runs)} runs x {len(req.keys)} keys is more than {MAX_SERIES} series; ask in parts")
    return req


@dataclass
class _Points:
    x: np.ndarray  # int64 steps on the step axis, else float64
    y: np.ndarray  # the stored dtype (float32 stays float32)
    steps: np.ndarray
    smooth: np.ndarray | None


def _read(store: SQLStore, pks: dict[str, int], req: SeriesRequest) -> dict[str, dict[str, _Points]]:
    keys = list(req.keys)
    if req.x != STEP and req.x not in keys:
        keys.append(req.x)
    lo = hi = None
    if req.x == STEP and req.smoothing == 0 and (req.x_min is not None or req.x_max is not None):
        # a window on the step axis needs only its steps, plus a margin for the neighbour
        # outside each edge that lets lines reach the edges
        a = -math.inf if req.x_min is None else req.x_min
        b = math.inf if req.x_max is None else req.x_max
        margin = max(1.0, (b - a) if math.isfinite(b - a) else 0.0)
        lo = None if req.x_min is None else math.floor(req.x_min - margin)
        hi = None if req.x_max is None else math.ceil(req.x_max + margin)
    cols = history_read.read_many(store, pks.values(), keys, lo, hi, system=req.system)
    out: dict[str, dict[str, _Points]] = {}
    for run_id, pk in pks.items():
        per: dict[str, _Points] = {}
        xcol = cols.get((pk, req.x)) if req.x != STEP else None
        for key in req.keys:
            col = cols.get((pk, key))
            if col is None:
                continue
            steps, vals = col
            smooth = ds.ema(steps, vals, req.smoothing) if req.smoothing > 0 else None
            if req.x == STEP:
                per[key] = _Points(steps, vals, steps, smooth)
                continue
            if xcol is None:
                continue
            x, y, s = ds.asof_join(steps, vals, xcol[0], xcol[1])
            sm = None
            if smooth is not None:
                _, sm, _ = ds.asof_join(steps, smooth, xcol[0], xcol[1])
            per[key] = _Points(x, y.astype(vals.dtype) if vals.dtype.kind == "f" else y, s, sm)
        out[run_id] = per
    return out


def _window(p: _Points, lo: float | None, hi: float | None) -> _Points:
    """Points inside [lo, hi] plus one neighbour outside each edge."""
    if lo is None and hi is None:
        return p
    n = len(p.x)
    a = 0 if lo is None else max(0, int(np.searchsorted(p.x, lo, "left")) - 1)
    b = n if hi is None else min(n, int(np.searchsorted(p.x, hi, "right")) + 1)
    sm = None if p.smooth is None else p.smooth[a:b]
    return _Points(p.x[a:b], p.y[a:b], p.steps[a:b], sm)


def _short_floats(v: np.ndarray) -> Any:
    """float32 values as the shortest decimals that round-trip them (7 significant digits),
    so JSON carries ``0.1``, not ``0.10000000149011612``."""
    f = v.astype(np.float64)
    finite = np.isfinite(f) & (f != 0)
    if finite.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            exp = 6 - np.floor(np.log10(np.abs(f[finite])))
            scale = np.power(10.0, exp)
            f[finite] = np.round(f[finite] * scale) / scale
    return f.tolist()


class _Encoder:
    """Columns as JSON number arrays, or as base64 of little-endian typed arrays."""

    def __init__(self, encoding: str) -> None:
        self.b64 = encoding == "b64"

    def x(self, x: np.ndarray) -> Any:
        if x.dtype.kind in "iu":
            if not self.b64:
                return x.tolist()
            if len(x) == 0 or (int(x.min()) >= -(2**31) and int(x.max()) < 2**31):
                return self._pack(x.astype("<i4"))
        return self._pack(x.astype("<f8")) if self.b64 else x.astype(np.float64).tolist()

    def values(self, v: np.ndarray) -> Any:
        if v.dtype == np.float32:
            return self._pack(v.astype("<f4")) if self.b64 else _short_floats(v)
        return self._pack(v.astype("<f8")) if self.b64 else v.astype(np.float64).tolist()

    @staticmethod
    def _pack(a: np.ndarray) -> dict[str, str]:
        return {"dtype": a.dtype.str[1:], "b64": base64.b64encode(a.tobytes()).decode("ascii")}


def compute(store: SQLStore, entity: str, project: str, req: SeriesRequest) -> dict[str, Any]:
    pks = queries.run_pks(store, entity, project, req.runs)
    read = _read(store, pks, req)
    data = {run_id: {k: _window(p, req.x_min, req.x_max) for k, p in per.items()} for run_id, per in read.items()}
    integer = req.x in INTEGER_AXES
    widths: dict[str, float] = {}
    for key in req.keys:
        if key in req.width:
            widths[key] = req.width[key]
            continue
        firsts = [p.x[0] for d in data.values() if (p := d.get(key)) is not None and len(p.x)]
        lasts = [p.x[-1] for d in data.values() if (p := d.get(key)) is not None and len(p.x)]
        lo = req.x_min if req.x_min is not None else (float(min(firsts)) if firsts else 0.0)
        hi = req.x_max if req.x_max is not None else (float(max(lasts)) if lasts else 0.0)
        widths[key] = ds.bucket_width(lo, hi, req.buckets, integer)
    enc = _Encoder(req.encoding)
    out: list[dict[str, Any]] = []
    for run_id in req.runs:
        for key in req.keys:
            p = data.get(run_id, {}).get(key)
            out.append(_entry(run_id, key, p, widths[key], req, integer, enc))
    return {
        "x": req.x,
        "buckets": req.buckets,
        "encoding": req.encoding,
        "widths": widths,
        "missing_runs": [r for r in req.runs if r not in pks],
        "series": out,
    }


def _entry(
    run_id: str, key: str, p: _Points | None, width: float, req: SeriesRequest, integer: bool, enc: _Encoder
) -> dict[str, Any]:
    since = req.since.get(run_id)
    entry: dict[str, Any] = {"run": run_id, "key": key, "width": width}
    empty = enc.x(np.empty(0, np.int64)) if enc.b64 else []
    if p is None or len(p.x) == 0:
        entry.update(x=empty, last=empty, min=empty, max=empty, points=0, cursor=since, exact=True)
        if since is not None:
            entry["from"] = None
        return entry
    cursor = int(p.steps.max())
    x, y, sm = p.x, p.y, p.smooth
    keep_first = True
    if since is not None:
        new = p.steps > since
        if not new.any():
            entry.update(x=empty, last=empty, min=empty, max=empty, points=0, cursor=max(cursor, since), exact=True)
            entry["from"] = None
            return entry
        start_bucket = int(ds.bucket_ids(x[new], width).min())
        from_x = start_bucket * width
        keep_first = start_bucket == int(ds.bucket_ids(x[:1], width)[0])
        cut = int(np.searchsorted(x, from_x, "left"))
        x, y = x[cut:], y[cut:]
        sm = None if sm is None else sm[cut:]
        entry["from"] = int(from_x) if integer else float(from_x)
    b = ds.downsample(x, y, width, keep_first=keep_first)
    exact = b.points == len(b)
    entry.update(x=enc.x(b.x), last=enc.values(b.last), points=b.points, cursor=cursor, exact=exact)
    if exact:
        entry.update(min=empty, max=empty)
    else:
        entry.update(min=enc.values(b.min), max=enc.values(b.max))
    if sm is not None:
        entry["smooth"] = enc.values(ds.downsample(x, sm, width, keep_first=keep_first).last)
    return entry
