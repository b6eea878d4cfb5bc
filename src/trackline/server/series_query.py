"""The series endpoint's work: many runs x keys, on one x-axis, reduced to ~N buckets each.

Reads go through the Store contract (``numeric_history``), one run at a time; the
reduction is the pure code in ``trackline.storage.series``. Per key, every run shares one
bucket width (computed from the x-range of the request or of all runs' data), so the UI
can lay the runs of one chart on a common grid. ``since`` cursors (per run, the last step
the client has) make live polls return only the buckets that changed: those from the
bucket holding the first new point on, which the client swaps in for its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trackline.server import queries
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
    if len(req.runs) * len(req.keys) > MAX_SERIES:
        raise ApiError(400, f"{len(req.runs)} runs x {len(req.keys)} keys is more than {MAX_SERIES} series; ask in parts")
    return req


@dataclass
class _Points:
    x: np.ndarray
    y: np.ndarray
    steps: np.ndarray
    smooth: np.ndarray | None


def _read_run(store: SQLStore, pk: int, req: SeriesRequest) -> dict[str, _Points]:
    keys = list(req.keys)
    if req.x != STEP and req.x not in keys:
        keys.append(req.x)
    lo = hi = None
    if req.x == STEP and req.smoothing == 0:
        # On the step axis a window needs only its steps (plus a neighbour each side,
        # found below from the data read): read whole chunks around it.
        if req.x_min is not None:
            lo = math.floor(req.x_min)
        if req.x_max is not None:
            hi = math.ceil(req.x_max)
    cols = store.numeric_history(pk, keys, None, None, system=req.system) if lo is None and hi is None \
        else _read_window(store, pk, keys, lo, hi, req.system)
    out: dict[str, _Points] = {}
    xcol = cols.get(req.x) if req.x != STEP else None
    for key in req.keys:
        if key not in cols:
            continue
        steps, vals = cols[key]
        smooth = ds.ema(steps, vals, req.smoothing) if req.smoothing > 0 else None
        if req.x == STEP:
            x, y, s = steps.astype(np.float64), vals.astype(np.float64), steps
            sm = smooth
        else:
            if xcol is None:
                continue
            x, y, s = ds.asof_join(steps, vals, xcol[0], xcol[1])
            sm = None
            if smooth is not None:
                _, sm, _ = ds.asof_join(steps, smooth, xcol[0], xcol[1])
        out[key] = _Points(x, y, s, sm)
    return out


def _read_window(
    store: SQLStore, pk: int, keys: list[str], lo: int | None, hi: int | None, system: bool
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The window's steps plus the nearest point outside each edge (so lines reach the edges)."""
    inner = store.numeric_history(pk, keys, lo, hi, system=system)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for key, (s, v) in inner.items():
        parts_s, parts_v = [s], [v]
        if lo is not None and lo > 0:
            before = store.numeric_history(pk, [key], max(0, lo - 4096), lo - 1, system=system).get(key)
            if before is not None and len(before[0]):
                parts_s.insert(0, before[0][-1:])
                parts_v.insert(0, before[1][-1:])
        if hi is not None:
            after = store.numeric_history(pk, [key], hi + 1, hi + 4096, system=system).get(key)
            if after is not None and len(after[0]):
                parts_s.append(after[0][:1])
                parts_v.append(after[1][:1])
        out[key] = (np.concatenate(parts_s), np.concatenate(parts_v))
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


def _column(x: np.ndarray, integer: bool) -> Any:
    if integer:
        return x.astype(np.int64).tolist()
    return x.tolist()


def compute(store: SQLStore, entity: str, project: str, req: SeriesRequest) -> dict[str, Any]:
    pks = queries.run_pks(store, entity, project, req.runs)
    data: dict[str, dict[str, _Points]] = {}
    for run_id in req.runs:
        pk = pks.get(run_id)
        if pk is not None:
            data[run_id] = {k: _window(p, req.x_min, req.x_max) for k, p in _read_run(store, pk, req).items()}
    integer = req.x in INTEGER_AXES
    widths: dict[str, float] = {}
    for key in req.keys:
        if key in req.width:
            widths[key] = req.width[key]
            continue
        firsts = [p.x[0] for d in data.values() if (p := d.get(key)) is not None and len(p.x)]
        lasts = [p.x[-1] for d in data.values() if (p := d.get(key)) is not None and len(p.x)]
        lo = req.x_min if req.x_min is not None else (min(firsts) if firsts else 0.0)
        hi = req.x_max if req.x_max is not None else (max(lasts) if lasts else 0.0)
        widths[key] = ds.bucket_width(lo, hi, req.buckets, integer)
    out: list[dict[str, Any]] = []
    for run_id in req.runs:
        for key in req.keys:
            p = data.get(run_id, {}).get(key)
            out.append(_entry(run_id, key, p, widths[key], req, integer))
    return {
        "x": req.x,
        "buckets": req.buckets,
        "widths": widths,
        "missing_runs": [r for r in req.runs if r not in pks],
        "series": out,
    }


def _entry(
    run_id: str, key: str, p: _Points | None, width: float, req: SeriesRequest, integer: bool
) -> dict[str, Any]:
    since = req.since.get(run_id)
    entry: dict[str, Any] = {"run": run_id, "key": key, "width": width}
    if p is None or len(p.x) == 0:
        entry.update(x=[], last=[], min=[], max=[], points=0, cursor=since, exact=True)
        if since is not None:
            entry["from"] = None
        return entry
    cursor = int(p.steps.max())
    x, y, sm = p.x, p.y, p.smooth
    keep_first = True
    if since is not None:
        new = p.steps > since
        if not new.any():
            entry.update(x=[], last=[], min=[], max=[], points=0, cursor=max(cursor, since), exact=True)
            entry["from"] = None
            return entry
        start_bucket = int(ds.bucket_ids(x[new], width).min())
        from_x = start_bucket * width
        keep_first = start_bucket == int(ds.bucket_ids(x[:1], width)[0])
        cut = int(np.searchsorted(x, from_x, "left"))
        x, y = x[cut:], y[cut:]
        sm = None if sm is None else sm[cut:]
        entry["from"] = int(from_x) if integer else from_x
    b = ds.downsample(x, y, width, keep_first=keep_first)
    exact = b.points == len(b)
    entry.update(
        x=_column(b.x, integer),
        last=b.last.tolist(),
        points=b.points,
        cursor=cursor,
        exact=exact,
    )
    if exact:
        entry.update(min=[], max=[])
    else:
        entry.update(min=b.min.tolist(), max=b.max.tolist())
    if sm is not None:
        entry["smooth"] = ds.downsample(x, sm, width, keep_first=keep_first).last.tolist()
    return entry
