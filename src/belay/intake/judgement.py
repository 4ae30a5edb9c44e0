"""The judgement of one bundle for one project: pure, shared by the intake and policy replays.

The intake judges a delivery as it arrives; ``belay policy whatif`` judges the stored copy again
under a candidate policy, at the original decision's time and with the threat data it used. Both
call :func:`judge_bundle`, so a replay can only differ where the policy (or the data) does.
"""

from __future__ import annotations

from datetime import datetime

from belay.config import IntakeSettings, ProjectSettings
from belay.gate import (
    Bundle,
    BundleLimits,
    EvaluationContext,
    Intel,
    Policy,
    Reason,
    Verdict,
    evaluate,
    make_verdict,
    submission_from_bundle,
)

__all__ = ["bundle_limits", "judge_bundle", "unmapped", "unreadable_bundle"]


def bundle_limits(intake: IntakeSettings) -> BundleLimits:
    """The bundle reader's limits as ``belay.yaml``'s ``intake`` sets them."""
    return BundleLimits(
        max_compressed_bytes=intake.max_body_bytes,
        max_total_bytes=intake.max_inflated_bytes,
        max_entry_bytes=intake.max_entry_bytes,
        max_entries=intake.max_bundle_files,
        max_json_depth=intake.max_json_depth,
    )


def unreadable_bundle(problem: str, *, details_url: str | None) -> Verdict:
    """The verdict for an upload that could not be read as a bundle."""
    rule = "bundle.digest" if "digest" in problem else "bundle.manifest"
    return make_verdict(
        [Reason(rule=rule, status="fail", message=problem)], details_url=details_url
    )


def unmapped(reason: str, *, details_url: str | None) -> Verdict:
    """The verdict for a bundle that maps to no project."""
    return make_verdict(
        [Reason(rule="mapping", status="fail", message=f"{reason}; nothing will be synced")],
        details_url=details_url,
    )


def judge_bundle(
    bundle: Bundle,
    *,
    project: ProjectSettings,
    policy: Policy,
    intel: Intel,
    commit: str | None,
    branch: str | None,
    now: datetime,
    details_url: str | None,
) -> Verdict:
    """Judge ``bundle`` for ``project`` under ``policy`` at ``now``."""
    # In commit mode the bundle's own commit is what will be synced: "" when it names none,
    # so the judgement fails it rather than sync whatever a missing revision means.
    deploy_commit = (commit or "") if project.sync.revision == "commit" else None
    deploy_ref = (
        None
        if deploy_commit is not None
        else (branch if project.sync.revision == "branch" else project.sync.revision)
    )
    context = EvaluationContext(
        now=now,
        deploy_commit=deploy_commit,
        deploy_ref=deploy_ref,
        intel=intel,
        details_url=details_url,
    )
    verdict = evaluate(submission_from_bundle(bundle), policy, context)
    if project.argocd is None and verdict.decision == "pass":
        reasons = [
            *verdict.reasons,
            Reason(
                rule="mapping",
                status="fail",
                message=f"project {project.name} has no Argo CD application",
            ),
        ]
        return make_verdict(reasons, details_url=details_url)
    return verdict
