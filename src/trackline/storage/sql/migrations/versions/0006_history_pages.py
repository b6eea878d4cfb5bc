"""History pages: sealed float chunks again as Parquet page values, for ``trackline export``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

Chunks sealed before this revision have no page; the export packs those itself, so an
upgraded store exports the same file, only slower until its runs are written anew.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "history_pages",
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("key_id", sa.Integer, primary_key=True),
        sa.Column("stream_pk", sa.Integer, primary_key=True),
        sa.Column("chunk_no", sa.Integer, primary_key=True),
        sa.Column("chunks", sa.Integer, nullable=False, server_default="1"),
        sa.Column("page", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("history_pages")
