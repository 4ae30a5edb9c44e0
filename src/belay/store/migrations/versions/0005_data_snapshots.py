"""Threat-data snapshots for policy replays: the KEV/EPSS files each decision used.

Revision ID: 0005_data_snapshots
Revises: 0004_investigation_resolution
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from belay.store.tables import UTCDateTime

revision = "0005_data_snapshots"
down_revision = "0004_investigation_resolution"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``data_snapshots`` and the decisions' ``data_digests``."""
    op.create_table(
        "data_snapshots",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name", sa.String(1024), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
    )
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("data_digests", sa.JSON()))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("data_digests")
    op.drop_table("data_snapshots")
