"""Histogram: W&B's bins rules and errors."""

from __future__ import annotations

import numpy as np
import pytest

import trackline


def test_sequence_is_counted_into_num_bins() -> None:
    h = trackline.Histogram(np.arange(100), num_bins=10)
    js = h.to_json()
    assert js["_type"] == "histogram" and len(js["values"]) == 10 and len(js["bins"]) == 11
    assert sum(js["values"]) == 100


def test_np_histogram_is_taken_as_is() -> None:
    counts, edges = np.histogram([1, 2, 2, 3], bins=3)
    h = trackline.Histogram(np_histogram=(counts, edges))
    assert h.histogram == counts.tolist() and h.bins == edges.tolist()


def test_wandb_errors() -> None:
    with pytest.raises(ValueError, match="The maximum length of a histogram is 512"):
        trackline.Histogram(np.arange(10), num_bins=513)
    with pytest.raises(ValueError, match="The maximum length of a histogram is 512"):
        trackline.Histogram(np_histogram=(np.zeros(600), np.arange(601)))
    with pytest.raises(ValueError, match=r"len\(bins\) must be len\(histogram\) \+ 1"):
        trackline.Histogram(np_histogram=([1, 2], [0, 1]))
    with pytest.raises(ValueError, match="Expected np_histogram to be a tuple"):
        trackline.Histogram(np_histogram=([1, 2], [0, 1, 2], [3]))
    with pytest.raises(ValueError, match="Expected np_histogram"):
        trackline.Histogram()
    with pytest.raises(ValueError, match="num_bins"):
        trackline.Histogram([1, 2], num_bins=0)


def test_nan_values_are_left_out_and_all_nan_is_an_error() -> None:
    h = trackline.Histogram([1.0, np.nan, 2.0], num_bins=2)
    assert sum(h.histogram) == 2
    with pytest.raises(ValueError, match="NaN"):
        trackline.Histogram([np.nan, np.inf])


def test_histogram_logs_inline_without_files(run: trackline.Run) -> None:
    from tests.unit.data_types.conftest import last_row

    run.log({"h": trackline.Histogram([1, 2, 3], num_bins=3)})
    assert last_row(run)["h"] == {"_type": "histogram", "values": [1, 1, 1], "bins": [1.0, 1 + 2 / 3, 1 + 4 / 3, 3.0]}


@pytest.mark.parametrize("n", [10, 1000, 300_000, 1_000_003])
def test_counts_and_edges_equal_numpy_histogram(n: int) -> None:
    rng = np.random.default_rng(n)
    x = np.concatenate([rng.normal(size=n), np.linspace(-1, 1, 65)])  # values on the bin edges too
    h = trackline.Histogram(x, num_bins=64)
    counts, edges = np.histogram(x, bins=64)
    assert h.histogram == counts.tolist() and h.bins == edges.tolist()
    x[::7] = np.nan
    h = trackline.Histogram(x, num_bins=64)
    counts, edges = np.histogram(x[np.isfinite(x)], bins=64)
    assert h.histogram == counts.tolist() and h.bins == edges.tolist()
