"""The in-toto Statement v1 of one decision: built from typed facts, parsed back. Pure.

A statement names what it is about (``subject``: the git commit and each report of the bundle,
by digest) and says what Belay decided about it (``predicate``, of Belay's own
:data:`PREDICATE_TYPE`; every field is described in docs/attestations.md). It is serialised as
:func:`canonical_json` (sorted keys, no whitespace, UTF-8), the same form in which the policy is
hashed for ``predicate.policy.sha256``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from belay.attest.errors import AttestationInvalid
from belay.jsonio import dumps, loads

__all__ = [
    "PAYLOAD_TYPE",
    "PREDICATE_TYPE",
    "STATEMENT_TYPE",
    "DataDigest",
    "DecisionFacts",
    "DeploymentTarget",
    "ReportDigest",
    "Statement",
    "Subject",
    "VerdictPredicate",
    "build_statement",
    "canonical_json",
    "parse_statement",
    "policy_digest",
    "public_remote",
]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_TYPE = "https://github.com/HolomuaTech/Belay/blob/main/docs/attestations.md#verdict-v1"
"""Belay's predicate: a gate verdict (version 1). New fields may be added; none is renamed."""


def canonical_json(value: Any) -> bytes:
    """``value`` as JSON with sorted keys and no whitespace, UTF-8 (Belay's canonical form)."""
    return dumps(value, sort_keys=True)


def policy_digest(policy: Mapping[str, Any]) -> str:
    """The hex SHA-256 of a policy's canonical JSON (its effective form, as Belay applied it)."""
    return hashlib.sha256(canonical_json(dict(policy))).hexdigest()


def public_remote(remote: str) -> str:
    """A git remote without credentials (``https://user:tok@host/x`` → ``https://host/x``)."""
    text = remote.strip()
    if "://" not in text:
        return text
    parts = urlsplit(text)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class ReportDigest(_Model):
    """A report of the bundle: its file name and the SHA-256 of its bytes."""

    name: str
    sha256: str


class DataDigest(_Model):
    """A threat-data file the evaluation used (KEV catalog, EPSS scores)."""

    sha256: str
    version: str | None = None


class DeploymentTarget(_Model):
    """The Argo CD application a passing decision deploys."""

    instance: str
    application: str
    project: str | None = None
    app_namespace: str | None = Field(default=None, alias="appNamespace")


class DecisionFacts(_Model):
    """Everything a statement says about one decision, as the intake knows it."""

    decision_id: str
    submission_id: str | None = None
    decided_at: datetime
    decision: Literal["pass", "fail"]
    summary: str
    reasons: tuple[dict[str, str], ...] = ()
    project: str | None = None
    remote: str | None = None
    branch: str | None = None
    commit: str | None = None
    reports: tuple[ReportDigest, ...] = ()
    bundle_name: str | None = None
    bundle_sha256: str | None = None
    policy_name: str | None = None
    policy_sha256: str | None = None
    target: DeploymentTarget | None = None
    sync: dict[str, Any] | None = None
    """The deployment job's sync spec (``None`` when nothing is deployed)."""
    kev: DataDigest | None = None
    epss: DataDigest | None = None
    details_url: str | None = None
    belay_version: str


class Subject(_Model):
    """A statement's subject: a name and its digests (``gitCommit``, ``sha256``)."""

    name: str
    digest: dict[str, str]


class PolicyRef(_Model):
    """The policy that decided: its name in belay.yaml and its canonical digest."""

    name: str | None = None
    sha256: str | None = None


class VerdictPredicate(_Model):
    """Belay's predicate (:data:`PREDICATE_TYPE`)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="allow")

    decision_id: str = Field(alias="decisionId")
    submission_id: str | None = Field(default=None, alias="submissionId")
    decision: Literal["pass", "fail"]
    summary: str
    reasons: tuple[dict[str, str], ...] = ()
    policy: PolicyRef = PolicyRef()
    project: str | None = None
    argocd: DeploymentTarget | None = None
    sync: dict[str, Any] | None = None
    decided_at: datetime = Field(alias="decidedAt")
    belay: dict[str, str] = {}
    data: dict[str, DataDigest | None] = {}
    details_url: str | None = Field(default=None, alias="detailsUrl")


class Statement(_Model):
    """An in-toto Statement v1 carrying a :class:`VerdictPredicate`."""

    type: str = Field(alias="_type")
    subject: tuple[Subject, ...] = Field(min_length=1)
    predicate_type: str = Field(alias="predicateType")
    predicate: VerdictPredicate

    @property
    def commit(self) -> str | None:
        """The ``gitCommit`` digest of the commit subject, if there is one."""
        for subject in self.subject:
            if "gitCommit" in subject.digest:
                return subject.digest["gitCommit"]
        return None


def build_statement(facts: DecisionFacts) -> dict[str, Any]:
    """The statement of ``facts`` as a JSON-ready mapping."""
    subjects: list[dict[str, Any]] = []
    if facts.commit:
        where = public_remote(facts.remote) if facts.remote else "git"
        name = f"{where}@{facts.branch}" if facts.branch else where
        subjects.append({"name": name, "digest": {"gitCommit": facts.commit.lower()}})
    subjects.extend(
        {"name": r.name, "digest": {"sha256": r.sha256}}
        for r in sorted(facts.reports, key=lambda r: r.name)
    )
    if not subjects and facts.bundle_sha256:
        # A bundle that could not be read has no commit and no reports: the bundle itself.
        subjects.append(
            {"name": facts.bundle_name or "bundle", "digest": {"sha256": facts.bundle_sha256}}
        )
    predicate: dict[str, Any] = {
        "decisionId": facts.decision_id,
        "submissionId": facts.submission_id,
        "decision": facts.decision,
        "summary": facts.summary,
        "reasons": [dict(r) for r in facts.reasons],
        "policy": {"name": facts.policy_name, "sha256": facts.policy_sha256},
        "project": facts.project,
        "argocd": facts.target.model_dump(mode="json", by_alias=True) if facts.target else None,
        "sync": facts.sync,
        "decidedAt": _utc_text(facts.decided_at),
        "belay": {"version": facts.belay_version},
        "data": {
            "kev": facts.kev.model_dump(mode="json") if facts.kev else None,
            "epss": facts.epss.model_dump(mode="json") if facts.epss else None,
        },
        "detailsUrl": facts.details_url,
    }
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }


def parse_statement(payload: bytes) -> Statement:
    """A verified payload as a :class:`Statement`; :class:`AttestationInvalid` when it is not
    an in-toto Statement v1 with Belay's predicate."""
    try:
        document = loads(payload)
    except ValueError:
        raise AttestationInvalid("the payload is not JSON") from None
    if not isinstance(document, dict):
        raise AttestationInvalid("the payload is not a JSON object")
    if document.get("_type") != STATEMENT_TYPE:
        raise AttestationInvalid(f"the payload is not an in-toto Statement v1 ({STATEMENT_TYPE})")
    if document.get("predicateType") != PREDICATE_TYPE:
        raise AttestationInvalid(
            f"the predicate type is {str(document.get('predicateType'))[:100]!r}, "
            "not Belay's verdict"
        )
    try:
        return Statement.model_validate(document)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "statement"
        raise AttestationInvalid(f"the statement is malformed: {where}: {first['msg']}") from None
