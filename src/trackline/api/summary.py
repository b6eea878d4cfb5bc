"""A stored run's summary: a dict you can edit and save (W&B: ``HTTPSummary``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any


class RunSummary(MutableMapping[str, Any]):
    """``run.summary["best"] = 0.9`` then ``run.summary.update()`` (or ``run.update()``).

    ``update(d)`` sets the items of ``d`` and saves at once, as W&B's does.
    """

    def __init__(
        self, data: Mapping[str, Any], save: Callable[[], None], resolve: Callable[[Any], Any] | None = None
    ) -> None:
        self._data: dict[str, Any] = dict(data)
        self._save = save
        self._resolve = resolve  # media references -> Image, Table, ... (as_dict() keeps the JSON)

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        return value if self._resolve is None else self._resolve(value)

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def update(self, other: Any = None, /, **kwargs: Any) -> None:
        """Set the given items (if any) and save the whole summary to the store."""
        if other is not None:
            items = other.items() if hasattr(other, "items") else other
            for k, v in items:
                self._data[k] = v
        for k, v in kwargs.items():
            self._data[k] = v
        self._save()

    def as_dict(self) -> dict[str, Any]:
        return dict(self._data)

    _json_dict = property(as_dict)

    def __repr__(self) -> str:
        return repr(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RunSummary):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]
