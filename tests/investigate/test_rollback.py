"""The rollback candidate: the previous revision of an unhealthy app, its gate, its command."""

from __future__ import annotations

from datetime import UTC, datetime

from belay.investigate.models import GateDecision
from belay.investigate.rollback import rollback_candidate
from belay.investigate.status import summarize_application

from .conftest import SHA_NEW, SHA_OLD, build_app

DECIDED = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


def test_degraded_app_names_the_previous_revision_and_its_gate() -> None:
    """The newest different revision, whether it passed, and a pasteable belay sync command."""
    status = summarize_application(build_app(health="Degraded"), instance="prod")
    passed = GateDecision(id="d-1", revision=SHA_OLD, decision="pass", decided_at=DECIDED)
    candidate = rollback_candidate(status, failed_sync=False, decisions=(passed,))
    assert candidate is not None
    assert candidate.revision == SHA_OLD and candidate.gate == "pass"
    assert candidate.decision_id == "d-1"
    assert candidate.command == f"belay sync checkout --revision {SHA_OLD} --instance prod"


def test_gate_states() -> None:
    """No decision is 'none'; a store not consulted is 'unknown'; a failed one is 'fail'."""
    status = summarize_application(build_app(health="Degraded"), instance="default")
    none = rollback_candidate(status, failed_sync=False, decisions=())
    unknown = rollback_candidate(status, failed_sync=False, decisions=None)
    failed = GateDecision(id="d-2", revision=SHA_OLD, decision="fail", decided_at=DECIDED)
    fail = rollback_candidate(status, failed_sync=False, decisions=(failed,))
    assert (none and none.gate, unknown and unknown.gate, fail and fail.gate) == (
        "none",
        "unknown",
        "fail",
    )


def test_no_candidate_for_a_healthy_app_or_a_single_revision() -> None:
    """Healthy apps need no rollback; an app with one revision in its history has none."""
    healthy = summarize_application(build_app(), instance="default")
    assert rollback_candidate(healthy, failed_sync=False, decisions=None) is None
    single = summarize_application(
        build_app(health="Degraded", history=[(SHA_NEW, "2026-05-01T09:00:00Z")]),
        instance="default",
    )
    assert rollback_candidate(single, failed_sync=True, decisions=None) is None
    failed_sync = summarize_application(build_app(), instance="default")
    assert rollback_candidate(failed_sync, failed_sync=True, decisions=None) is not None
