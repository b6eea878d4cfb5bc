"""Errors of the query API, named as W&B names them (and catchable as ``ValueError``)."""

from __future__ import annotations

from trackline.errors import CommError


class RunNotFoundError(CommError, ValueError):
    """No run at this path (W&B: ``wandb.errors.RunNotFoundError``, a ``ValueError``)."""


class ProjectNotFoundError(CommError, ValueError):
    """No project at this path (W&B raises ``ValueError("Could not find project ...")``)."""
