"""The initial schema: submissions, decisions, jobs, audit chain, alerts, investigations.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from belay.store.tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "submissions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
        sa.Column("content_digest", sa.String(64), nullable=False),
        sa.Column("webhook_id", sa.String(255)),
        sa.Column("project", sa.String(255), index=True),
        sa.Column("remote", sa.String(1024)),
        sa.Column("branch", sa.String(255)),
        sa.Column("commit_sha", sa.String(64), index=True),
        sa.Column("bundle_sha256", sa.String(64)),
        sa.Column("bundle", sa.LargeBinary()),
        sa.Column("manifest", sa.JSON()),
        sa.Column("auth_method", sa.String(32)),
        sa.Column("credential_label", sa.String(255)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decision_id", sa.String(36)),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("submission_id", sa.String(36), sa.ForeignKey("submissions.id")),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("project", sa.String(255)),
        sa.Column("instance", sa.String(255)),
        sa.Column("application", sa.String(255)),
        sa.Column("revision", sa.String(255)),
        sa.Column("branch", sa.String(255)),
        sa.Column("policy", sa.String(255)),
        sa.Column("verdict", sa.JSON(), nullable=False),
    )
    op.create_index("ix_decisions_app_revision", "decisions", ["application", "revision"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("decision_id", sa.String(36), sa.ForeignKey("decisions.id"), index=True),
        sa.Column("instance", sa.String(255), nullable=False),
        sa.Column("application", sa.String(255), nullable=False),
        sa.Column("argocd_project", sa.String(255)),
        sa.Column("app_namespace", sa.String(255)),
        sa.Column("revision", sa.String(255)),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(255)),
        sa.Column("lease_expires_at", UTCDateTime()),
        sa.Column("not_before", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        sa.Column("outcome", sa.JSON()),
        sa.Column("error", sa.Text()),
    )
    op.create_index("ix_jobs_claim", "jobs", ["state", "not_before"])
    op.create_index(
        "ux_jobs_one_running_per_app",
        "jobs",
        ["instance", "application"],
        unique=True,
        sqlite_where=sa.text("state = 'running'"),
        postgresql_where=sa.text("state = 'running'"),
    )
    op.create_table(
        "audit_events",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False, index=True),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("project", sa.String(255)),
        sa.Column("instance", sa.String(255)),
        sa.Column("application", sa.String(255), index=True),
        sa.Column("revision", sa.String(255), index=True),
        sa.Column("submission_id", sa.String(36), index=True),
        sa.Column("decision_id", sa.String(36), index=True),
        sa.Column("job_id", sa.String(36), index=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    audit_head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seq", _SEQ, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    # The head row exists from the start so that concurrent first appends lock it, not race it.
    op.bulk_insert(audit_head, [{"id": 1, "seq": 0, "hash": "0" * 64}])
    op.create_table(
        "alerts",
        sa.Column("dedup_key", sa.String(512), primary_key=True),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("application", sa.String(255)),
        sa.Column("revision", sa.String(255)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("message", sa.JSON(), nullable=False),
    )
    op.create_table(
        "investigations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("instance", sa.String(255)),
        sa.Column("application", sa.String(255), index=True),
        sa.Column("alert", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    """Drop every table."""
    for table in (
        "investigations",
        "alerts",
        "audit_head",
        "audit_events",
        "jobs",
        "decisions",
        "submissions",
    ):
        op.drop_table(table)
