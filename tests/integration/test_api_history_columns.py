"""The query API's history reader (``storage/sql/history_columns.py``) returns what the store's
``numeric_history`` and ``value_history`` return, for one run or many in one query: several
record streams, a rewind that hides steps, late writes, gaps, mixed dtypes, text values,
step ranges and the system stream. On SQLite, and on PostgreSQL when it is available."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from trackline.runstate.changes import Changes
from trackline.storage import open_store
from trackline.storage.base import RunKey
from trackline.storage.sql import history_columns


def _apply(store: Any, run_id: str, stream: int, *, points: dict[str, Any] | None = None,
           values: dict[str, Any] | None = None, system: dict[str, Any] | None = None,
           run: dict[str, Any] | None = None) -> None:
    ch = Changes(stream_id=stream.to_bytes(16, "big"), first_seq=1, last_seq=1)
    ch.run = {"name": run_id, "start_time": 1.0, "metadata": {"host": "test"}, **(run or {})}
    ch.points = {k: (np.asarray(s, dtype=np.int64), np.asarray(v)) for k, (s, v) in (points or {}).items()}
    ch.values = values or {}
    ch.system_points = {k: (np.asarray(s, dtype=np.int64), np.asarray(v)) for k, (s, v) in (system or {}).items()}
    ch.rows = 1
    store.stream_writer(RunKey("e", "p", run_id), ch.stream_id).apply(ch)


def seed(store: Any) -> dict[str, dict[str, Any]]:
    n = 5000  # three chunks of loss
    s = np.arange(n)
    _apply(store, "a", 1, points={
        "loss": (s, (np.sin(s / 30.0) * 3).astype(np.float32).astype(np.float64)),
        "acc": (s[::3], s[::3] * 7),  # integers, every 3rd step
        "mixed": (s[:100], s[:100].astype(np.float64) / 3.0),  # float64 values
    }, values={"note": [(10, "ten"), (20, {"x": 1})]}, system={"system.cpu": (s[:50], s[:50] * 0.5)})
    # A resumed writer rewinds to step 3000: what stream 1 logged after it is hidden.
    _apply(store, "a", 2, run={"resumed": True, "rewind_step": 3000}, points={
        "loss": (np.r_[np.arange(3001, 3501), 7], np.r_[np.full(500, 100.0), -5.0]),  # step 7 written again
        "mixed": ([50, 200], [1e300, 2.0]),
    }, values={"note": [(3100, "after"), (20, "twenty")]})
    _apply(store, "b", 3, points={"loss": (s, s * 0.25)})
    _apply(store, "c", 4, run={})  # no history
    # Out of order, with a text value at a numeric key's step.
    _apply(store, "d", 5, points={"loss": ([0, 1, 6, 5], [1, 2, 3, 4])}, values={"loss": [(1, "text")]})
    return {r: store.get_run(RunKey("e", "p", r)) for r in "abcd"}


def expected(store: Any, run: dict[str, Any], keys: list[str], lo: int | None, hi: int | None,
             system: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    num = store.numeric_history(run["pk"], keys, lo, hi, system=system)
    other = {} if system else store.value_history(run["pk"], keys, lo, hi)
    return num, other


@pytest.mark.parametrize("native", [False, True])
def test_one_and_many_runs_read_what_the_store_reads(store_url: str, native: bool) -> None:
    store = open_store(store_url)
    try:
        runs = seed(store)
        assert runs["a"]["history_cutoffs"], "the rewind was recorded"
        keys = ["loss", "acc", "mixed", "note", "never-logged"]
        refs = [(r["pk"], r["history_cutoffs"]) for r in runs.values()]
        for lo, hi in [(None, None), (5, 3200), (3001, None), (None, 0), (4000, 3000)]:
            many = history_columns.read(store, refs, keys, lo, hi, native=native)
            assert set(many) == {r["pk"] for r in runs.values()}
            for run in runs.values():
                one = history_columns.read(store, [(run["pk"], run["history_cutoffs"])], keys, lo, hi,
                                           native=native)[run["pk"]]
                num, other = expected(store, run, keys, lo, hi)
                for got in (one, many[run["pk"]]):
                    assert set(got.numeric) == set(num) and got.other == other
                    for k, (steps, vals) in num.items():
                        gs, gv = got.numeric[k]
                        assert gs.dtype == np.int64 and gs.tolist() == steps.tolist()
                        assert gv.tolist() == vals.tolist()
                        if native:
                            assert gv.dtype.kind == vals.dtype.kind
                        else:
                            assert gv.dtype == vals.dtype  # int64 or float64
        a = history_columns.read(store, refs, ["loss"], native=True)[runs["a"]["pk"]].numeric["loss"]
        assert a[0][-1] == 3500 and a[1][7] == -5.0 and a[1].dtype == np.float64  # merged: widened
        # Contiguous float32 chunks stay float32 and share their step array.
        ranges = history_columns.Ranges()
        b1 = history_columns.read(store, [(runs["b"]["pk"], None)], ["loss"], native=True, ranges=ranges)
        b2 = history_columns.read(store, [(runs["b"]["pk"], None)], ["loss"], native=True, ranges=ranges)
        s1, v1 = b1[runs["b"]["pk"]].numeric["loss"]
        s2, _ = b2[runs["b"]["pk"]].numeric["loss"]
        assert v1.dtype == np.float32 and np.shares_memory(s1, s2) and not s1.flags.writeable
        # The system stream.
        sys_got = history_columns.read(store, refs, ["system.cpu"], system=True)
        num, _ = expected(store, runs["a"], ["system.cpu"], None, None, system=True)
        assert sys_got[runs["a"]["pk"]].numeric["system.cpu"][1].tolist() == num["system.cpu"][1].tolist()
        assert sys_got[runs["b"]["pk"]].numeric == {}
    finally:
        store.close()


@pytest.mark.filterwarnings("ignore:run e/p/c has no history")
def test_histories_read_many_runs_in_one_query(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import trackline

    store = open_store(store_url)
    try:
        seed(store)
    finally:
        store.close()
    api = trackline.Api(overrides={"store": store_url})
    runs = api.runs("e/p", order="+created_at")
    per_run = {r.id: r.history(samples=40, keys=["loss"], pandas=False) for r in runs}
    calls: list[int] = []
    real = history_columns.read

    def counting(store: Any, refs: Any, *a: Any, **kw: Any) -> Any:
        calls.append(len(refs))
        return real(store, refs, *a, **kw)

    monkeypatch.setattr(history_columns, "read", counting)
    together = api.runs("e/p", order="+created_at").histories(samples=40, keys=["loss"])
    assert calls == [4]  # the four runs in one read
    for rid, rows in per_run.items():
        assert [{k: v for k, v in row.items() if k != "run_id"} for row in together if row["run_id"] == rid] == rows
    full = api.runs("e/p", order="+created_at").histories(samples=None, keys=["loss"], format="pandas")
    assert len(full) == sum(len(api.run(f"e/p/{r}").history_frame(["loss"])) for r in "abd")
