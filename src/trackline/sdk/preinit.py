"""Module-level placeholders used before ``trackline.init()`` (W&B's ``preinit``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trackline.errors import Error


def _error(what: str) -> Error:
    return Error(f"You must call trackline.init() before {what}")


class PreInitObject:
    """Stands in for ``trackline.config`` / ``trackline.summary`` before init."""

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    _name: str

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        raise _error(f"{self._name}.{key}")

    def __setattr__(self, key: str, value: Any) -> None:
        raise _error(f"{self._name}.{key}")

    def __getitem__(self, key: str) -> Any:
        raise _error(f"{self._name}[{key!r}]")

    def __setitem__(self, key: str, value: Any) -> None:
        raise _error(f"{self._name}[{key!r}]")

    def __repr__(self) -> str:
        return f"<{self._name} (call trackline.init() first)>"


def preinit_callable(name: str) -> Callable[..., Any]:
    def placeholder(*args: Any, **kwargs: Any) -> Any:
        raise _error(f"trackline.{name}()")

    placeholder.__name__ = name
    placeholder.__qualname__ = name
    placeholder.__doc__ = f"Call trackline.init() first; then this is run.{name}."
    return placeholder
