"""Exceptions raised by trackline, named as W&B names them so `except wandb.Error` keeps working."""

from __future__ import annotations


class Error(Exception):
    """Base class for trackline errors (W&B: `wandb.Error`)."""

    def __init__(self, message: str = "", context: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.context = context


class UsageError(Error):
    """The API was called in a way it does not support."""


class CommError(Error):
    """A backend (store or server) could not be reached or refused a request."""

    def __init__(self, message: str = "", exc: BaseException | None = None) -> None:
        super().__init__(message)
        self.exc = exc


class ConfigError(Error):
    """A config value could not be set (for example, a changed value without allow_val_change)."""


class StepOrderError(UsageError):
    """`log(step=s)` with s lower than the current step while `Settings(strict_steps=True)`."""
