"""Signed verdicts: one DSSE envelope per decision (docs/attestations.md).

Revision ID: 0003_attestations
Revises: 0002_sessions
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from belay.store.tables import UTCDateTime

revision = "0003_attestations"
down_revision = "0002_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the attestations table."""
    op.create_table(
        "attestations",
        sa.Column("decision_id", sa.String(36), sa.ForeignKey("decisions.id"), primary_key=True),
        sa.Column("keyid", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    """Drop the attestations table."""
    op.drop_table("attestations")
