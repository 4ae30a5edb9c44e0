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
    _backfill()


def _backfill() -> None:
    """Fill the list columns of reports stored before this revision from their own JSON, so the
    name and finding-kind filters find them (their alerts' fingerprints were never kept, so they
    cannot be resolved and stay listed as firing)."""
    investigations = sa.table(
        "investigations",
        sa.column("id", sa.String),
        sa.column("report", sa.JSON),
        sa.column("alert_name", sa.String),
        sa.column("finding_kinds", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(investigations.c.id, investigations.c.report)).all()
    for report_id, report in rows:
        if not isinstance(report, dict):
            continue
        alert = report.get("alert")
        name = alert.get("name") if isinstance(alert, dict) else None
        kinds = [str(f.get("kind")) for f in report.get("findings") or [] if isinstance(f, dict)]
        joined = ",".join(dict.fromkeys(kinds))
        bind.execute(
            investigations.update()
            .where(investigations.c.id == report_id)
            .values(
                alert_name=str(name)[:255] if name else None,
                finding_kinds=f",{joined}," if joined else "",
            )
        )


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
