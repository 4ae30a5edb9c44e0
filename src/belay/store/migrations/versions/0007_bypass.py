"""The gate-bypass watch: reported unapproved deployments and the replicas' lease.

Revision ID: 0007_bypass
Revises: 0005_data_snapshots
Create Date: 2026-12-03

It follows 0005 directly: following deployments at scale (issue 18) needed no schema change, so
there is no 0006.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from belay.store.tables import UTCDateTime

revision = "0007_bypass"
down_revision = "0005_data_snapshots"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``bypass_reports`` and ``bypass_leases``."""
    op.create_table(
        "bypass_reports",
        sa.Column("dedup_key", sa.String(512), primary_key=True),
        sa.Column("instance", sa.String(255), nullable=False),
        sa.Column("application", sa.String(255), nullable=False),
        sa.Column("revision", sa.String(255), nullable=False),
        sa.Column("project", sa.String(255)),
        sa.Column("history_id", sa.Integer()),
        sa.Column("initiated_by", sa.String(255), nullable=False),
        sa.Column("deployed_at", UTCDateTime()),
        sa.Column("reported_at", UTCDateTime(), nullable=False),
        sa.Column("reporter", sa.String(255), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    op.create_index("ix_bypass_reports_application", "bypass_reports", ["application"])
    op.create_index("ix_bypass_reports_revision", "bypass_reports", ["revision"])
    op.create_table(
        "bypass_leases",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("bypass_leases")
    op.drop_index("ix_bypass_reports_revision", table_name="bypass_reports")
    op.drop_index("ix_bypass_reports_application", table_name="bypass_reports")
    op.drop_table("bypass_reports")
