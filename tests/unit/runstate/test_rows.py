"""Columns of buffered rows: which become numeric arrays, and of which dtype."""

from __future__ import annotations

import numpy as np
import pytest

from trackline.runstate.rows import column


def test_floats_ints_and_mixes() -> None:
    f = column((1.5, 2.5))
    assert f is not None and f.dtype == np.float64 and f.tolist() == [1.5, 2.5]
    i = column((1, 2, 3))
    assert i is not None and i.dtype == np.int64 and i.tolist() == [1, 2, 3]
    m = column((1, 2.5))
    assert m is not None and m.dtype == np.float64 and m.tolist() == [1.0, 2.5]
    nan = column((float("nan"), float("inf")))
    assert nan is not None and np.isnan(nan[0]) and nan[1] == np.inf


@pytest.mark.parametrize(
    "values",
    [(1.0, True), (True, False), (1.0, "a"), ("a",), (1.0, None), (1, 1 << 70), (1.0, {"x": 1}),
     (1 << 63, 0, 0), (0.5, 1 << 63), (0.5, -(1 << 63) - 1)],  # ints beyond int64: numpy would round them
)
def test_anything_else_is_not_a_numeric_column(values: tuple[object, ...]) -> None:
    assert column(values) is None
