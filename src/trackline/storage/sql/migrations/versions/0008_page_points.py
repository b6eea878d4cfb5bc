"""History pages say how many points they hold, so a run's last, incomplete group has one too.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27

Until now a page held ``chunks`` full chunks (2,048 points each), so a run's last group of
fewer than 16 chunks (all of a run shorter than 32,768 steps) had no page, and the export
packed it. Now, when a run's stream ends (``finish()``, or the log ends without one), its
last group gets a page too: ``points`` says how many it holds (its last chunk may be
partial). Pages written before (NULL) hold ``chunks * 2048``. The pages' index gains the
column, so the export still answers "does a page hold this chunk?" from the index alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_OLD = ["run_pk", "key_id", "stream_pk", "chunk_no", "chunks", "step_first", "step_last"]


def upgrade() -> None:
    op.add_column("history_pages", sa.Column("points", sa.Integer))
    op.drop_index("ix_history_pages_steps", "history_pages")
    op.create_index("ix_history_pages_steps", "history_pages", [*_OLD, "points"])


def downgrade() -> None:
    # A page of a last group (points set) holds fewer points than its chunks: gone with the column.
    op.execute("DELETE FROM history_pages WHERE points IS NOT NULL AND points <> chunks * 2048")
    op.drop_index("ix_history_pages_steps", "history_pages")
    with op.batch_alter_table("history_pages") as batch:
        batch.drop_column("points")
    op.create_index("ix_history_pages_steps", "history_pages", _OLD)
