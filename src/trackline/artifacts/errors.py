"""Artifact errors, with W&B's names (``wandb.errors`` / ``wandb.sdk.artifacts.exceptions``)."""

from __future__ import annotations


class ArtifactError(Exception):
    """Base class of artifact errors."""


class ArtifactFinalizedError(ArtifactError):
    """A change to an artifact that is already finalized (logged or ``finalize()``-d)."""

    def __init__(self, method: str = "") -> None:
        where = f" (`{method}`)" if method else ""
        super().__init__(
            f"Can't modify finalized artifact{where}: it was logged or finalize()-d. "
            "Make a new version with `artifact.new_draft()`."
        )


class ArtifactNotLoggedError(ArtifactError):
    """An operation that needs a logged artifact, on a draft."""

    def __init__(self, attr: str, extra: str = "") -> None:
        super().__init__(
            f"'Artifact.{attr}' used prior to logging artifact: call `run.log_artifact(artifact)` "
            f"and `artifact.wait()` first{extra}"
        )


class WaitTimeoutError(ArtifactError, TimeoutError):
    """``Artifact.wait(timeout)`` ran out of time before the version was committed."""


class ArtifactNotFoundError(ArtifactError, ValueError):
    """No artifact of that name, version or alias in the store."""
