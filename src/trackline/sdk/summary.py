"""``run.summary``: the last value of every metric, plus explicit edits (W&B's Summary).

Reads ask the run for its current summary, which waits until the sender has
applied every record written so far (W&B asks its core process the same way).
Writes are records: ``summary[k] = v`` replaces the value (and resets any
define_metric aggregate for ``k``), ``del summary[k]`` removes a leaf or branch.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from typing import Any

Path = list[str]


class _SummaryView:
    """Dict-like access to one level of the summary tree (the root or a nested dict)."""

    def __init__(
        self,
        read: Callable[[], dict[str, Any]],
        write: Callable[[list[tuple[Path, Any]], list[Path]], None],
        path: Path,
    ) -> None:
        object.__setattr__(self, "_read", read)
        object.__setattr__(self, "_write", write)
        object.__setattr__(self, "_path", path)

    _read: Callable[[], dict[str, Any]]
    _write: Callable[[list[tuple[Path, Any]], list[Path]], None]
    _path: Path

    def _level(self) -> dict[str, Any]:
        node: Any = self._read()
        for part in self._path:
            if not isinstance(node, dict) or part not in node:
                return {}
            node = node[part]
        return node if isinstance(node, dict) else {}

    def _wrap(self, key: str, value: Any) -> Any:
        if isinstance(value, dict) and "_type" not in value:
            return _SummaryView(self._read, self._write, [*self._path, key])
        return value

    def __getitem__(self, key: str) -> Any:
        level = self._level()
        return self._wrap(key, level[key])

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"summary has no key {key!r}") from None

    def get(self, key: str, default: Any = None) -> Any:
        level = self._level()
        return self._wrap(key, level[key]) if key in level else default

    def keys(self) -> list[str]:
        return [k for k in self._level() if k != "_wandb"]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, v) for k, v in self._level().items() if k != "_wandb"]

    def values(self) -> list[Any]:
        return [v for k, v in self._level().items() if k != "_wandb"]

    def __contains__(self, key: object) -> bool:
        return key in self._level()

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __setitem__(self, key: str, value: Any) -> None:
        self._write([([*self._path, str(key)], value)], [])

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delitem__(self, key: str) -> None:
        if key not in self._level():
            raise KeyError(key)
        self._write([], [[*self._path, str(key)]])

    def __delattr__(self, key: str) -> None:
        try:
            del self[key]
        except KeyError:
            raise AttributeError(key) from None

    def update(self, d: Mapping[str, Any] | None = None, **kw: Any) -> None:
        items = {**(d or {}), **kw}
        self._write([([*self._path, str(k)], v) for k, v in items.items()], [])

    def as_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._level())

    _as_dict = as_dict

    def __repr__(self) -> str:
        return repr(self._level())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _SummaryView):
            return self._level() == other._level()
        if isinstance(other, Mapping):
            return self._level() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class Summary(_SummaryView):
    """The run's summary (W&B: ``wandb.Summary``)."""

    def __init__(
        self,
        read: Callable[[], dict[str, Any]],
        write: Callable[[list[tuple[Path, Any]], list[Path]], None],
    ) -> None:
        super().__init__(read, write, [])


class DictSummary(dict[str, Any]):
    """A plain dict that also allows attribute access (the disabled run's summary)."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value
