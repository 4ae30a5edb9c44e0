"""Investigations: the alert name, the finding kinds, and resolution by alert fingerprint.

Revision ID: 0004_investigation_resolution
Revises: 0003_attestations
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from belay.store.tables import UTCDateTime

revision = "0004_investigation_resolution"
down_revision = "0003_attestations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the list columns to investigations and the table of their alerts."""
    with op.batch_alter_table("investigations") as batch:
        batch.add_column(sa.Column("alert_name", sa.String(255)))
        batch.add_column(sa.Column("finding_kinds", sa.String(1024)))
        batch.add_column(sa.Column("resolved_at", UTCDateTime()))
        batch.create_index("ix_investigations_alert_name", ["alert_name"])
        batch.create_index("ix_investigations_created_at", ["created_at"])
    op.create_table(
        "investigation_alerts",
        sa.Column(
            "investigation_id",
            sa.String(36),
            sa.ForeignKey("investigations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("resolved_at", UTCDateTime()),
    )
    op.create_index("ix_investigation_alerts_fingerprint", "investigation_alerts", ["fingerprint"])


def downgrade() -> None:
    """Drop the table of investigation alerts and the list columns."""
    op.drop_index("ix_investigation_alerts_fingerprint", table_name="investigation_alerts")
    op.drop_table("investigation_alerts")
    with op.batch_alter_table("investigations") as batch:
        batch.drop_index("ix_investigations_created_at")
        batch.drop_index("ix_investigations_alert_name")
        batch.drop_column("resolved_at")
        batch.drop_column("finding_kinds")
        batch.drop_column("alert_name")
