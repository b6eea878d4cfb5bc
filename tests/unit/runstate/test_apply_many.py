"""``RunHandler.apply_many`` (the sender's batch path) gives exactly what ``apply`` gives."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trackline.records import kinds
from trackline.runstate.changes import Changes
from trackline.runstate.handler import RunHandler

_RUN = [kinds.RUN, {"run_id": "r", "entity": "e", "project": "p", "start_time": 10.0, "runtime_offset": 2.5}]

_values = st.one_of(
    st.floats(allow_nan=False, width=64),
    st.integers(-(2**40), 2**40),
    st.text(max_size=3),
    st.booleans(),
    st.fixed_dictionaries({"x": st.floats(allow_nan=False)}),
)
_keys = st.sampled_from(["loss", "acc", "a.b", "lr", "nest", "_timestamp", "_step"])
_history = st.tuples(
    st.dictionaries(_keys, _values, max_size=4),
    st.one_of(st.none(), st.integers(0, 30)),
    st.sampled_from([None, None, None, True, False]),
)
_other = st.one_of(
    st.builds(lambda v: [kinds.CONFIG, {"lr": v}, []], st.floats(allow_nan=False)),
    st.builds(lambda v: [kinds.SUMMARY, [[["acc"], v]], []], st.floats(allow_nan=False)),
    st.just([kinds.METRIC, {"name": "loss", "summary": ["min", "last"]}]),
    st.just([kinds.METRIC, {"name": "acc", "step_metric": "lr", "step_sync": True}]),
)
# Mostly the training loop's shape (same keys, no step), with everything else mixed in.
_loop_row = st.builds(lambda v: ({"loss": v, "acc": 1.0}, None, None), st.floats(allow_nan=False))
_event = st.one_of(_loop_row, _loop_row, _history, _other)


def _records(events: list[Any]) -> list[list[Any]]:
    out: list[list[Any]] = [copy.deepcopy(_RUN)]
    ts = 10.0
    for ev in events:
        ts += 0.5
        if isinstance(ev, tuple):
            data, step, commit = ev
            out.append([kinds.HISTORY, dict(data), step, commit, ts])
        else:
            out.append(copy.deepcopy(ev))
    out.append([kinds.EXIT, {"exit_code": 0, "ts": ts + 1}])
    return out


def _plain(ch: Changes) -> dict[str, Any]:
    d = dict(vars(ch))
    d["points"] = {k: (s.tolist(), v.dtype.str, v.tolist()) for k, (s, v) in ch.points.items()}
    d["system_points"] = {k: (s.tolist(), v.tolist()) for k, (s, v) in ch.system_points.items()}
    return d


def _state(h: RunHandler) -> dict[str, Any]:
    return {
        "summary": h.summary, "config": h.config, "cur": h.cur, "rows": h.rows, "late": h.late_rows,
        "last_step": h.last_step, "last_ts": h.last_ts, "seq": h.seq, "state": h.state,
    }


@settings(max_examples=300, deadline=None)
@given(events=st.lists(_event, max_size=40), cuts=st.lists(st.integers(1, 8), min_size=1, max_size=10))
def test_apply_many_matches_apply_record_by_record(events: list[Any], cuts: list[int]) -> None:
    records = _records(events)
    one = RunHandler(b"s")
    for seq, rec in enumerate(copy.deepcopy(records), start=1):
        one.apply(seq, rec)
    many = RunHandler(b"s")
    batch = copy.deepcopy(records)
    i, c = 0, 0
    while i < len(batch):
        n = cuts[c % len(cuts)]
        many.apply_many(i + 1, batch[i : i + n])
        i, c = i + n, c + 1
    assert _state(many) == _state(one)
    assert _plain(many.take()) == _plain(one.take())


def test_the_inlined_rows_carry_timestamp_and_runtime() -> None:
    h = RunHandler(b"s")
    h.apply_many(1, [copy.deepcopy(_RUN)] + [[kinds.HISTORY, {"loss": float(i)}, None, None, 20.0 + i] for i in range(3)])
    ch = h.take()
    assert ch.points["_timestamp"][1].tolist() == [20.0, 21.0, 22.0]
    assert ch.points["_runtime"][1].tolist() == [12.5, 13.5, 14.5]  # ts - start_time + runtime_offset
    assert np.array_equal(ch.points["loss"][0], [0, 1, 2])
    assert (ch.first_seq, ch.last_seq, ch.rows) == (1, 4, 3)
