"""Strict JSON for stored values, keeping NaN and infinities.

SQLite's and PostgreSQL's JSON functions reject the bare ``NaN``/``Infinity`` tokens
that Python emits, so a non-finite float is stored as ``{"_nf": "NaN"}`` (or
``"Infinity"``/``"-Infinity"``) and turned back into a float when read. SQL
comparisons simply don't match it, which is what NaN does anyway.
"""

from __future__ import annotations

import json
import math
from typing import Any

_NF = "_nf"
_NAMES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _protect(value: Any) -> Any:
    t = type(value)
    if t is float:
        if math.isfinite(value):
            return value
        if math.isnan(value):
            return {_NF: "NaN"}
        return {_NF: "Infinity" if value > 0 else "-Infinity"}
    if t is dict:
        return {str(k): _protect(v) for k, v in value.items()}
    if t is list or t is tuple:
        return [_protect(v) for v in value]
    if t is bytes:
        return value.decode("utf-8", "replace")
    return value


def _restore(value: Any) -> Any:
    t = type(value)
    if t is dict:
        if len(value) == 1 and _NF in value and value[_NF] in _NAMES:
            return _NAMES[value[_NF]]
        return {k: _restore(v) for k, v in value.items()}
    if t is list:
        return [_restore(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(_protect(value), allow_nan=False, ensure_ascii=False, default=str)


def loads(text: str | bytes | None) -> Any:
    if text is None:
        return None
    return _restore(json.loads(text))


def restore(value: Any) -> Any:
    """Undo :func:`dumps`'s protection on an already-parsed JSON value."""
    return _restore(value)
