"""The facts of one judgement, gathered from the gate's typed values into :class:`DecisionFacts`.

Pure: the intake passes what it judged (verdict, bundle, effective policy, threat data, target,
sync spec) and gets the typed facts a statement is built from. Report digests are computed from
the bundle's bytes, not copied from its manifest.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from belay.attest.statement import (
    DataDigest,
    DecisionFacts,
    DeploymentTarget,
    ReportDigest,
    policy_digest,
)
from belay.config import ArgoCDTarget
from belay.gate import Bundle, Intel, Policy, Verdict

__all__ = ["decision_facts"]


def decision_facts(
    *,
    decision_id: str,
    submission_id: str | None,
    decided_at: datetime,
    verdict: Verdict,
    project: str | None,
    remote: str | None,
    branch: str | None,
    commit: str | None,
    bundle: Bundle | None,
    bundle_name: str | None,
    bundle_sha256: str | None,
    policy_name: str | None,
    policy: Policy | None,
    intel: Intel | None,
    target: ArgoCDTarget | None,
    sync: dict[str, Any] | None,
    belay_version: str,
) -> DecisionFacts:
    """The facts of one decision, ready for :func:`belay.attest.statement.build_statement`."""
    reports = (
        tuple(
            ReportDigest(name=label, sha256=hashlib.sha256(data).hexdigest())
            for label, data in bundle.report_entries()
        )
        if bundle is not None
        else ()
    )
    kev = epss = None
    if intel is not None and intel.kev_sha256:
        version = intel.kev.version if intel.kev is not None else ""
        kev = DataDigest(sha256=intel.kev_sha256, version=version or None)
    if intel is not None and intel.epss_sha256:
        version = intel.epss.score_date if intel.epss is not None else ""
        epss = DataDigest(sha256=intel.epss_sha256, version=version or None)
    return DecisionFacts(
        decision_id=decision_id,
        submission_id=submission_id,
        decided_at=decided_at,
        decision=verdict.decision,
        summary=verdict.summary,
        reasons=tuple(r.brief() for r in verdict.reasons),
        project=project,
        remote=remote,
        branch=branch,
        commit=commit,
        reports=reports,
        bundle_name=bundle_name,
        bundle_sha256=bundle_sha256,
        policy_name=policy_name,
        policy_sha256=policy_digest(policy.model_dump(mode="json")) if policy else None,
        target=DeploymentTarget(
            instance=target.instance,
            application=target.application,
            project=target.project,
            app_namespace=target.app_namespace,
        )
        if target is not None
        else None,
        sync=sync,
        kev=kev,
        epss=epss,
        details_url=verdict.details_url,
        belay_version=belay_version,
    )
