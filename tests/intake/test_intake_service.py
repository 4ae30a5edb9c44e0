"""The intake service on the in-memory unit of work: what one delivery stores, queues and
audits, without a database or a server (the HTTP and store layers have their own tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.support import DEPLOY_FORM, portage_bundle
from tests.support.fake_uow import FakeStore, as_store

from belay.config.settings import BelaySettings
from belay.intake import AuthResult, Credentials
from belay.policies import packaged_policy
from belay.services import IntakeService
from belay.store import DecisionRecord

REMOTE = "https://gitlab.com/HolomuaTech/belay-portage-gitlab-example-app.git"
COMMIT = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"
T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
FORM = dict(DEPLOY_FORM)
TOKEN = AuthResult(
    method="token", projects=frozenset({"example-app"}), labels=("token_env BELAY_TOKEN",)
)


class Clock:
    """A settable clock for the service."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _settings(tmp_path: Path) -> BelaySettings:
    return BelaySettings.model_validate(
        {
            "database_url": "sqlite://",
            "public_url": "http://belay.test",
            "policies": {"default": str(packaged_policy())},
            "projects": [
                {
                    "name": "example-app",
                    "match": {"remote": REMOTE, "branch": "main"},
                    "token_sha256": ["0" * 64],
                    "argocd": {"instance": "default", "application": "guestbook"},
                    "sync": {"revision": "commit", "prune": True},
                },
                {
                    "name": "other-app",
                    "match": {"remote": "https://gitlab.com/acme/other.git"},
                    "token_sha256": ["1" * 64],
                    "argocd": {"application": "other"},
                },
            ],
            "base_dir": str(tmp_path),
        }
    )


@pytest.fixture
def fake() -> FakeStore:
    return FakeStore()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(tmp_path: Path, fake: FakeStore, clock: Clock) -> IntakeService:
    return IntakeService(
        settings=_settings(tmp_path), store=as_store(fake), credentials=Credentials(), clock=clock
    )


def _bundle(commit: str = COMMIT, *, failing: bool = False, remote: str = REMOTE) -> bytes:
    return portage_bundle(commit=commit, remote=remote, created_at=T0, failing=failing)


def test_a_pass_stores_its_decision_and_queues_one_job(
    service: IntakeService, fake: FakeStore
) -> None:
    """200 + pass; submission, decision, job and three audit events in one commit; the job
    deploys the commit to the mapped application, and the hooks are called once each."""
    queued: list[None] = []
    decided: list[DecisionRecord] = []
    service.on_job_queued = lambda: queued.append(None)
    service.on_decision = decided.append
    response = service.submit(auth=TOKEN, form=FORM, bundle_bytes=_bundle(), bundle_name="b")
    assert response.status_code == 200 and not response.duplicate
    assert response.body["verdict"]["decision"] == "pass"
    stored = fake.committed
    [submission] = stored.submissions.values()
    assert submission.id == response.submission_id
    assert (submission.project, submission.commit_sha, submission.state) == (
        "example-app",
        COMMIT,
        "decided",
    )
    decision = stored.decisions[submission.decision_id or ""]
    assert (decision.decision, decision.application, decision.revision) == (
        "pass",
        "guestbook",
        COMMIT,
    )
    [job] = stored.jobs.values()
    assert (job.decision_id, job.application, job.revision, job.state) == (
        decision.id,
        "guestbook",
        COMMIT,
        "queued",
    )
    assert job.spec["revision"] == COMMIT and job.actor == "gate:example-app"
    kinds = [e.kind for e in stored.audit]
    assert kinds == ["submission.received", "verdict.decided", "job.queued"]
    assert {e.submission_id for e in stored.audit} == {submission.id}
    assert (
        stored.audit[1].actor == "belay" and stored.audit[0].actor == "token:token_env BELAY_TOKEN"
    )
    assert len(queued) == 1 and [d.id for d in decided] == [decision.id]
    assert fake.commits == 1


def test_a_fail_is_stored_without_a_job(service: IntakeService, fake: FakeStore) -> None:
    """A failing bundle is answered 200 + fail; the decision is stored, nothing is queued."""
    queued: list[None] = []
    service.on_job_queued = lambda: queued.append(None)
    response = service.submit(
        auth=TOKEN, form=FORM, bundle_bytes=_bundle(failing=True), bundle_name="b"
    )
    assert response.status_code == 200
    assert response.body["verdict"]["decision"] == "fail"
    [decision] = fake.committed.decisions.values()
    assert decision.decision == "fail"
    assert fake.committed.jobs == {} and queued == []
    assert [e.kind for e in fake.committed.audit] == ["submission.received", "verdict.decided"]


def test_the_same_delivery_again_is_answered_from_the_store(
    service: IntakeService, fake: FakeStore, clock: Clock
) -> None:
    """A replay (same project, commit and reports) gets the stored verdict, marked duplicate;
    it stores and queues nothing more."""
    data = _bundle()
    first = service.submit(auth=TOKEN, form=FORM, bundle_bytes=data, bundle_name="b")
    clock.now = T0 + timedelta(minutes=5)
    again = service.submit(auth=TOKEN, form=FORM, bundle_bytes=data, bundle_name="b")
    assert again.status_code == 200 and again.duplicate
    assert again.submission_id == first.submission_id
    assert again.body == first.body
    assert len(fake.committed.submissions) == 1 and len(fake.committed.jobs) == 1
    assert len(fake.committed.audit) == 3


def test_a_webhook_id_reused_for_other_content_is_refused(
    service: IntakeService, fake: FakeStore
) -> None:
    """The same Standard Webhooks id with other reports is 422 and stores nothing."""
    signed = AuthResult(
        method="standard-webhooks",
        projects=frozenset({"example-app"}),
        labels=("webhook_secret_env W",),
        webhook_id="msg_1",
    )
    first = service.submit(auth=signed, form=FORM, bundle_bytes=_bundle(), bundle_name="b")
    assert first.status_code == 200
    other = service.submit(
        auth=signed, form=FORM, bundle_bytes=_bundle(failing=True), bundle_name="b"
    )
    assert other.status_code == 422
    assert "already used for different content" in other.body["error"]
    assert len(fake.committed.submissions) == 1 and len(fake.committed.decisions) == 1


def test_a_newer_pass_supersedes_the_queued_job(
    service: IntakeService, fake: FakeStore, clock: Clock
) -> None:
    """A second passing commit of the application supersedes the first one's queued job, and
    its job.queued event names the superseded job."""
    service.submit(auth=TOKEN, form=FORM, bundle_bytes=_bundle(), bundle_name="b")
    [older] = fake.committed.jobs.values()
    clock.now = T0 + timedelta(seconds=1)
    service.submit(auth=TOKEN, form=FORM, bundle_bytes=_bundle("2" * 40), bundle_name="b")
    jobs = {j.revision: j for j in fake.committed.jobs.values()}
    assert jobs[COMMIT].state == "superseded"
    assert jobs[COMMIT].error == f"superseded by job {jobs['2' * 40].id}"
    assert jobs["2" * 40].state == "queued"
    [last] = [e for e in fake.committed.audit if e.kind == "job.queued"][-1:]
    assert last.data["superseded_jobs"] == [older.id]


def test_a_project_the_credential_may_not_submit_for_is_refused_and_audited(
    service: IntakeService, fake: FakeStore
) -> None:
    """403: nothing stored but one intake.refused event naming the credential."""
    other = AuthResult(method="token", projects=frozenset({"other-app"}), labels=("token_env O",))
    response = service.submit(auth=other, form=FORM, bundle_bytes=_bundle(), bundle_name="b")
    assert response.status_code == 403
    assert fake.committed.submissions == {} and fake.committed.decisions == {}
    [event] = fake.committed.audit
    assert (event.kind, event.actor, event.data["status"]) == (
        "intake.refused",
        "token:token_env O",
        403,
    )


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"status": "success"}, "field 'action' is missing"),
        ({"action": "deploy", "status": "failed"}, "field 'status' must be 'success'"),
        ({**FORM, "validation": "maybe"}, "field 'validation' must be 'passed' or 'failed'"),
    ],
)
def test_a_bad_form_is_400_and_touches_nothing(
    service: IntakeService, fake: FakeStore, form: dict[str, str], message: str
) -> None:
    """The form is checked first: no unit of work commits."""
    response = service.submit(auth=TOKEN, form=form, bundle_bytes=_bundle(), bundle_name="b")
    assert response.status_code == 400
    assert response.body["error"].startswith(message)
    assert fake.commits == 0


def test_an_unreadable_bundle_fails_and_is_not_kept(
    service: IntakeService, fake: FakeStore
) -> None:
    """Bytes that are no bundle: a stored fail without a manifest, and no copy of the bytes."""
    response = service.submit(auth=TOKEN, form=FORM, bundle_bytes=b"not a tarball", bundle_name="b")
    assert response.status_code == 200
    assert response.body["verdict"]["decision"] == "fail"
    [submission] = fake.committed.submissions.values()
    assert submission.manifest is None and submission.commit_sha is None
    assert fake.committed.bundles == {} and fake.committed.jobs == {}


def test_a_failing_decision_hook_does_not_fail_the_delivery(
    service: IntakeService, fake: FakeStore
) -> None:
    """on_decision raising (an alert channel down) leaves the stored verdict and the answer."""

    def broken(_decision: DecisionRecord) -> None:
        raise RuntimeError("alert channel down")

    service.on_decision = broken
    response = service.submit(auth=TOKEN, form=FORM, bundle_bytes=_bundle(), bundle_name="b")
    assert response.status_code == 200
    assert len(fake.committed.decisions) == 1 and len(fake.committed.jobs) == 1
