"""W&B's run tables: a ``Table`` logged with ``run.log`` is also an artifact.

The artifact is ``run-<run id>-<key>`` (the key without characters artifact names may not
hold), of type ``run_table``, with the entry ``<key>.table.json``: the table's reference
(``_type``, ``path``, ``sha256``, ``size``, ``nrows``, ``columns``, as ``Artifact.add``
writes it) next to the Parquet file it names, ``media/tables/<sha256[:20]>.parquet``.
``api.artifact("run-<id>-<key>:latest").get("<key>")`` gives the Table back.

The Parquet entry points at the run file the table was just written to, as a
``policy="immutable"`` file does: media files are named by their content and never
rewritten, so the training thread copies nothing (the sender stores the bytes). The
record is written after the run file is recorded and before the history row, so a crash
never leaves a version without its file. The same content gives the same manifest
digest, so logging an unchanged table adds no version. A table that cannot become an
artifact (a key that is no entry name) stays logged in history, with one warning; a
collection of that name with another type makes the store refuse the version (the
request's lineage row says why).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from typing import TYPE_CHECKING, Any

from trackline.artifacts.artifact import Artifact
from trackline.artifacts.manifest import ManifestEntry

if TYPE_CHECKING:
    from trackline.data_types.table import Table

TYPE = "run_table"
_NOT_IN_NAMES = re.compile(r"[^a-zA-Z0-9_\-.]+")


def artifact_name(run_id: str, key: str) -> str:
    """``run-<run id>-<key>``; characters a name may not hold are dropped (W&B's rule)."""
    return f"run-{run_id}-{_NOT_IN_NAMES.sub('', key)}"


def table_artifact(run: Any, key: str, table: Table) -> Artifact:
    """The ``run_table`` artifact of a table just bound to ``run`` under ``key``."""
    assert table._logged is not None and table._path is not None and table._sha256 is not None
    payload, nrows = table._logged
    sha = table._sha256
    art = Artifact(artifact_name(run.id, key), TYPE, _internal=True)
    rel = f"media/tables/{sha[:20]}.parquet"
    md5 = base64.b64encode(hashlib.md5(payload).digest()).decode()
    local = os.path.join(run.dir, *table._path.split("/"))
    art._put(ManifestEntry(path=rel, digest=md5, size=len(payload), sha256=sha, local_path=local))
    ref = {"_type": table._log_type, "path": rel, "sha256": sha, "size": len(payload), "nrows": nrows,
           "columns": list(table.columns)}
    staging = art._stage_store()
    info = staging.put_bytes(json.dumps(ref, sort_keys=True, default=str).encode())
    art._put(ManifestEntry(path=f"{key}.table.json", digest=info.md5_b64, size=info.size, sha256=info.sha256,
                           local_path=staging.path(info.sha256)))
    return art


def log_tables(run: Any, tables: list[tuple[str, Table]]) -> None:
    """Log each ``(key, table)`` of one ``log()`` call as its ``run_table`` artifact."""
    from trackline.artifacts import run_artifacts

    for key, table in tables:
        name = artifact_name(run.id, key)
        try:
            # No type check against the store: it would open the store in the training
            # process (~0.2 s at the first table); a clash is refused when the store applies it.
            run_artifacts.log(run, table_artifact(run, key, table), check_type=False)
        except Exception as exc:  # the table is in history either way
            run._warn(f"Table {key!r} was logged, but not as artifact {name!r}: {exc}", once_key=f"run-table:{key}")
