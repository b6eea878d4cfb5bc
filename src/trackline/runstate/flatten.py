"""Nested history rows <-> dotted metric names.

W&B keeps nested dicts nested in the history row and names a nested metric by
joining the levels with ``.``; a literal dot inside a key is written ``\\.``.
``{"a": {"b": 1}, "c.d": 2}`` has the metrics ``a.b`` and ``c\\.d``.
A dict carrying ``_type`` (media, histogram) is a value, not a level.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

_MAX_DEPTH = 64


def escape(key: str) -> str:
    return key.replace("\\", "\\\\").replace(".", "\\.") if ("." in key or "\\" in key) else key


def split_name(name: str) -> list[str]:
    """``"a.b\\.c"`` -> ``["a", "b.c"]``."""
    if "\\" not in name:
        return name.split(".")
    parts: list[str] = []
    cur: list[str] = []
    it = iter(name)
    for ch in it:
        if ch == "\\":
            nxt = next(it, "")
            cur.append(nxt)
        elif ch == ".":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def join_name(parts: list[str]) -> str:
    return ".".join(escape(p) for p in parts)


def is_level(value: Any) -> bool:
    """True when a dict is a nesting level rather than a value (media refs carry ``_type``)."""
    return type(value) is dict and bool(value) and "_type" not in value


def iter_leaves(row: dict[str, Any], prefix: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """Yield ``(dotted name, value)`` for every leaf of a (possibly nested) row."""
    for key, value in row.items():
        if type(key) is not str:
            key = str(key)
        name = prefix + (escape(key) if ("." in key or "\\" in key) else key)
        if type(value) is dict and value and "_type" not in value and depth < _MAX_DEPTH:
            yield from iter_leaves(value, name + ".", depth + 1)
        else:
            yield name, value


def set_path(tree: dict[str, Any], parts: list[str], value: Any) -> None:
    node = tree
    for part in parts[:-1]:
        nxt = node.get(part)
        if type(nxt) is not dict or "_type" in nxt:
            nxt = {}
            node[part] = nxt
        node = nxt
    node[parts[-1]] = value


def get_path(tree: dict[str, Any], parts: list[str]) -> Any:
    node: Any = tree
    for part in parts:
        if type(node) is not dict or part not in node:
            raise KeyError(join_name(parts))
        node = node[part]
    return node


def delete_path(tree: dict[str, Any], parts: list[str]) -> bool:
    """Remove a leaf or a whole branch; prune levels left empty. True if something was removed."""
    stack: list[tuple[dict[str, Any], str]] = []
    node = tree
    for part in parts[:-1]:
        nxt = node.get(part)
        if type(nxt) is not dict:
            return False
        stack.append((node, part))
        node = nxt
    if parts[-1] not in node:
        return False
    del node[parts[-1]]
    while stack and not node:
        parent, part = stack.pop()
        del parent[part]
        node = parent
    return True


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """Dotted names back to a nested dict (the inverse of :func:`iter_leaves`)."""
    tree: dict[str, Any] = {}
    for name, value in flat.items():
        if "." not in name and "\\" not in name:
            tree[name] = value
        else:
            set_path(tree, split_name(name), value)
    return tree
