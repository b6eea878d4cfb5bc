"""Blocks (``runstate.blocks``): runs of plain ``log(d)`` records decoded as columns give exactly
what replaying the records one by one gives."""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trackline.records import codec, kinds
from trackline.runstate import blocks
from trackline.runstate.handler import RunHandler

from .test_apply_many import _plain, _records, _state

_loop_keys = st.sampled_from([("loss",), ("loss", "acc"), ("acc", "loss"), ("loss", "acc", "epoch"), ("train/l0", "b")])
_ints = st.sampled_from([0, 1, 127, -1, -32, -33, 200, -200, 70000, -70000, 2**40, 2**63 - 1, 2**63, -(2**63)])


def _loop_rows(keys: tuple[str, ...], n: int, seed: int, epoch: int) -> list[tuple[Any, ...]]:
    rng = np.random.default_rng(seed)
    return [({k: (epoch if k == "epoch" else float(rng.normal())) for k in keys}, None, None) for _ in range(n)]


_run = st.builds(_loop_rows, _loop_keys, st.integers(1, 12), st.integers(0, 99), _ints)
_odd = st.one_of(
    st.tuples(st.fixed_dictionaries({"loss": st.floats(allow_nan=False)}), st.integers(0, 40), st.none()),
    st.tuples(st.fixed_dictionaries({"loss": st.floats(allow_nan=False)}), st.none(), st.just(False)),
    st.tuples(st.fixed_dictionaries({"loss": st.text(max_size=2)}), st.none(), st.none()),
    st.tuples(st.fixed_dictionaries({"a.b": st.floats(allow_nan=False)}), st.none(), st.none()),
    st.tuples(st.fixed_dictionaries({"loss": st.booleans()}), st.none(), st.none()),
    st.tuples(st.fixed_dictionaries({"_step": st.integers(0, 9), "loss": st.floats(allow_nan=False)}),
              st.none(), st.none()),
    st.just([kinds.METRIC, {"name": "loss", "summary": ["min", "mean", "last"]}]),
    st.just([kinds.METRIC, {"name": "acc", "step_metric": "epoch", "step_sync": True}]),
    st.builds(lambda v: [kinds.SUMMARY, [[["loss"], v]], []], st.floats(allow_nan=False)),
)


def _payloads(parts: list[Any]) -> list[bytes]:
    """The encoded records of ``parts``: runs of loop rows (lists) and single events."""
    events = [ev for part in parts for ev in (part if isinstance(part, list) and part and isinstance(part[0], tuple) else [part])]
    return [codec.encode(r) for r in _records(events)]


def _means_apart(state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, float]]:
    """The state without the summary's ``mean`` values, and those values: a mean sums group by
    group (numpy's pairwise sum), so where a block splits a group its last bit can differ,
    as it does between sender batches. They are compared to 1e-12 relative."""
    summary, means = {}, {}
    for k, v in (state["summary"] or {}).items():
        if type(v) is dict and "mean" in v:
            means[k] = v["mean"]
            v = {**v, "mean": None}
        summary[k] = v
    return {**state, "summary": summary if state["summary"] is not None else None}, means


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    rest_a, means_a = _means_apart(a)
    rest_b, means_b = _means_apart(b)
    assert rest_a == rest_b
    assert means_a == pytest.approx(means_b, rel=1e-12, nan_ok=True)


def _one_by_one(payloads: list[bytes]) -> RunHandler:
    h = RunHandler(b"s", sample_sparklines=True)
    for seq, p in enumerate(payloads, start=1):
        h.apply(seq, codec.decode(p))
    return h


def _planned(payloads: list[bytes], cuts: list[int]) -> tuple[RunHandler, int]:
    """Replay as the sender does: batches cut at ``cuts``, each planned into blocks and records."""
    h = RunHandler(b"s", sample_sparklines=True)
    taken = 0
    i = c = 0
    while i < len(payloads):
        batch = payloads[i : i + cuts[c % len(cuts)]]
        for offset, part in blocks.plan(_as_reader_gives(batch)):
            if isinstance(part, blocks.Block) and not h.pending:
                h.apply_block(i + 1 + offset, part)
                taken += part.rows
            else:
                plain = part.payloads() if isinstance(part, blocks.Block) else part
                h.apply_many(i + 1 + offset, [codec.decode(p) for p in plain])
        i, c = i + len(batch), c + 1
    return h, taken


def _as_reader_gives(payloads: list[bytes]) -> list[Any]:
    """The payloads as ``RecordReader.poll_rows`` gives them: runs of one size as arrays."""
    out: list[Any] = []
    i = 0
    while i < len(payloads):
        j = i
        while j < len(payloads) and len(payloads[j]) == len(payloads[i]):
            j += 1
        if j - i >= 3 and j - i != 4:  # (a run of 4 stays separate payloads: both forms are planned)
            out.append(np.frombuffer(b"".join(payloads[i:j]), np.uint8).reshape(j - i, -1))
        else:
            out.extend(payloads[i:j])
        i = j
    return out


def _spans(items: list[Any]) -> list[tuple[int, int, bool]]:
    return [(offset, part.rows if isinstance(part, blocks.Block) else len(part), isinstance(part, blocks.Block))
            for offset, part in blocks.plan(items)]


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Blocks from 2 rows on, so that small examples exercise them.
    monkeypatch.setattr(blocks, "MIN_ROWS", 2)
    monkeypatch.setattr(blocks, "_SKIP_ROWS", 3)


# The fixture only sets two constants: nothing to reset between examples.
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.one_of(_run, _run, _odd), max_size=12),
       cuts=st.lists(st.integers(1, 40), min_size=1, max_size=6))
def test_blocks_give_what_records_give(small_blocks: None, parts: list[Any], cuts: list[int]) -> None:
    payloads = _payloads(parts)
    one = _one_by_one(payloads)
    planned, _ = _planned(payloads, cuts)
    _same(_state(planned), _state(one))
    # (Sparklines are not compared here: they skip a group that mixes numbers with other
    # values, and a block splits such a group. test_a_training_loop... compares them.)
    _same(_plain(planned.take()), _plain(one.take()))


def test_a_training_loop_is_replayed_as_blocks() -> None:
    rows = _loop_rows(("loss", "acc", "lr"), 1000, 1, 0)
    payloads = _payloads([rows])
    planned, taken = _planned(payloads, [4096])
    assert taken == 1000  # every history record went through a block
    one = _one_by_one(payloads)
    assert _plain(planned.take()) == _plain(one.take())
    assert _state(planned) == _state(one)
    assert planned.sparkline_series() == one.sparkline_series() != {}


def test_float_bits_survive_a_block() -> None:
    specials = [math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308]
    rows = [({"x": specials[i % len(specials)], "y": float(i)}, None, None) for i in range(200)]
    planned, taken = _planned(_payloads([rows]), [4096])
    assert taken == 200
    x = planned.take().points["x"][1]
    want = [specials[i % len(specials)] for i in range(200)]
    assert [struct.pack("<d", v) for v in x.tolist()] == [struct.pack("<d", v) for v in want]


def test_an_integer_that_changes_ends_the_block() -> None:
    rows = [({"loss": float(i), "epoch": i // 100}, None, None) for i in range(300)]
    assert _spans(_payloads([rows])[1:-1]) == [(0, 100, True), (100, 100, True), (200, 100, True)]
    ch = _planned(_payloads([rows]), [4096])[0].take()
    assert ch.points["epoch"][1].dtype == np.int64
    assert ch.points["epoch"][1].tolist() == [i // 100 for i in range(300)]


@pytest.mark.parametrize(
    "row",
    [
        {"loss": 1.5, "name": "x"},  # a string value
        {"loss": 1.5, "ok": True},  # a bool
        {"loss": 1.5, "nest": {"a": 1.0}},  # a nested dict
        {"a.b": 1.5},  # a dotted key (flattened on the record path)
        {"_x": 1.5},  # an underscore key
        {"big": 2**64 - 1},  # beyond int64
        {},
    ],
)
def test_shapes_outside_a_block_take_the_record_path(row: dict[str, Any]) -> None:
    payloads = [codec.encode([kinds.HISTORY, row, None, None, 1.0 + i]) for i in range(100)]
    assert _spans(payloads) == [(0, 100, False)]


def test_explicit_step_or_commit_is_not_a_block() -> None:
    for step, commit in ((5, None), (None, False), (None, True)):
        payloads = [codec.encode([kinds.HISTORY, {"loss": 1.0}, step, commit, 1.0 + i]) for i in range(100)]
        assert _spans(payloads) == [(0, 100, False)]


def test_a_run_broken_early_costs_little_and_later_blocks_are_found() -> None:
    # Strings first (not a block), then floats: the plain path takes the strings, blocks the rest.
    strings = [codec.encode([kinds.HISTORY, {"k": f"{i:03d}"}, None, None, 1.0]) for i in range(300)]
    floats = [codec.encode([kinds.HISTORY, {"k": float(i)}, None, None, 1.0]) for i in range(300)]
    spans = _spans(strings + floats)
    assert spans[-1] == (300, 300, True)
    assert all(not is_block for _, _, is_block in spans[:-1])
    # The same records as the reader gives them (each size run one array): the same plan.
    as_arrays = [np.frombuffer(b"".join(part), np.uint8).reshape(300, -1) for part in (strings, floats)]
    assert _spans(as_arrays)[-1] == (300, 300, True)
    assert blocks.count(as_arrays) == 600 and blocks.expand(as_arrays) == strings + floats


def test_an_int_beyond_int64_is_kept_exactly_by_both_paths(small_blocks: None) -> None:
    """Found by the property test: numpy made such a column float64 on the record path."""
    parts = [({"loss": 0.0}, None, False), _loop_rows(("loss", "acc", "epoch"), 1, 0, 1 << 63),
             _loop_rows(("loss", "acc", "epoch"), 2, 0, 0)]
    payloads = _payloads(parts)
    one = _one_by_one(payloads)
    planned, _ = _planned(payloads, [3])
    _same(_plain(planned.take()), _plain(one.take()))
    assert _plain(_one_by_one(payloads).take())["values"]["epoch"] == [(0, 1 << 63)]
