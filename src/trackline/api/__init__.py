"""The query API: ``trackline.Api`` and the objects it returns (W&B: ``wandb.apis.public``).

The names are imported on first use (``__getattr__``): a module of this package (``Api``
alone, the errors) loads without numpy and the history code (~0.07 s of a command).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trackline.api.api import Api
    from trackline.api.errors import ProjectNotFoundError, RunNotFoundError
    from trackline.api.files import File, Files
    from trackline.api.public_run import Run
    from trackline.api.reader import Reader, StoreReader
    from trackline.api.runs import Project, Runs
    from trackline.api.scan import HistoryScan
    from trackline.api.summary import RunSummary

    PublicRun = Run

_WHERE = {
    "Api": "api",
    "File": "files",
    "Files": "files",
    "HistoryScan": "scan",
    "Project": "runs",
    "ProjectNotFoundError": "errors",
    "PublicRun": "public_run",  # the name Run had before
    "Reader": "reader",
    "Run": "public_run",
    "RunNotFoundError": "errors",
    "RunSummary": "summary",
    "Runs": "runs",
    "StoreReader": "reader",
}

__all__ = [
    "Api",
    "File",
    "Files",
    "HistoryScan",
    "Project",
    "ProjectNotFoundError",
    "PublicRun",
    "Reader",
    "Run",
    "RunNotFoundError",
    "RunSummary",
    "Runs",
    "StoreReader",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'trackline.api' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"trackline.api.{module}"), "Run" if name == "PublicRun" else name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
