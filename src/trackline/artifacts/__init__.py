"""Artifacts and run files: versioned, content-addressed sets of files (W&B: ``wandb.Artifact``).

``artifact.py`` (the Artifact object), ``manifest.py`` (manifest v1 and W&B's digests),
``naming.py`` (names, aliases, paths), ``staging.py`` (hashing and staging into the blob
store), ``references.py`` (file/http/s3 references), ``download.py`` + ``cache.py``
(downloads), ``client.py`` (the store side), ``run_artifacts.py`` (the Run's methods),
``run_files.py`` (``save``/``restore``), ``code.py`` (``log_code``/``save_code``),
``gc.py`` (garbage collection and retention), ``run_tables.py`` (tables logged with
``run.log`` as ``run_table`` artifacts).
"""

from __future__ import annotations

from trackline.artifacts.artifact import Artifact, ArtifactFile, ArtifactState, ArtifactTTL
from trackline.artifacts.errors import (
    ArtifactError,
    ArtifactFinalizedError,
    ArtifactNotFoundError,
    ArtifactNotLoggedError,
    WaitTimeoutError,
)
from trackline.artifacts.manifest import Manifest, ManifestEntry

__all__ = [
    "Artifact",
    "ArtifactError",
    "ArtifactFile",
    "ArtifactFinalizedError",
    "ArtifactNotFoundError",
    "ArtifactNotLoggedError",
    "ArtifactState",
    "ArtifactTTL",
    "Manifest",
    "ManifestEntry",
    "WaitTimeoutError",
]
