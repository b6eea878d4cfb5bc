"""The fast histogram counts are numpy.histogram's, value for value, edges included."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.unit.data_types.conftest import threads_running
from trackline.data_types import histogram as hist


@pytest.fixture(params=["native", "numpy"])
def counter(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each test runs with the C extension and without it (as where it could not be built)."""
    if request.param == "numpy":
        monkeypatch.setattr(hist, "native", None)
    yield request.param


@pytest.fixture
def small_parts(one_helper: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tiny arrays are cut in parts (of 5 values or more) counted on the caller and a helper thread."""
    monkeypatch.setattr(hist, "_PART_MIN", 5)
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
    if finite.size and x.dtype.kind == "f":
        with np.errstate(over="ignore"):
            span = finite.max() - finite.min()
        if not np.isfinite(span):
            # numpy's own edges overflow (an IndexError inside numpy, or nonsense): counted at half scale
            want_counts, want_edges = np.histogram(finite * finite.dtype.type(0.5), bins=bins)
            counts, edges = hist.histogram(x, bins)
            np.testing.assert_array_equal(counts, want_counts)
            np.testing.assert_array_equal(edges, want_edges * want_edges.dtype.type(2))
            assert edges.dtype == finite.dtype and edges[0] == finite.min() and edges[-1] == finite.max()
            assert counts.sum() == finite.size
            return
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
    counter: str, values: list[float], magnitude: float, offset: float, bins: int, dtype: type
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
def test_integer_input_equals_numpy(counter: str, ints: list[int], bins: int) -> None:
    assert_same_as_numpy(np.asarray(ints, dtype=np.int64), bins)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's own linspace near the dtype's max overflows
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=40),
    bins=st.integers(1, 64),
    dtype=st.sampled_from([np.float64, np.float32]),
    scale=st.sampled_from([1.0, 1e270, 1e-30]),
)
def test_non_finite_and_extreme_values(counter: str, values: list[float], bins: int, dtype: type,
                                       scale: float) -> None:
    """NaN and infinities are left out; ranges up to the dtype's extremes (which overflow
    numpy's own edges) are counted at half scale."""
    with np.errstate(over="ignore"):
        x = (np.asarray(values, dtype=np.float64) * (scale if dtype is np.float64 else 1.0)).astype(dtype)
    if not np.isfinite(x).any():
        with pytest.raises(ValueError, match="NaN or infinite"):
            hist.histogram(x, bins)
        return
    assert_same_as_numpy(x, bins)


def test_the_c_extension_is_built_on_linux() -> None:
    """CI and ./scripts/setup build it (hatch_build.py); without it histograms are ~8x slower."""
    if sys.platform != "linux" or sys.implementation.name != "cpython":
        pytest.skip("the build is only required where CI runs")
    assert hist.native is not None, "reinstall with a C compiler: pip install -e . (see hatch_build.py)"


def test_typical_data_takes_the_c_path(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("trackline.data_types._histogram_native")
    calls: list[bool] = []
    real = hist._native_histogram

    def spy(*args: object) -> object:
        out = real(*args)  # type: ignore[arg-type]
        calls.append(out is not None)
        return out

    monkeypatch.setattr(hist, "_native_histogram", spy)
    rng = np.random.default_rng(0)
    for x in (rng.normal(size=200_001), rng.random(100_000).astype(np.float32), rng.integers(0, 9, 70_000)):
        assert_same_as_numpy(on_and_around_edges(x.astype(np.float64) if x.dtype.kind == "i" else x, 64), 64)
    assert calls == [True, True, True]


def test_data_far_from_zero_relative_to_its_spread_is_left_to_numpy(counter: str) -> None:
    x = 1e9 + np.linspace(0, 1e-3, 1000)  # a bin is ~1e-17 of the values: the estimate can't place them
    assert hist._native_margin(float(x.min()), float(x.max()), 64, np.float64) > hist._MAX_MARGIN
    if hist.native is not None:
        assert hist._native_histogram(x, 64) is None
    assert_same_as_numpy(x, 64)


def test_without_the_margin_values_next_to_float32_edges_land_in_the_wrong_bin() -> None:
    """The margin is needed: numpy's float32 edges are rounded, so the estimate alone misplaces values."""
    native = pytest.importorskip("trackline.data_types._histogram_native")
    rng = np.random.default_rng(5)
    x = on_and_around_edges((rng.normal(size=5000) * 3 + 100).astype(np.float32), 64)
    want, edges = np.histogram(x, 64)
    wide = edges.astype(np.float64)
    margin = hist._native_margin(float(x.min()), float(x.max()), 64, edges.dtype)
    with_margin, without = np.zeros(64, np.int64), np.zeros(64, np.int64)
    native.count(x, wide, with_margin, margin)
    native.count(x, wide, without, 0.0)
    np.testing.assert_array_equal(with_margin, want)
    assert (without != want).any()


def test_the_c_functions_refuse_what_they_cannot_count() -> None:
    native = pytest.importorskip("trackline.data_types._histogram_native")
    with pytest.raises(TypeError, match="float64 or float32"):
        native.min_max(np.arange(10))
    with pytest.raises(TypeError, match="float64 or float32"):
        native.min_max(np.arange(10.0).astype(">f8"))
    x, counts = np.arange(10.0), np.zeros(4, np.int64)
    for edges, into, margin in (
        (np.linspace(0, 9, 4), counts, 0.0),  # one edge short
        (np.linspace(0, 9, 5).astype(np.float32), counts, 0.0),  # not float64
        (np.linspace(9, 0, 5), counts, 0.0),  # decreasing
        (np.linspace(0, 9, 5), counts.astype(np.int32), 0.0),  # counts not int64
        (np.linspace(0, 9, 5), counts, 0.5),  # every value "near an edge"
        (np.linspace(0, 9, 514), np.zeros(513, np.int64), 0.0),  # over W&B's 512 bins
    ):
        with pytest.raises(ValueError, match="count: expected"):
            native.count(x, edges, into, margin)
    assert counts.sum() == 0


def test_the_c_min_max_skips_nan_and_infinities() -> None:
    native = pytest.importorskip("trackline.data_types._histogram_native")
    for dtype in (np.float64, np.float32):
        x = np.array([np.nan, 3.0, -np.inf, -2.0, np.inf, 7.5] * 9 + [np.nan], dtype=dtype)
        assert native.min_max(x) == (-2.0, 7.5)
        assert native.min_max(np.array([np.nan, np.inf], dtype=dtype)) == (np.inf, -np.inf)
        assert native.min_max(np.array([], dtype=dtype)) == (np.inf, -np.inf)


def test_more_than_512_bins_use_numpy(counter: str) -> None:
    x = np.random.default_rng(1).normal(size=5000)
    assert_same_as_numpy(x, 1000)


def test_a_range_that_overflows_its_dtype_is_counted_at_half_scale(counter: str) -> None:
    """Found by the property test: numpy.histogram([5e302, -1.8e308], 1) fails with an IndexError,
    and float32 values over +-3e38 with "too many bins": diverging weights still get a histogram."""
    for bins in (1, 64):
        assert_same_as_numpy(np.array([5.455137043951264e302, -1.7976876797252719e308, np.nan]), bins)
        assert_same_as_numpy(np.array([-3e38, 3e38, 0, 1, np.inf], dtype=np.float32), bins)
    counts, edges = hist.histogram(np.array([-1e308, 1e308] * 20), 4)
    assert counts.tolist() == [20, 0, 0, 20] and edges.tolist() == [-1e308, -5e307, 0.0, 5e307, 1e308]


def test_one_distinct_value_gets_numpys_half_unit_range(counter: str) -> None:
    counts, edges = hist.histogram(np.full(100_000, 3.0), 4)
    assert counts.tolist() == [0, 0, 100_000, 0] and edges.tolist() == [2.5, 2.75, 3.0, 3.25, 3.5]


def test_non_contiguous_and_big_endian_arrays_equal_numpy(counter: str) -> None:
    x = np.random.default_rng(6).normal(size=(300, 400))
    assert_same_as_numpy(x.T, 64)
    assert_same_as_numpy(x[:, ::3], 64)
    assert_same_as_numpy(x.astype(">f8"), 64)


@pytest.mark.parametrize("n", [2**15, 2**18 + 1, 1_000_003])
def test_big_arrays_equal_numpy(counter: str, n: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.standard_t(3, size=n)  # heavy tails: most bins sparse, a few crowded
    x[rng.integers(0, n, 50)] = np.nan
    assert_same_as_numpy(on_and_around_edges(x[np.isfinite(x)], 64), 64)
    assert_same_as_numpy(x, 64)
    assert_same_as_numpy(x.astype(np.float32), 100)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(st.one_of(st.floats(-1.0, 1.0), st.sampled_from([np.nan, np.inf, -np.inf])), min_size=1, max_size=60),
    magnitude=magnitudes,
    offset=offsets,
    bins=st.one_of(st.integers(1, 130), st.sampled_from([10, 64, 128])),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_parts_counted_at_once_equal_numpy(
    small_parts: None, values: list[float], magnitude: float, offset: float, bins: int, dtype: type
) -> None:
    with np.errstate(over="ignore", invalid="ignore"):
        x = (np.asarray(values) * magnitude + offset * magnitude).astype(dtype)
    assume(np.isfinite(x).any())
    assert_same_as_numpy(on_and_around_edges(x[np.isfinite(x)], bins) if np.isfinite(x).all() else x, bins)


def test_big_arrays_are_counted_in_parts_on_helper_threads(one_helper: None, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("trackline.data_types._histogram_native")
    threads = threads_running(monkeypatch, hist, "_native_counts")
    x = np.random.default_rng(3).normal(size=600_000)
    assert_same_as_numpy(x, 64)
    assert len(threads) == 2 and any(name.startswith("trackline-media-helper") for name in threads)


def test_on_one_cpu_big_arrays_are_one_part(no_helpers: None) -> None:
    x = np.random.default_rng(4).normal(size=600_000)
    assert len(hist._parts(x)) == 1
    assert_same_as_numpy(x, 64)
