"""history()'s sampling, row building and column merging: pure functions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trackline.api.history import (
    Column,
    build_rows,
    common_steps,
    extremes,
    merge_columns,
    restrict,
    sample_steps,
    union_steps,
)
from trackline.storage.series import bucket_ids, bucket_width


def col(steps: list[int], values: list[float]) -> Column:
    return Column(np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=np.float64))


def test_few_points_are_all_kept() -> None:
    c = col(list(range(10)), [float(i) for i in range(10)])
    assert sample_steps(c.steps, [c], 500).tolist() == list(range(10))


def test_a_single_spike_survives_a_1000x_reduction() -> None:
    n = 100_000
    values = np.zeros(n)
    values[31_337] = 1e6  # one spike
    values[77_777] = -5.0  # one dip
    c = Column(np.arange(n, dtype=np.int64), values)
    kept = sample_steps(c.steps, [c], 100)
    assert 31_337 in kept and 77_777 in kept
    assert kept[0] == 0 and kept[-1] == n - 1
    assert len(kept) <= 100


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(allow_nan=True, allow_infinity=False, width=32), min_size=1, max_size=400),
    gaps=st.lists(st.integers(1, 50), min_size=400, max_size=400),
    samples=st.integers(1, 64),
)
def test_global_min_max_first_last_always_kept(values: list[float], gaps: list[int], samples: int) -> None:
    steps = np.cumsum(np.asarray(gaps[: len(values)], dtype=np.int64))
    v = np.asarray(values, dtype=np.float64)
    c = Column(steps, v)
    kept = sample_steps(steps, [c], samples).tolist()
    assert kept == sorted(set(kept)) and set(kept) <= set(steps.tolist())
    assert kept[0] == steps[0] and kept[-1] == steps[-1]
    finite = ~np.isnan(v)
    if finite.any():
        kept_values = v[np.isin(steps, kept)]
        assert np.nanmin(kept_values) == np.nanmin(v)
        assert np.nanmax(kept_values) == np.nanmax(v)
    # At most first+last per bucket plus one min and one max per bucket.
    width = bucket_width(int(steps[0]), int(steps[-1]), max(1, samples // 4 - 1), integer=True)
    buckets = len(np.unique(bucket_ids(steps, width)))
    assert len(kept) <= max(len(steps) if len(steps) <= samples else 0, 4 * buckets)
    if samples >= 8:
        assert len(kept) <= samples


def test_every_key_keeps_its_own_extremes() -> None:
    n = 10_000
    steps = np.arange(n, dtype=np.int64)
    a = np.sin(steps / 100.0)
    a[123] = 50.0
    b = np.cos(steps / 70.0)
    b[9_001] = -50.0
    kept = sample_steps(steps, [Column(steps, a), Column(steps, b)], 40)
    assert 123 in kept and 9_001 in kept


def test_bucket_edges_do_not_move_as_points_arrive() -> None:
    # A run seen at 10,000 steps and again at 12,000: the same power-of-two buckets,
    # so the rows kept from the first 10,000 steps are the same.
    rng = np.random.default_rng(3)
    full = rng.normal(size=12_000)
    steps = np.arange(12_000, dtype=np.int64)
    early = sample_steps(steps[:10_000], [Column(steps[:10_000], full[:10_000])], 200)
    later = sample_steps(steps, [Column(steps, full)], 200)
    width = bucket_width(0, 11_999, 49, integer=True)
    assert width == bucket_width(0, 9_999, 49, integer=True)
    last_full_bucket_end = (9_999 // int(width)) * int(width)  # the early run's last bucket was partial
    assert early[early < last_full_bucket_end].tolist() == later[later < last_full_bucket_end].tolist()


def reference_extremes(steps: np.ndarray, values: np.ndarray, width: float) -> list[int]:
    """The definition, one bucket at a time: the first min and first max of each bucket."""
    ids = bucket_ids(steps, width)
    out: set[int] = set()
    for b in np.unique(ids):
        idx = np.flatnonzero(ids == b)
        seg = values[idx].astype(np.float64)
        if np.isnan(seg).all():
            continue
        # (not nanargmax: it counts a NaN as -inf, so [nan, -inf] would give the NaN)
        out.add(int(steps[idx[np.flatnonzero(seg == np.nanmin(seg))[0]]]))
        out.add(int(steps[idx[np.flatnonzero(seg == np.nanmax(seg))[0]]]))
    return sorted(out)


def reference_sample(steps: np.ndarray, cols: list[Column], samples: int) -> list[int]:
    if len(steps) <= samples:
        return steps.tolist()
    width = bucket_width(int(steps[0]), int(steps[-1]), max(1, samples // 4 - 1), integer=True)
    ids = bucket_ids(steps, width)
    kept: set[int] = set()
    for b in np.unique(ids):
        inside = steps[ids == b]
        kept |= {int(inside[0]), int(inside[-1])}
    for c in cols:
        kept |= set(reference_extremes(c.steps, np.asarray(c.values), width))
    return sorted(kept)


_VALUES = st.sampled_from([0.0, 1.0, -1.0, 2.5, -0.0, float("nan"), float("inf"), -float("inf"), 7.0])


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(1, 300),
    first=st.integers(-50, 5000),
    stride=st.integers(1, 7),
    irregular=st.booleans(),
    gaps=st.lists(st.integers(1, 40), min_size=300, max_size=300),
    values=st.lists(_VALUES, min_size=300, max_size=300),
    dtype=st.sampled_from(["f4", "f8", "i4", "i8"]),
    k=st.integers(0, 7),
)
def test_extremes_equal_the_per_bucket_definition(
    n: int, first: int, stride: int, irregular: bool, gaps: list[int], values: list[float], dtype: str, k: int
) -> None:
    # Regular steps (every stride-th step: the 2-D fast path) and irregular ones; every dtype
    # a reader hands over (float32/int32 as stored); NaN, infinities and ties.
    if irregular:
        steps = first + np.cumsum(np.asarray(gaps[:n], dtype=np.int64))
    else:
        steps = first + stride * np.arange(n, dtype=np.int64)
    v = np.asarray(values[:n], dtype=np.float64)
    if dtype[0] == "i":
        v = np.nan_to_num(v, nan=3.0, posinf=9.0, neginf=-9.0)
    v = v.astype(dtype)
    width = float(2**k)
    assert extremes(steps, v, width).tolist() == reference_extremes(steps, v, width)
    c = Column(steps, v)
    for samples in (4, 9, 40):
        assert sample_steps(steps, [c], samples).tolist() == reference_sample(steps, [c], samples)


def test_sampling_works_on_float32_and_widen_gives_float64() -> None:
    from trackline.api.history import widen

    steps = np.arange(10_000, dtype=np.int64)
    v = np.sin(steps / 50.0).astype(np.float32)
    v[4321] = 1e30
    c = Column(steps, v)
    kept = sample_steps(steps, [c], 100)
    assert 4321 in kept.tolist()
    out = widen(restrict({"a": c, "t": Column(steps, ["x"] * len(steps))}, kept))
    assert out["a"].values.dtype == np.float64 and out["a"].values[kept.tolist().index(4321)] == np.float32(1e30)
    assert out["t"].values == ["x"] * len(kept)
    ints = widen({"i": Column(steps[:3], np.array([1, 2, 3], dtype=np.int32))})
    assert ints["i"].values.dtype == np.int64


def test_extremes_ignore_nan_and_handle_all_nan_buckets() -> None:
    steps = np.arange(8, dtype=np.int64)
    v = np.array([np.nan, np.nan, np.nan, np.nan, 1.0, np.nan, 3.0, 2.0])
    assert extremes(steps, v, 4.0).tolist() == [4, 6]


def test_integer_series_keep_their_dtype_and_extremes() -> None:
    steps = np.arange(1000, dtype=np.int64)
    v = np.arange(1000, dtype=np.int64)
    v[500] = -(2**40)
    kept = sample_steps(steps, [Column(steps, v)], 20)
    assert 500 in kept


def test_merge_columns_numeric_and_text_of_one_key() -> None:
    cols = merge_columns(
        {"a": (np.array([0, 1, 2]), np.array([1.0, 2.0, 3.0]))},
        {"a": [(1, "x")], "b": [(5, True)]},
    )
    assert cols["a"].steps.tolist() == [0, 1, 2] and cols["a"].values == [1.0, "x", 3.0]
    assert cols["b"].steps.tolist() == [5] and cols["b"].values == [True]


def test_build_rows_dense_sparse_and_nested() -> None:
    steps = np.array([0, 1, 2], dtype=np.int64)
    dense = {"loss": col([0, 1, 2], [3.0, 2.0, 1.0])}
    assert build_rows(steps, dense) == [
        {"loss": 3.0, "_step": 0}, {"loss": 2.0, "_step": 1}, {"loss": 1.0, "_step": 2}
    ]
    sparse = {"loss": col([0, 2], [3.0, 1.0]), "grads.layer1": col([1], [0.5]), "a\\.b": col([2], [7.0])}
    assert build_rows(steps, sparse) == [
        {"_step": 0, "loss": 3.0},
        {"_step": 1, "grads": {"layer1": 0.5}},
        {"_step": 2, "loss": 1.0, "a.b": 7.0},
    ]
    assert build_rows(steps, {"grads.layer1": col([1], [0.5])}, nest=False)[1] == {"_step": 1, "grads.layer1": 0.5}


def test_union_common_and_restrict() -> None:
    a, b = col([0, 1, 2, 5], [0, 1, 2, 5]), col([1, 5, 9], [1, 5, 9])
    assert union_steps([a, b]).tolist() == [0, 1, 2, 5, 9]
    both = common_steps([a, b])
    assert both.tolist() == [1, 5]
    r = restrict({"a": a, "b": b}, both)
    assert r["a"].steps.tolist() == [1, 5] and np.asarray(r["b"].values).tolist() == [1, 5]
