"""Nested rows <-> dotted names: a round trip for any nesting and any key text."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from trackline.runstate.flatten import (
    delete_path,
    escape,
    iter_leaves,
    join_name,
    split_name,
    unflatten,
)

keys = st.text(min_size=1, max_size=6)
leaves = st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=5), st.booleans())
trees = st.recursive(
    st.dictionaries(keys, leaves, min_size=1, max_size=4),
    lambda children: st.dictionaries(keys, st.one_of(leaves, children), min_size=1, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(tree=trees)
def test_flatten_round_trips(tree: dict[str, Any]) -> None:
    flat = dict(iter_leaves(tree))
    assert unflatten(flat) == tree


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(keys, min_size=1, max_size=5))
def test_names_round_trip(parts: list[str]) -> None:
    assert split_name(join_name(parts)) == parts


def test_dots_in_keys_are_escaped_not_nested() -> None:
    assert dict(iter_leaves({"a.b": 1, "c": {"d": 2}})) == {"a\\.b": 1, "c.d": 2}
    assert escape("x") == "x"


def test_media_dicts_are_values_not_levels() -> None:
    media = {"_type": "histogram", "values": [1], "bins": [0, 1]}
    assert dict(iter_leaves({"h": media})) == {"h": media}
    assert dict(iter_leaves({"empty": {}})) == {"empty": {}}


def test_delete_prunes_empty_levels() -> None:
    tree = {"a": {"b": {"c": 1}}, "x": 1}
    assert delete_path(tree, ["a", "b", "c"])
    assert tree == {"x": 1}
    assert not delete_path(tree, ["nope", "c"])
