"""The worker's comparison of a job and its decision row with the signed statement, by field."""

from __future__ import annotations

from typing import Any

import pytest

from belay.attest import AttestationInvalid, DeploymentClaim, Keyring, check_job
from belay.attest import verify_attestation as verify

from .helpers import COMMIT, SYNC, new_key, signed

KEY = new_key()
STATEMENT = verify(signed(KEY), Keyring.of([KEY.public])).statement


def _claim(**changes: Any) -> DeploymentClaim:
    values: dict[str, Any] = {
        "decision_id": "d-1",
        "decision": "pass",
        "decision_revision": COMMIT,
        "decision_project": "guestbook",
        "decision_instance": "default",
        "decision_application": "guestbook",
        "job_instance": "default",
        "job_application": "guestbook",
        "job_project": "default",
        "job_app_namespace": None,
        "job_revision": COMMIT,
        "job_spec": dict(SYNC),
    }
    values.update(changes)
    return DeploymentClaim.model_validate(values)


def test_an_unchanged_job_passes() -> None:
    """The job and row as the intake wrote them match the statement (commit case aside)."""
    check_job(STATEMENT, _claim())
    check_job(STATEMENT, _claim(job_revision=COMMIT.upper()))


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"decision_id": "d-2"}, "decision id"),
        ({"decision": "fail"}, "decision"),
        ({"decision_revision": "a" * 40}, "decision revision"),
        ({"job_revision": "a" * 40}, "job revision"),
        ({"decision_project": "other"}, "project"),
        ({"decision_application": "prod-db"}, "decision application"),
        ({"job_application": "prod-db"}, "job application"),
        ({"job_instance": "prod"}, "job instance"),
        ({"job_project": "admin"}, "job Argo CD project"),
        ({"job_app_namespace": "kube-system"}, "job app namespace"),
        ({"job_spec": {**SYNC, "revision": "a" * 40}}, "sync spec"),
        ({"job_spec": {**SYNC, "prune": False}}, "sync spec"),
    ],
)
def test_each_changed_field_is_refused(change: dict[str, Any], named: str) -> None:
    """A job or decision row that differs from the signature in one field is refused by name."""
    with pytest.raises(AttestationInvalid, match=named):
        check_job(STATEMENT, _claim(**change))


def test_a_signed_fail_is_never_deployed() -> None:
    """Even an untouched job for a signed 'fail' is refused (a job inserted beside it)."""
    failing = verify(signed(KEY, decision="fail"), Keyring.of([KEY.public])).statement
    with pytest.raises(AttestationInvalid, match="not 'pass'"):
        check_job(failing, _claim(decision="fail"))


def test_a_decision_without_target_or_sync_is_refused() -> None:
    """A signed decision that deploys nothing (no target, no sync spec) cannot back a job."""
    bare = verify(signed(KEY, target=None, sync=None), Keyring.of([KEY.public])).statement
    with pytest.raises(AttestationInvalid, match="names no Argo CD application"):
        check_job(bare, _claim())
