"""SQLAlchemy 2 tables of the store. Internal to ``belay.store``: other packages see records.

Timestamps are stored as UTC. SQLite keeps no zone, so :class:`UTCDateTime` puts it back on read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from belay.vocab import JobState

__all__ = [
    "AlertRow",
    "AttestationRow",
    "AuditEventRow",
    "AuditHeadRow",
    "Base",
    "DataSnapshotRow",
    "DecisionRow",
    "InvestigationAlertRow",
    "InvestigationRow",
    "JobRow",
    "SubmissionRow",
    "UTCDateTime",
]


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base of Belay's tables."""

    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime}


class SubmissionRow(Base):
    """A delivery received by the intake (what was sent, by whom, and its idempotency key)."""

    __tablename__ = "submissions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    received_at: Mapped[datetime]
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    content_digest: Mapped[str] = mapped_column(String(64))
    webhook_id: Mapped[str | None] = mapped_column(String(255))
    project: Mapped[str | None] = mapped_column(String(255), index=True)
    remote: Mapped[str | None] = mapped_column(String(1024))
    branch: Mapped[str | None] = mapped_column(String(255))
    commit_sha: Mapped[str | None] = mapped_column(String(64), index=True)
    bundle_sha256: Mapped[str | None] = mapped_column(String(64))
    bundle: Mapped[bytes | None] = mapped_column(LargeBinary)
    manifest: Mapped[dict[str, Any] | None]
    auth_method: Mapped[str | None] = mapped_column(String(32))
    credential_label: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))
    decision_id: Mapped[str | None] = mapped_column(String(36))


class DecisionRow(Base):
    """A verdict: the judgement of one submission (or of a manual request)."""

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_app_revision", "application", "revision"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    submission_id: Mapped[str | None] = mapped_column(ForeignKey("submissions.id"))
    decided_at: Mapped[datetime]
    decision: Mapped[str] = mapped_column(String(8))
    project: Mapped[str | None] = mapped_column(String(255))
    instance: Mapped[str | None] = mapped_column(String(255))
    application: Mapped[str | None] = mapped_column(String(255))
    revision: Mapped[str | None] = mapped_column(String(255))
    branch: Mapped[str | None] = mapped_column(String(255))
    policy: Mapped[str | None] = mapped_column(String(255))
    verdict: Mapped[dict[str, Any]]
    # The SHA-256 of each threat-data file the judgement used ({"kev": ..., "epss": ...}).
    data_digests: Mapped[dict[str, Any] | None]


class DataSnapshotRow(Base):
    """A KEV or EPSS file as a decision used it, kept so that a replay can use it again."""

    __tablename__ = "data_snapshots"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime]
    content: Mapped[bytes] = mapped_column(LargeBinary)
    """The file's bytes, gzip-compressed."""


class AttestationRow(Base):
    """A decision's signed statement: the DSSE envelope's JSON exactly as signed and served."""

    __tablename__ = "attestations"

    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"), primary_key=True)
    keyid: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    envelope: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


_ONE_RUNNING = f"state = '{JobState.running}'"
"""The partial unique index's condition (migration 0001 spells out the same SQL)."""


class JobRow(Base):
    """A deployment job in the durable queue, with its lease."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "state", "not_before"),
        # At most one running job per Argo CD application, enforced by the database itself so
        # that two workers on two machines cannot both start one.
        Index(
            "ux_jobs_one_running_per_app",
            "instance",
            "application",
            unique=True,
            sqlite_where=text(_ONE_RUNNING),
            postgresql_where=text(_ONE_RUNNING),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    decision_id: Mapped[str | None] = mapped_column(ForeignKey("decisions.id"), index=True)
    instance: Mapped[str] = mapped_column(String(255))
    application: Mapped[str] = mapped_column(String(255))
    argocd_project: Mapped[str | None] = mapped_column(String(255))
    app_namespace: Mapped[str | None] = mapped_column(String(255))
    revision: Mapped[str | None] = mapped_column(String(255))
    spec: Mapped[dict[str, Any]]
    actor: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None]
    not_before: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)


class AuditEventRow(Base):
    """One link of the append-only, hash-chained audit trail."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(255))
    project: Mapped[str | None] = mapped_column(String(255))
    instance: Mapped[str | None] = mapped_column(String(255))
    application: Mapped[str | None] = mapped_column(String(255), index=True)
    revision: Mapped[str | None] = mapped_column(String(255), index=True)
    submission_id: Mapped[str | None] = mapped_column(String(36), index=True)
    decision_id: Mapped[str | None] = mapped_column(String(36), index=True)
    job_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # The canonical JSON text that was hashed, stored as text so verification sees the same bytes.
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """The single row holding the chain's last hash; locked by every append to order the chain."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(_SEQ)
    hash: Mapped[str] = mapped_column(String(64))


class AlertRow(Base):
    """An alert, keyed by its dedup key so that a restart or retry never sends it twice."""

    __tablename__ = "alerts"

    dedup_key: Mapped[str] = mapped_column(String(512), primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    application: Mapped[str | None] = mapped_column(String(255))
    revision: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    message: Mapped[dict[str, Any]]


class InvestigationRow(Base):
    """A stored investigation report (from the alert webhook)."""

    __tablename__ = "investigations"
    __table_args__ = (Index("ix_investigations_created_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime]
    instance: Mapped[str | None] = mapped_column(String(255))
    application: Mapped[str | None] = mapped_column(String(255), index=True)
    alert: Mapped[dict[str, Any]]
    report: Mapped[dict[str, Any]]
    alert_name: Mapped[str | None] = mapped_column(String(255), index=True)
    finding_kinds: Mapped[str | None] = mapped_column(String(1024))
    """``,kind,kind,``: the report's finding kinds, for filtering with LIKE."""
    resolved_at: Mapped[datetime | None]
    """When the last of its alerts resolved (``None`` while any still fires)."""


class InvestigationAlertRow(Base):
    """One alert (by fingerprint) an investigation covers, and when it resolved."""

    __tablename__ = "investigation_alerts"

    investigation_id: Mapped[str] = mapped_column(
        ForeignKey("investigations.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    resolved_at: Mapped[datetime | None]
