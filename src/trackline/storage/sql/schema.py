"""The SQL schema of the store (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Changes to these tables go with an Alembic revision in ``migrations/versions``;
``tests/unit/storage/test_migrations.py`` checks that the migrations build exactly
this schema.

* ``runs`` carries config and summary as JSON, so listings, filters and sorts never
  touch history (MLflow's ``latest_metrics`` idea, with the summary as the table).
* ``history_chunks`` holds numeric history as columnar chunks (``storage/chunks.py``),
  keyed by stream so several writers to one run never rewrite each other's rows;
  ``history_pages`` holds its sealed float chunks again as Parquet page values, for export.
* ``history_values`` holds every non-numeric history value (text, bools, media refs).
* ``run_streams`` records, per record log, the last sequence number applied: the
  idempotence of ingest.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

metadata = MetaData()


class _JSONDocument(TypeDecorator[Any]):
    """JSON, stored as JSONB on PostgreSQL (what ``JSON().with_variant(JSONB(), ...)``
    gives, without importing the PostgreSQL dialect in SQLite-only processes)."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


JSONType = _JSONDocument()

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity", String(128), nullable=False),
    Column("name", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("entity", "name", name="uq_projects_entity_name"),
)

runs = Table(
    "runs",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("run_id", String(128), nullable=False),
    Column("name", Text),
    Column("notes", Text),
    Column("tags", JSONType),
    Column("group", Text),
    Column("job_type", Text),
    Column("state", String(16), nullable=False),
    Column("exit_code", Integer),
    Column("reason", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("heartbeat_at", Float),
    Column("finished_at", Float),
    Column("runtime", Float),
    Column("host", Text),
    Column("pid", Integer),
    Column("sweep_id", String(128)),
    Column("config", JSONType),
    Column("summary", JSONType),
    Column("metadata", JSONType),
    Column("starting_step", BigInteger),
    Column("last_step", BigInteger),
    Column("history_rows", BigInteger, nullable=False, default=0),
    UniqueConstraint("project_id", "run_id", name="uq_runs_project_run"),
)
Index("ix_runs_project_created", runs.c.project_id, runs.c.created_at)

run_streams = Table(
    "run_streams",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), nullable=False),
    Column("stream_id", LargeBinary(16), nullable=False),
    Column("applied_seq", BigInteger, nullable=False),
    # The applied_seq at which the log was last found ended without an exit record
    # (the run was marked crashed and its pending row flushed); makes that idempotent.
    Column("ended_seq", BigInteger),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("run_pk", "stream_id", name="uq_run_streams_run_stream"),
)

metric_keys = Table(
    "metric_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
)

run_keys = Table(
    "run_keys",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("key_id", Integer, ForeignKey("metric_keys.id"), primary_key=True),
    sqlite_with_rowid=False,
)

metric_defs = Table(
    "metric_defs",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("name", Text, primary_key=True),
    Column("definition", JSONType, nullable=False),
)

def _chunk_table(name: str) -> Table:
    """Columnar chunks of numeric series (layout: storage/chunks.py), per run, key and stream."""
    return Table(
        name,
        metadata,
        Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
        Column("key_id", Integer, primary_key=True),
        Column("stream_pk", Integer, primary_key=True),
        Column("chunk_no", Integer, primary_key=True),
        Column("step_min", BigInteger, nullable=False),
        Column("step_max", BigInteger, nullable=False),
        Column("n", Integer, nullable=False),
        Column("dtype", String(2), nullable=False),
        Column("steps", LargeBinary),
        Column("vals", LargeBinary, nullable=False),
    )


history_chunks = _chunk_table("history_chunks")
Index("ix_history_chunks_range", history_chunks.c.run_pk, history_chunks.c.key_id, history_chunks.c.step_min)

#: Sealed float chunks of ``history_chunks`` once more, as Parquet page values (``chunks.pack_f8``),
#: for ``trackline export`` to copy: ``chunks.PAGE_GROUP`` chunks a page, written when the group
#: is sealed (``chunks`` says how many, for pages of other sizes). Its own table, so reads of
#: history never load them. Only groups whose steps are evenly spaced (``step_first``,
#: ``step_first + d``, ... ``step_last``; d >= 1, in chunk order: what ``log()`` gives, every
#: step or every n-th) have a page, and the page says its step range (0007): the export then
#: reads a page and none of its 16 chunk rows. When a run's stream ends, its last, incomplete
#: group gets a page too, which says how many points it holds (``points``, 0008).
history_pages = Table(
    "history_pages",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("key_id", Integer, primary_key=True),
    Column("stream_pk", Integer, primary_key=True),
    Column("chunk_no", Integer, primary_key=True),  # the first chunk the page holds
    Column("chunks", Integer, nullable=False, server_default="1"),  # how many, from chunk_no on
    Column("page", LargeBinary, nullable=False),
    Column("step_first", BigInteger),  # 0007 (which deleted the pages written before it)
    Column("step_last", BigInteger),
    # 0008: the points it holds; NULL (pages written before) is ``chunks * 2048``. A page of a
    # run's last, incomplete group (written when its stream ends) holds fewer.
    Column("points", Integer),
)
#: A page's place and step range without its row (0007): the export asks whether a page holds
#: a chunk, and plans its row groups, from this index alone. (The row's range columns come
#: after the page's bytes, in overflow pages: reading them walked each page's chain.)
Index("ix_history_pages_steps", history_pages.c.run_pk, history_pages.c.key_id, history_pages.c.stream_pk,
      history_pages.c.chunk_no, history_pages.c.chunks, history_pages.c.step_first, history_pages.c.step_last,
      history_pages.c.points)

history_values = Table(
    "history_values",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("key_id", Integer, primary_key=True),
    Column("stream_pk", Integer, primary_key=True),
    Column("step", BigInteger, primary_key=True),
    Column("value", JSONType),
    sqlite_with_rowid=False,
)

# -- 0002: run lifecycle (alerts, console output, system metrics, resume/fork) ---------------

runs.append_column(Column("forked_from", String(128)))
runs.append_column(Column("fork_step", BigInteger))
# [[max_stream_pk, step], ...]: rows of streams up to max_stream_pk after step are hidden
# (resume_from rewinds the run there; the rows are kept, not deleted).
runs.append_column(Column("history_cutoffs", JSONType))
run_streams.append_column(Column("label", String(128)))  # x_label of the writer (shared mode)

alerts = Table(
    "alerts",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("stream_pk", Integer, primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("ts", Float, nullable=False),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("level", String(8), nullable=False),
    Column("wait_ms", BigInteger, nullable=False),
    Column("throttled", Boolean, nullable=False),
    Column("delivery", JSONType),  # {"webhook": {"ok": bool, "error": str, "attempts": n}, ...}
)

run_logs = Table(
    "run_logs",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("stream_pk", Integer, primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("ts", Float, nullable=False),
    Column("source", String(8), nullable=False),  # stdout | stderr | log
    Column("text", Text, nullable=False),
    sqlite_with_rowid=False,
)

system_chunks = _chunk_table("system_chunks")  # the "system" stream: system metrics

# -- 0003: run files (stored in the blob store by content) ----------------------------------

run_files = Table(
    "run_files",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("path", Text, primary_key=True),  # relative POSIX path under the run's files/
    Column("sha256", String(64), nullable=False),
    Column("md5", String(24), nullable=False),  # base64 MD5, W&B's digest
    Column("size", BigInteger, nullable=False),
    Column("policy", String(8), nullable=False),  # now | live | end
    Column("updated_at", Float, nullable=False),
)
Index("ix_run_files_sha256", run_files.c.sha256)

# -- 0004: artifacts (owned by trackline.artifacts; reads and writes in sql/artifacts.py) ----
#
# A collection is a named sequence of versions in a project (W&B: ArtifactCollection),
# or a portfolio of links (``is_portfolio``: link targets, the model registry). A version
# row is either committed content (its entries here, blobs by sha256) or a link to
# another version (``source_version_id``: entries are the source's). ``artifact_lineage``
# records every log/use/link request by its client id, which makes replay idempotent and
# gives lineage both ways (runs that logged, used and linked each version).

artifact_collections = Table(
    "artifact_collections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("type", String(128), nullable=False),
    Column("description", Text),
    Column("tags", JSONType),
    Column("is_portfolio", Boolean, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("project_id", "name", name="uq_artifact_collections_project_name"),
)

artifact_versions = Table(
    "artifact_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("artifact_id", String(64), nullable=False, unique=True),  # public id
    Column("collection_id", Integer, ForeignKey("artifact_collections.id", ondelete="CASCADE"), nullable=False),
    Column("version_index", Integer),  # NULL while PENDING (distributed upserts)
    Column("state", String(24), nullable=False),  # PENDING | COMMITTED | DELETED
    Column("digest", String(64)),
    Column("description", Text),
    Column("metadata", JSONType),
    Column("tags", JSONType),
    Column("ttl_seconds", Float),  # NULL: kept until deleted
    Column("size", BigInteger, nullable=False),
    Column("file_count", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("committed_at", Float),
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="SET NULL")),  # logged by
    Column("history_step", BigInteger),
    Column("distributed_id", Text),
    Column("pending_aliases", JSONType),
    Column("source_version_id", Integer, ForeignKey("artifact_versions.id", ondelete="CASCADE")),
    UniqueConstraint("collection_id", "version_index", name="uq_artifact_versions_index"),
)
Index("ix_artifact_versions_distributed", artifact_versions.c.collection_id, artifact_versions.c.distributed_id)
Index("ix_artifact_versions_source", artifact_versions.c.source_version_id)

artifact_entries = Table(
    "artifact_entries",
    metadata,
    Column("version_id", Integer, ForeignKey("artifact_versions.id", ondelete="CASCADE"), primary_key=True),
    Column("path", Text, primary_key=True),  # relative POSIX path (validated)
    Column("digest", Text, nullable=False),  # base64 MD5 | ETag | URI (W&B's entry digest)
    Column("size", BigInteger),
    Column("sha256", String(64)),  # the blob; NULL for references
    Column("ref", Text),
    Column("extra", JSONType),
    Column("birth_artifact_id", String(64)),
)
Index("ix_artifact_entries_sha256", artifact_entries.c.sha256)

artifact_aliases = Table(
    "artifact_aliases",
    metadata,
    Column("collection_id", Integer, ForeignKey("artifact_collections.id", ondelete="CASCADE"), primary_key=True),
    Column("alias", String(128), primary_key=True),
    Column("version_id", Integer, ForeignKey("artifact_versions.id", ondelete="CASCADE"), nullable=False),
)
Index("ix_artifact_aliases_version", artifact_aliases.c.version_id)

artifact_lineage = Table(
    "artifact_lineage",
    metadata,
    Column("client_id", String(64), primary_key=True),  # one log/use/link request
    Column("version_id", Integer, ForeignKey("artifact_versions.id", ondelete="CASCADE")),
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE")),
    Column("direction", String(8), nullable=False),  # output | input | link
    Column("created_at", Float, nullable=False),
    Column("error", Text),  # why the request was refused (type clash, unknown version)
)
Index("ix_artifact_lineage_version", artifact_lineage.c.version_id)
Index("ix_artifact_lineage_run", artifact_lineage.c.run_pk)

# -- 0005: sweeps (owned by trackline.sweeps; reads and writes in sql/sweeps.py) -------------
#
# A sweep is a search config in a project; each trial an agent starts is claimed as a row
# of ``sweep_trials`` (its run id and the parameters it got) in the same transaction that
# read the trials before it, so agents sharing a sweep never run one grid point twice.
# The trial's result is its run's summary (the run carries ``sweep_id`` too).

sweeps = Table(
    "sweeps",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("sweep_id", String(64), nullable=False),
    Column("name", Text),
    Column("config", JSONType, nullable=False),
    Column("state", String(16), nullable=False),  # RUNNING | PAUSED | FINISHED | CANCELED
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("project_id", "sweep_id", name="uq_sweeps_project_sweep"),
)

sweep_trials = Table(
    "sweep_trials",
    metadata,
    Column("sweep_pk", Integer, ForeignKey("sweeps.id", ondelete="CASCADE"), primary_key=True),
    Column("run_id", String(128), primary_key=True),
    Column("params", JSONType, nullable=False),
    Column("created_at", Float, nullable=False),
)
