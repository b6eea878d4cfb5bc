"""A module imported when first used, for code on the command line's fast paths.

``trackline export`` of a finished project copies stored pages and needs no numpy, whose
import is ~0.06 s of a ~0.2 s command; the same modules use numpy for everything else.
So they name it through a :class:`LazyModule`::

    if TYPE_CHECKING:
        import numpy as np
    else:
        np = LazyModule("numpy", globals(), "np")

The first attribute read imports the module and puts it in the module's globals in its
place: from then on ``np`` is numpy itself, at no cost per use.
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """Stands for module ``name`` under ``alias`` in ``namespace`` until first used."""

    def __init__(self, name: str, namespace: dict[str, Any], alias: str) -> None:
        self._name, self._namespace, self._alias = name, namespace, alias

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self._name)
        self._namespace[self._alias] = module
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported when first used>"
