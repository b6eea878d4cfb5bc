"""Cells of the CLI's tables (``ls``, ``show``, ``query``)."""

from __future__ import annotations

import pytest

from trackline.cli.common import fmt_value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.123456789, "0.123457"),
        (1e-9, "1e-09"),
        (123456.7, "123457"),
        (1795820000.123456, "1795820000.123"),  # a _timestamp, to the millisecond
        (-2_000_000.0, "-2000000"),
        (1e20, "1e+20"),
        (float("nan"), "nan"),
        (3, "3"),
        ({"a": 1}, '{"a": 1}'),
    ],
)
def test_fmt_value(value: object, text: str) -> None:
    assert fmt_value(value) == text


def test_long_values_are_cut() -> None:
    assert fmt_value("x" * 100, width=10) == "x" * 9 + "…"
