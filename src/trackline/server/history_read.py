"""Numeric history of many runs at once, for charts: one query, values kept in their stored dtype.

A thin layer over the query API's reader (``storage/sql/history_columns.py``, the same rules
as ``SQLStore.numeric_history``: chunks merged in write order, the last write per step kept,
steps hidden by a rewind left out), asked for numbers only and values in their stored dtype,
with the runs' rewind cutoffs looked up here. A test checks it against ``numeric_history``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, select

from trackline.storage.sql import history_columns
from trackline.storage.sql import schema as t
from trackline.storage.sql.history_columns import Series
from trackline.storage.sql.store import SQLStore

_CUTOFF_BATCH = 500  # runs per cutoffs query


def read_many(
    store: SQLStore,
    run_pks: Iterable[int],
    keys: list[str],
    min_step: int | None = None,
    max_step: int | None = None,
    system: bool = False,
) -> dict[tuple[int, str], Series]:
    """``(run_pk, key) -> (steps, values)`` for every run and key that has numeric history."""
    pks = list(dict.fromkeys(int(pk) for pk in run_pks))
    if not pks or not keys:
        return {}
    cutoffs = {} if system else _cutoffs(store, pks)
    found = history_columns.read(
        store,
        [(pk, cutoffs.get(pk)) for pk in pks],
        keys,
        min_step,
        max_step,
        system=system,
        native=True,
        numeric_only=True,
    )
    return {(pk, key): series for pk, history in found.items() for key, series in history.numeric.items()}


def _cutoffs(store: SQLStore, pks: list[int]) -> dict[int, Any]:
    """``history_cutoffs`` of the runs that have them (set by a rewind)."""
    out: dict[int, Any] = {}
    runs = t.runs.c
    with store.engine.connect() as conn:
        for i in range(0, len(pks), _CUTOFF_BATCH):
            q = select(runs.pk, runs.history_cutoffs).where(
                and_(runs.pk.in_(pks[i : i + _CUTOFF_BATCH]), runs.history_cutoffs.is_not(None))
            )
            for pk, raw in conn.execute(q):
                if raw:
                    out[int(pk)] = raw
    return out
