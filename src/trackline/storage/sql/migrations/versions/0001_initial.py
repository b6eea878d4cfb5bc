"""Initial schema: projects, runs, streams, metric keys and definitions, history.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entity", sa.String(128), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("entity", "name", name="uq_projects_entity_name"),
    )
    op.create_table(
        "runs",
        sa.Column("pk", sa.Integer, primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer,
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("run_id", sa.String(128), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("notes", sa.Text),
        sa.Column("tags", JSONType),
        sa.Column("group", sa.Text),
        sa.Column("job_type", sa.Text),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("exit_code", sa.Integer),
        sa.Column("reason", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("heartbeat_at", sa.Float),
        sa.Column("finished_at", sa.Float),
        sa.Column("runtime", sa.Float),
        sa.Column("host", sa.Text),
        sa.Column("pid", sa.Integer),
        sa.Column("sweep_id", sa.String(128)),
        sa.Column("config", JSONType),
        sa.Column("summary", JSONType),
        sa.Column("metadata", JSONType),
        sa.Column("starting_step", sa.BigInteger),
        sa.Column("last_step", sa.BigInteger),
        sa.Column("history_rows", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("project_id", "run_id", name="uq_runs_project_run"),
    )
    op.create_index("ix_runs_project_created", "runs", ["project_id", "created_at"])
    op.create_table(
        "run_streams",
        sa.Column("pk", sa.Integer, primary_key=True),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("stream_id", sa.LargeBinary(16), nullable=False),
        sa.Column("applied_seq", sa.BigInteger, nullable=False),
        sa.Column("ended_seq", sa.BigInteger),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("run_pk", "stream_id", name="uq_run_streams_run_stream"),
    )
    op.create_table(
        "metric_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
    )
    op.create_table(
        "run_keys",
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("key_id", sa.Integer, sa.ForeignKey("metric_keys.id"), primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "metric_defs",
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("definition", JSONType, nullable=False),
    )
    op.create_table(
        "history_chunks",
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("key_id", sa.Integer, primary_key=True),
        sa.Column("stream_pk", sa.Integer, primary_key=True),
        sa.Column("chunk_no", sa.Integer, primary_key=True),
        sa.Column("step_min", sa.BigInteger, nullable=False),
        sa.Column("step_max", sa.BigInteger, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("dtype", sa.String(2), nullable=False),
        sa.Column("steps", sa.LargeBinary),
        sa.Column("vals", sa.LargeBinary, nullable=False),
    )
    op.create_index(
        "ix_history_chunks_range", "history_chunks", ["run_pk", "key_id", "step_min"]
    )
    op.create_table(
        "history_values",
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("key_id", sa.Integer, primary_key=True),
        sa.Column("stream_pk", sa.Integer, primary_key=True),
        sa.Column("step", sa.BigInteger, primary_key=True),
        sa.Column("value", JSONType),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    for table in (
        "history_values",
        "history_chunks",
        "metric_defs",
        "run_keys",
        "metric_keys",
        "run_streams",
        "runs",
        "projects",
    ):
        op.drop_table(table)
