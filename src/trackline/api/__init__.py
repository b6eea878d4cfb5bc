"""The query API: ``trackline.Api`` and the objects it returns (W&B: ``wandb.apis.public``)."""

from __future__ import annotations

from trackline.api.api import Api
from trackline.api.errors import ProjectNotFoundError, RunNotFoundError
from trackline.api.files import File, Files
from trackline.api.public_run import Run
from trackline.api.reader import Reader, StoreReader
from trackline.api.runs import Project, Runs
from trackline.api.scan import HistoryScan
from trackline.api.summary import RunSummary

PublicRun = Run  # the name this class had before

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
