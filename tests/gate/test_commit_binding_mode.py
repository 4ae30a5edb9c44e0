"""commit.binding when the project syncs HEAD or a branch instead of the scanned commit."""

from __future__ import annotations

from datetime import UTC, datetime

from belay.gate import (
    EvaluationContext,
    evaluate,
    load_policy,
    read_bundle,
    submission_from_bundle,
    write_bundle,
)
from belay.gate.samples import sample_reports
from belay.policies import packaged_policy

COMMIT = "4" * 40


def _reason(context: EvaluationContext) -> tuple[str, str]:
    now = context.now
    data = write_bundle(
        sample_reports(now), created_at=now, commit=COMMIT, branch="main", remote="https://x/y.git"
    )
    verdict = evaluate(
        submission_from_bundle(read_bundle(data, "b.tar.gz")),
        load_policy(packaged_policy()),
        context,
    )
    reason = next(r for r in verdict.reasons if r.rule == "commit.binding")
    return reason.status, reason.message


def test_head_mode_names_the_mode_and_the_fix() -> None:
    """Syncing HEAD cannot be bound to the scanned commit: the reason says why and what to change."""
    status, message = _reason(EvaluationContext(now=datetime.now(UTC), deploy_ref="HEAD"))
    assert status == "fail"
    assert "syncs HEAD" in message
    assert COMMIT in message
    assert "commitBinding" in message


def test_commit_mode_passes() -> None:
    """Syncing the scanned commit passes the binding."""
    status, _ = _reason(EvaluationContext(now=datetime.now(UTC), deploy_commit=COMMIT))
    assert status == "pass"
