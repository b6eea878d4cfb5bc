"""The fast histogram counts are numpy.histogram's, value for value, edges included."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.unit.data_types.conftest import threads_running
from trackline.data_types import histogram as hist


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The fast path for tiny arrays, in several blocks and chunks (odd sizes included)."""
    monkeypatch.setattr(hist, "_FAST_FROM", 1)
    monkeypatch.setattr(hist, "_BLOCK", 7)
    monkeypatch.setattr(hist, "_CHUNK", 21)
    monkeypatch.setattr(hist, "_scratch", type(hist._scratch)())
    yield


def on_and_around_edges(x: np.ndarray, bins: int) -> np.ndarray:
    """``x`` plus every edge numpy will use and its float neighbours (clipped to keep min and max)."""
    lo, hi = x.min(), x.max()
    if lo == hi:
        return x
    edges = np.linspace(lo, hi, bins + 1, dtype=np.result_type(lo, hi, x))
    near = np.concatenate([edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf)]).astype(x.dtype)
    return np.concatenate([x, np.clip(near, lo, hi)])


def assert_same_as_numpy(x: np.ndarray, bins: int) -> None:
    finite = x[np.isfinite(x)] if x.dtype.kind == "f" else x
    try:
        want_counts, want_edges = np.histogram(finite, bins=bins)
    except ValueError as exc:  # e.g. float32 edges that collapse: the same error
        with pytest.raises(ValueError, match=str(exc)[:30]):
            hist.histogram(x, bins)
        return
    counts, edges = hist.histogram(x, bins)
    assert edges.dtype == want_edges.dtype
    np.testing.assert_array_equal(edges, want_edges)
    np.testing.assert_array_equal(counts, want_counts)
    assert counts.dtype == want_counts.dtype


magnitudes = st.sampled_from([1e-30, 1e-6, 1.0, 1e3, 1e9, 1e30])
offsets = st.sampled_from([0.0, 1.0, -7.5, 1e3, 1e6, -1e12])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(st.floats(-1.0, 1.0), min_size=1, max_size=60),
    magnitude=magnitudes,
    offset=offsets,
    bins=st.one_of(st.integers(1, 130), st.sampled_from([10, 32, 64, 128])),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_counts_equal_numpy_including_values_on_and_next_to_edges(
    small_blocks: None, values: list[float], magnitude: float, offset: float, bins: int, dtype: type
) -> None:
    with np.errstate(over="ignore"):
        x = (np.asarray(values) * magnitude + offset * magnitude).astype(dtype)
    assume(np.isfinite(x).all())
    assert_same_as_numpy(on_and_around_edges(x, bins), bins)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ints=st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=50),
    bins=st.integers(1, 128),
)
def test_integer_input_equals_numpy(small_blocks: None, ints: list[int], bins: int) -> None:
    assert_same_as_numpy(np.asarray(ints, dtype=np.int64), bins)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's own linspace over +-1e308 overflows
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=40),
    bins=st.integers(1, 64),
)
def test_non_finite_values_are_left_out(small_blocks: None, values: list[float], bins: int) -> None:
    x = np.asarray(values, dtype=np.float64)
    if not np.isfinite(x).any():
        with pytest.raises(ValueError, match="NaN or infinite"):
            hist.histogram(x, bins)
        return
    assert_same_as_numpy(x, bins)


def test_typical_data_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []
    real = hist._uniform_counts

    def spy(*args: object) -> object:
        out = real(*args)  # type: ignore[arg-type]
        calls.append(out is not None)
        return out

    monkeypatch.setattr(hist, "_uniform_counts", spy)
    rng = np.random.default_rng(0)
    for x in (rng.normal(size=200_001), rng.random(100_000).astype(np.float32), rng.integers(0, 9, 70_000)):
        assert_same_as_numpy(on_and_around_edges(x.astype(np.float64) if x.dtype.kind == "i" else x, 64), 64)
    assert calls == [True, True, True]


def test_data_far_from_zero_relative_to_its_spread_is_left_to_numpy(small_blocks: None) -> None:
    x = 1e9 + np.linspace(0, 1e-3, 1000)  # a bin is ~1e-17 of the values: float32 cannot place them
    lo, hi = x.min(), x.max()
    assert hist._uniform_counts([x], float(lo), float(hi), np.linspace(lo, hi, 65)) is None
    assert_same_as_numpy(x, 64)


def test_more_bins_than_a_key_byte_holds_use_numpy(small_blocks: None) -> None:
    x = np.random.default_rng(1).normal(size=5000)
    assert_same_as_numpy(x, 512)


def test_one_distinct_value_gets_numpys_half_unit_range() -> None:
    counts, edges = hist.histogram(np.full(100_000, 3.0), 4)
    assert counts.tolist() == [0, 0, 100_000, 0] and edges.tolist() == [2.5, 2.75, 3.0, 3.25, 3.5]


@pytest.mark.parametrize("n", [2**15, 2**18 + 1, 1_000_003])
def test_big_arrays_equal_numpy(n: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.standard_t(3, size=n)  # heavy tails: most bins sparse, a few crowded
    assert_same_as_numpy(on_and_around_edges(x, 64), 64)
    assert_same_as_numpy(x.astype(np.float32), 100)


@pytest.fixture
def split_with_a_helper(small_blocks: None, one_helper: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tiny arrays are cut in parts (of 5 values or more) counted on the caller and a helper thread."""
    monkeypatch.setattr(hist, "_PART_MIN", 5)
    yield


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(st.one_of(st.floats(-1.0, 1.0), st.sampled_from([np.nan, np.inf, -np.inf])), min_size=1, max_size=60),
    magnitude=magnitudes,
    offset=offsets,
    bins=st.one_of(st.integers(1, 130), st.sampled_from([10, 64, 128])),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_parts_counted_at_once_equal_numpy(
    split_with_a_helper: None, values: list[float], magnitude: float, offset: float, bins: int, dtype: type
) -> None:
    with np.errstate(over="ignore", invalid="ignore"):
        x = (np.asarray(values) * magnitude + offset * magnitude).astype(dtype)
    assume(np.isfinite(x).any())
    assert_same_as_numpy(on_and_around_edges(x[np.isfinite(x)], bins) if np.isfinite(x).all() else x, bins)


def test_big_arrays_are_counted_in_parts_on_helper_threads(one_helper: None, monkeypatch: pytest.MonkeyPatch) -> None:
    threads = threads_running(monkeypatch, hist, "_part_counts")
    fast = hist._uniform_counts
    x = np.random.default_rng(3).normal(size=600_000)
    lo, hi = x.min(), x.max()
    edges = np.linspace(lo, hi, 65)
    np.testing.assert_array_equal(fast(hist._parts(x), float(lo), float(hi), edges), np.histogram(x, 64)[0])
    assert len(threads) == 2 and any(name.startswith("trackline-media-helper") for name in threads)


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.integers(0, 200), max_size=50), limit=st.integers(201, 256))
def test_counting_sorted_bytes_equals_bincount(keys: list[int], limit: int) -> None:
    array = np.asarray(keys, dtype=np.uint8)
    counts = np.zeros(256, np.intp)
    hist._count_sorted(array.copy(), counts, limit)
    np.testing.assert_array_equal(counts, np.bincount(array, minlength=256))


def test_on_one_cpu_big_arrays_are_one_part(no_helpers: None) -> None:
    x = np.random.default_rng(4).normal(size=600_000)
    assert len(hist._parts(x)) == 1
    assert_same_as_numpy(x, 64)
