"""History pages say their step range, so the export reads a page instead of its 16 chunk rows.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

A page now exists only for a group of chunks whose steps are evenly spaced, and says the
first and last of them; an index of the pages' step ranges lets the export plan its row
groups without reading a chunk row that a page holds. Pages written before this revision (no range) are deleted: the
export packs their chunks itself, as for a store older than 0006, and writes the same file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM history_pages")
    op.add_column("history_pages", sa.Column("step_first", sa.BigInteger))
    op.add_column("history_pages", sa.Column("step_last", sa.BigInteger))
    op.create_index("ix_history_pages_steps", "history_pages",
                    ["run_pk", "key_id", "stream_pk", "chunk_no", "chunks", "step_first", "step_last"])


def downgrade() -> None:
    op.drop_index("ix_history_pages_steps", "history_pages")
    with op.batch_alter_table("history_pages") as batch:
        batch.drop_column("step_last")
        batch.drop_column("step_first")
