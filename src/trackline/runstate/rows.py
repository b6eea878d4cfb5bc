"""Flushed history rows, grouped and turned into columns in bulk.

Training loops log the same keys step after step, so consecutive rows with the same
key set form a group; a group is stored as one tuple of values per row and turned
into one numpy column per key when the batch ends. That keeps per-point work in C
(``tuple(row.values())``, ``zip(*rows)``, ``numpy.asarray``) instead of a Python loop
per value, which is what lets ingest run at millions of points per second.
Groups stay in arrival order, so "the last write per key and step wins" still holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np

from trackline.runstate.flatten import escape, iter_leaves


@dataclass
class Group:
    """Consecutive rows with the same key set (the rows are kept as dicts until columnised)."""

    keys: tuple[str, ...]
    steps: list[int] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    keyset: frozenset[str] = frozenset()
    arrays: list[np.ndarray] | None = None  # a decoded block: its columns, already numpy (no rows)

    def columns(self) -> list[tuple[Any, ...]]:
        if len(self.keys) == 1:
            key = self.keys[0]
            return [tuple(row[key] for row in self.rows)]
        getter = itemgetter(*self.keys)
        return list(zip(*map(getter, self.rows), strict=True))


class RowBuffer:
    def __init__(self) -> None:
        self.groups: list[Group] = []
        self._cur: Group | None = None
        self._plain_keys: set[tuple[str, ...]] = set()
        self._flatten_keys: set[tuple[Any, ...]] = set()

    def add(self, step: int, row: dict[str, Any], flat: bool = False) -> None:
        """Buffer a row; ``flat=True`` when its keys are already escaped dotted names."""
        g = self._cur
        if g is None or row.keys() != g.keyset:
            keys = tuple(row)
            if not flat and keys not in self._plain_keys:
                if keys in self._flatten_keys or _bad_keys(keys):
                    self._flatten_keys.add(keys)
                    row = dict(iter_leaves(row))
                    keys = tuple(row)
                else:
                    self._plain_keys.add(keys)
            if g is None or row.keys() != g.keyset:
                g = self._cur = Group(keys, keyset=frozenset(keys))
                self.groups.append(g)
        g.steps.append(step)
        g.rows.append(row)

    def add_block(self, keys: tuple[str, ...], steps: np.ndarray, arrays: list[np.ndarray]) -> None:
        """Buffer a block's columns as a group of its own (rows added later start a new group)."""
        self.groups.append(Group(keys, list(steps.tolist()), keyset=frozenset(keys), arrays=arrays))
        self._cur = None

    def current(self) -> Group | None:
        """The group the next row with the same keys would join."""
        return self._cur

    def drain(self) -> list[Group]:
        groups = self.groups
        self.groups = []
        self._cur = None
        return groups

    def __bool__(self) -> bool:
        return bool(self.groups)


def _bad_keys(keys: tuple[Any, ...]) -> bool:
    """Keys that are not plain strings (numbers, dots, backslashes) need flattening."""
    return any(type(k) is not str or "." in k or "\\" in k for k in keys)


def nested_rows(values: tuple[Any, ...]) -> bool:
    """True when some value of a column is a nesting level (a dict without ``_type``)."""
    return dict in map(type, values) and any(
        type(v) is dict and v and "_type" not in v for v in values
    )


def plain_name(name: str) -> bool:
    """A top-level name (not nested, no escaped dot)."""
    return "." not in name and "\\" not in name


def column(values: tuple[Any, ...]) -> np.ndarray | None:
    """The values as an int64 or float64 array, or None if any value is not a number."""
    first = type(values[0])
    if first is not float and first is not int:
        return None
    types = set(map(type, values))
    if types == {float}:  # the common case: one C loop, no type inference
        return np.fromiter(values, np.float64, len(values))
    if not types <= {float, int}:  # bools, strings, None, dicts...
        return None
    if types == {int}:
        try:
            return np.fromiter(values, np.int64, len(values))
        except OverflowError:  # beyond int64: the value table keeps such ints exactly
            return None
    try:
        arr = np.asarray(values)
    except (ValueError, OverflowError):
        return None
    if (
        arr.dtype.kind == "f"
        and bool((np.abs(arr) >= 2.0**63).any())  # one vectorised look before a Python pass
        and any(type(v) is int and not -(1 << 63) <= v < (1 << 63) for v in values)
    ):
        return None  # numpy made the column float64 and rounded such an int: the value table keeps it
    if arr.ndim != 1 or arr.dtype.kind not in "if":
        return None
    return arr


def split_mixed(steps: np.ndarray, values: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray, list[tuple[int, Any]]]:
    """Numbers (to chunks) and everything else (to the value table) of one mixed column."""
    num_steps: list[int] = []
    num_vals: list[Any] = []
    others: list[tuple[int, Any]] = []
    for s, v in zip(steps.tolist(), values, strict=True):
        t = type(v)
        if t is float or (t is int and -(1 << 63) <= v < (1 << 63)):
            num_steps.append(s)
            num_vals.append(v)
        else:
            others.append((s, v))
    vals = np.asarray(num_vals) if num_vals else np.empty(0, np.float64)
    return np.asarray(num_steps, dtype=np.int64), vals, others


__all__ = ["Group", "RowBuffer", "column", "escape", "plain_name", "split_mixed"]
