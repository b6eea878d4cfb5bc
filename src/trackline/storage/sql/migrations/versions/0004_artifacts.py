"""Artifacts: collections, versions, entries (blobs by sha256), aliases and lineage.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "artifact_collections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("type", sa.String(128), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("tags", JSONType),
        sa.Column("is_portfolio", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_artifact_collections_project_name"),
    )
    op.create_table(
        "artifact_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("artifact_id", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "collection_id",
            sa.Integer,
            sa.ForeignKey("artifact_collections.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version_index", sa.Integer),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("digest", sa.String(64)),
        sa.Column("description", sa.Text),
        sa.Column("metadata", JSONType),
        sa.Column("tags", JSONType),
        sa.Column("ttl_seconds", sa.Float),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("file_count", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("committed_at", sa.Float),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="SET NULL")),
        sa.Column("history_step", sa.BigInteger),
        sa.Column("distributed_id", sa.Text),
        sa.Column("pending_aliases", JSONType),
        sa.Column(
            "source_version_id", sa.Integer, sa.ForeignKey("artifact_versions.id", ondelete="CASCADE")
        ),
        sa.UniqueConstraint("collection_id", "version_index", name="uq_artifact_versions_index"),
    )
    op.create_index(
        "ix_artifact_versions_distributed", "artifact_versions", ["collection_id", "distributed_id"]
    )
    op.create_index("ix_artifact_versions_source", "artifact_versions", ["source_version_id"])
    op.create_table(
        "artifact_entries",
        sa.Column(
            "version_id",
            sa.Integer,
            sa.ForeignKey("artifact_versions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("path", sa.Text, primary_key=True),
        sa.Column("digest", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger),
        sa.Column("sha256", sa.String(64)),
        sa.Column("ref", sa.Text),
        sa.Column("extra", JSONType),
        sa.Column("birth_artifact_id", sa.String(64)),
    )
    op.create_index("ix_artifact_entries_sha256", "artifact_entries", ["sha256"])
    op.create_table(
        "artifact_aliases",
        sa.Column(
            "collection_id",
            sa.Integer,
            sa.ForeignKey("artifact_collections.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("alias", sa.String(128), primary_key=True),
        sa.Column(
            "version_id", sa.Integer, sa.ForeignKey("artifact_versions.id", ondelete="CASCADE"), nullable=False
        ),
    )
    op.create_index("ix_artifact_aliases_version", "artifact_aliases", ["version_id"])
    op.create_table(
        "artifact_lineage",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("artifact_versions.id", ondelete="CASCADE")),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE")),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_artifact_lineage_version", "artifact_lineage", ["version_id"])
    op.create_index("ix_artifact_lineage_run", "artifact_lineage", ["run_pk"])


def downgrade() -> None:
    op.drop_index("ix_artifact_lineage_run", "artifact_lineage")
    op.drop_index("ix_artifact_lineage_version", "artifact_lineage")
    op.drop_table("artifact_lineage")
    op.drop_index("ix_artifact_aliases_version", "artifact_aliases")
    op.drop_table("artifact_aliases")
    op.drop_index("ix_artifact_entries_sha256", "artifact_entries")
    op.drop_table("artifact_entries")
    op.drop_index("ix_artifact_versions_source", "artifact_versions")
    op.drop_index("ix_artifact_versions_distributed", "artifact_versions")
    op.drop_table("artifact_versions")
    op.drop_table("artifact_collections")
