"""Run lifecycle: alerts, console output, system metrics, resume/fork bookkeeping.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("runs", sa.Column("forked_from", sa.String(128)))
    op.add_column("runs", sa.Column("fork_step", sa.BigInteger))
    op.add_column("runs", sa.Column("history_cutoffs", JSONType))
    op.add_column("run_streams", sa.Column("label", sa.String(128)))
    op.create_table(
        "alerts",
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("stream_pk", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("wait_ms", sa.BigInteger, nullable=False),
        sa.Column("throttled", sa.Boolean, nullable=False),
        sa.Column("delivery", JSONType),
    )
    op.create_table(
        "run_logs",
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("stream_pk", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "system_chunks",
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


def downgrade() -> None:
    op.drop_table("system_chunks")
    op.drop_table("run_logs")
    op.drop_table("alerts")
    with op.batch_alter_table("run_streams") as batch:
        batch.drop_column("label")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("history_cutoffs")
        batch.drop_column("fork_step")
        batch.drop_column("forked_from")
