"""Chart downsampling and smoothing: spikes, ends and bucket edges survive (property tests)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackline.storage.series import (
    asof_join,
    bucket_ids,
    bucket_starts,
    bucket_width,
    crop,
    downsample,
    ema,
    ema_reference,
)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
values_with_nan = st.one_of(finite, st.just(math.nan), st.just(math.inf), st.just(-math.inf))


@st.composite
def step_series(draw: st.DrawFn, min_size: int = 1, with_nan: bool = False) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(min_size, 400))
    gaps = draw(st.lists(st.integers(1, 50), min_size=n, max_size=n))
    start = draw(st.integers(-1000, 1000))
    steps = start + np.cumsum(np.asarray(gaps, dtype=np.int64)) - gaps[0]
    vals = draw(st.lists(values_with_nan if with_nan else finite, min_size=n, max_size=n))
    return steps.astype(np.float64), np.asarray(vals, dtype=np.float64)


@given(step_series(), st.integers(1, 300))
def test_downsample_keeps_ends_and_global_extremes(series: tuple[np.ndarray, np.ndarray], target: int) -> None:
    x, y = series
    w = bucket_width(x[0], x[-1], target, integer=True)
    b = downsample(x, y, w)
    assert (b.x[0], b.last[0]) == (x[0], y[0])
    assert (b.x[-1], b.last[-1]) == (x[-1], y[-1])
    assert b.min.min() == y.min()
    assert b.max.max() == y.max()
    assert b.points == len(x)
    # every entry is a real point and x never goes back
    assert set(b.x.tolist()) <= set(x.tolist())
    assert bool(np.all(np.diff(b.x) >= 0))
    # about `target` buckets: edges on multiples of w over the range, plus the first point
    assert len(b) <= target + 2


@given(step_series(with_nan=True), st.integers(1, 50))
def test_every_spike_lies_inside_its_bucket_band(series: tuple[np.ndarray, np.ndarray], target: int) -> None:
    x, y = series
    w = bucket_width(x[0], x[-1], target, integer=True)
    b = downsample(x, y, w, keep_first=False)
    ids = bucket_ids(x, w)
    entry_of = {int(k): i for i, k in enumerate(bucket_ids(b.x, w))}
    for xi, yi, k in zip(x, y, ids, strict=True):
        i = entry_of[int(k)]
        if not math.isnan(yi):
            assert b.min[i] <= yi <= b.max[i], (xi, yi)


@given(step_series(min_size=2), st.integers(1, 100), st.data())
def test_bucket_edges_stay_put_as_points_arrive(
    series: tuple[np.ndarray, np.ndarray], target: int, data: st.DataObject
) -> None:
    x, y = series
    cut = data.draw(st.integers(1, len(x) - 1))
    w = bucket_width(x[0], x[-1], target, integer=True)
    early = downsample(x[:cut], y[:cut], w, keep_first=False)
    full = downsample(x, y, w, keep_first=False)
    # Every bucket of the early series but its last (still filling) is final.
    done = early.x[:-1]
    n = len(done)
    assert np.array_equal(full.x[:n], done)
    assert np.array_equal(full.min[:n], early.min[:n])
    assert np.array_equal(full.max[:n], early.max[:n])
    assert np.array_equal(full.last[:n], early.last[:n])


@given(st.floats(0, 1e9), st.one_of(st.just(0.0), st.floats(1e-9, 1e9)), st.integers(1, 5000), st.booleans())
def test_widths_are_powers_of_two_so_coarser_edges_are_finer_edges(
    lo: float, span: float, target: int, integer: bool
) -> None:
    w = bucket_width(lo, lo + span, target, integer)
    assert span / w <= target
    assert math.log2(w) == int(math.log2(w))
    if integer:
        assert w >= 1
    if span > 0 and w > 1:
        assert span / (w / 2) > target  # the smallest such width


def test_full_resolution_when_buckets_are_finer_than_points() -> None:
    x = np.arange(10, dtype=np.float64)
    y = x**2
    b = downsample(x, y, 1.0)
    assert np.array_equal(b.x, x) and np.array_equal(b.last, y)
    assert np.array_equal(b.min, y) and np.array_equal(b.max, y)


def test_a_single_spike_in_100k_points_survives() -> None:
    x = np.arange(100_000, dtype=np.float64)
    y = np.zeros(100_000)
    y[54_321] = 7.5
    b = downsample(x, y, bucket_width(0, 99_999, 1000, True))
    assert len(b) <= 1001
    assert b.max.max() == 7.5
    assert b.min.min() == 0.0


def test_empty_and_nan_buckets() -> None:
    assert len(downsample(np.empty(0), np.empty(0), 1.0)) == 0
    x = np.arange(8, dtype=np.float64)
    y = np.array([1.0, math.nan, math.nan, math.nan, 2.0, 3.0, 4.0, 5.0])
    b = downsample(x, y, 2.0, keep_first=False)
    assert math.isnan(b.min[1]) and math.isnan(b.max[1])  # bucket of only NaN
    assert b.min[0] == 1.0 and b.max[0] == 1.0


def test_bucket_width_rejects_no_buckets() -> None:
    with pytest.raises(ValueError, match="at least 1 bucket"):
        bucket_width(0, 10, 0, True)
    assert bucket_width(5, 5, 10, False) == 1.0


def test_crop_is_inclusive() -> None:
    x = np.arange(10, dtype=np.float64)
    cx, cy = crop(x, x * 2, 3, 6)
    assert cx.tolist() == [3, 4, 5, 6] and cy.tolist() == [6, 8, 10, 12]
    assert crop(x, x, None, None)[0].tolist() == x.tolist()


def test_asof_join_takes_the_latest_x_at_or_before_each_step() -> None:
    steps = np.array([0, 1, 2, 3, 4, 5])
    vals = np.array([10.0, 11, 12, 13, 14, 15])
    epoch_steps = np.array([1, 4])
    epochs = np.array([0.0, 1.0])
    x, y, s = asof_join(steps, vals, epoch_steps, epochs)
    assert x.tolist() == [0, 0, 0, 1, 1]  # step 0 comes before any epoch: dropped
    assert y.tolist() == [11, 12, 13, 14, 15]
    assert s.tolist() == [1, 2, 3, 4, 5]


def test_asof_join_sorts_by_x_and_keeps_step_order_on_ties() -> None:
    x, y, s = asof_join(np.array([0, 1, 2]), np.array([1.0, 2, 3]), np.array([0, 1, 2]), np.array([5.0, 1, 5]))
    assert x.tolist() == [1, 5, 5] and y.tolist() == [2, 1, 3] and s.tolist() == [1, 0, 2]
    assert len(asof_join(np.array([1]), np.array([1.0]), np.empty(0), np.empty(0))[0]) == 0


@settings(max_examples=200)
@given(step_series(min_size=1, with_nan=True), st.floats(0, 0.999))
def test_vectorised_ema_matches_its_definition(series: tuple[np.ndarray, np.ndarray], weight: float) -> None:
    steps, y = series
    fast = ema(steps, y, weight)
    ref = ema_reference(steps, y, weight)
    ok = np.isfinite(ref)
    assert np.array_equal(np.isfinite(fast), ok)
    assert np.allclose(fast[ok], ref[ok], rtol=1e-9, atol=1e-6)


@given(step_series(min_size=2), st.floats(0.01, 0.99))
def test_ema_stays_within_the_range_of_the_data(series: tuple[np.ndarray, np.ndarray], weight: float) -> None:
    steps, y = series
    s = ema(steps, y, weight)
    assert s[0] == pytest.approx(y[0])  # debiased: the first point is not pulled to zero
    span = y.max() - y.min()
    assert s.min() >= y.min() - 1e-9 * (1 + span) and s.max() <= y.max() + 1e-9 * (1 + span)


def test_ema_is_the_classic_ema_for_evenly_logged_points() -> None:
    steps = np.arange(0, 50, 5)  # every 5th step: one unit per point
    y = np.arange(10, dtype=np.float64)
    s = ema(steps, y, 0.5)
    num = den = 0.0
    for i, v in enumerate(y):
        num, den = 0.5 * num + 0.5 * v, 0.5 * den + 0.5
        assert s[i] == pytest.approx(num / den)


def test_ema_of_long_series_with_weak_smoothing_does_not_overflow() -> None:
    steps = np.arange(200_000)
    y = np.sin(steps / 100.0) * 1e12
    s = ema(steps, y, 0.001)
    assert np.all(np.isfinite(s))
    assert np.allclose(s[-100:], y[-100:], rtol=1e-2, atol=1e10)


def test_ema_rejects_bad_weights_and_passes_zero_through() -> None:
    y = np.array([1.0, 5.0])
    assert ema(np.array([0, 1]), y, 0.0).tolist() == [1.0, 5.0]
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        ema(np.array([0, 1]), y, 1.0)


def test_ema_matches_the_fixture_the_ui_checks_too() -> None:
    """ui/src/lib/smoothing.ts previews the same EMA; both sides check these outputs."""
    import json
    from pathlib import Path

    fixture = Path(__file__).resolve().parents[3] / "ui" / "src" / "lib" / "fixtures" / "ema.json"
    for case in json.loads(fixture.read_text())["cases"]:
        y = np.array([math.nan if v is None else v for v in case["y"]], dtype=float)
        got = ema(np.array(case["x"]), y, case["weight"])
        want = np.array([math.nan if v is None else v for v in case["smooth"]], dtype=float)
        assert np.allclose(got, want, equal_nan=True, rtol=1e-12)


@given(step_series(), st.integers(0, 12), st.booleans())
def test_binary_searched_bucket_starts_equal_a_full_scan(
    series: tuple[np.ndarray, np.ndarray], log_width: int, as_int: bool
) -> None:
    x = series[0].astype(np.int64) if as_int else series[0] * 0.37
    width = float(2**log_width) if as_int else 2.0 ** (log_width - 4)
    b = bucket_ids(x, width)
    scan = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    assert np.array_equal(bucket_starts(x, width), scan)


def test_integer_steps_and_float32_values_keep_their_dtypes() -> None:
    x = np.arange(1000, dtype=np.int64)
    y = np.linspace(0, 1, 1000, dtype=np.float32)
    b = downsample(x, y, 16.0)
    assert b.x.dtype == np.int64 and b.last.dtype == np.float32 and b.min.dtype == np.float32
    assert b.x[-1] == 999 and b.max.max() == np.float32(1.0)
