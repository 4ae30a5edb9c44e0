"""Manual syncs on the in-memory unit of work: what ``belay sync`` queues and audits, and what
the gate says about it, without a database (the CLI has its own tests in tests/cli)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
from tests.support.fake_uow import FakeStore, as_store

from belay.config.errors import ConfigError
from belay.config.settings import BelaySettings
from belay.deploy.manual import queue_manual_sync
from belay.deploy.permit import GateOverride, check_manual_sync
from belay.store import DecisionRecord, new_id

COMMIT = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"
T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _settings(*projects: dict[str, Any]) -> BelaySettings:
    return BelaySettings.model_validate({"database_url": "sqlite://", "projects": list(projects)})


GUESTBOOK = {
    "name": "example-app",
    "match": {"remote": "https://gitlab.com/acme/guestbook.git"},
    "argocd": {
        "instance": "prod",
        "application": "guestbook",
        "project": "web",
        "appNamespace": "apps",
    },
    "sync": {"revision": "commit", "prune": True},
}


def _decision(
    decision: Literal["pass", "fail"], revision: str, *, at: datetime = T0
) -> DecisionRecord:
    return DecisionRecord(
        id=new_id(),
        submission_id=new_id(),
        decided_at=at,
        decision=decision,
        application="guestbook",
        revision=revision,
        verdict={"verdict": {"decision": decision, "summary": f"{decision} summary"}},
    )


def _stored(fake: FakeStore, *decisions: DecisionRecord) -> None:
    with fake.unit_of_work() as uow:
        for decision in decisions:
            uow.decisions.add(decision)
        uow.commit()


def test_a_mapped_application_is_queued_with_its_projects_target_and_options() -> None:
    """Instance, Argo CD project and namespace come from the mapping, the sync options from the
    project with the given revision pinned; one sync.manual_requested event names the person."""
    fake = FakeStore()
    job = queue_manual_sync(
        as_store(fake), _settings(GUESTBOOK), application="guestbook", revision=COMMIT, actor="ann"
    )
    assert fake.committed.jobs == {job.id: job}
    assert (job.instance, job.argocd_project, job.app_namespace) == ("prod", "web", "apps")
    assert (job.actor, job.revision, job.decision_id, job.state) == (
        "manual:ann",
        COMMIT,
        None,
        "queued",
    )
    assert job.spec["revision"] == COMMIT and job.spec["prune"] is True
    [event] = fake.committed.audit
    assert (event.kind, event.actor, event.project, event.job_id) == (
        "sync.manual_requested",
        "manual:ann",
        "example-app",
        job.id,
    )
    assert event.data == {"sync": job.spec}


def test_an_unmapped_application_goes_to_the_given_or_default_instance() -> None:
    """No project maps it: default options, the instance asked for (else ``default``)."""
    fake = FakeStore()
    plain = queue_manual_sync(
        as_store(fake), _settings(), application="other", revision=None, actor="bob"
    )
    there = queue_manual_sync(
        as_store(fake), _settings(), application="other", revision=None, actor="bob", instance="eu"
    )
    assert (plain.instance, there.instance) == ("default", "eu")
    assert plain.argocd_project is None and plain.app_namespace is None
    assert plain.spec["revision"] is None and plain.spec["revision_mode"] == "HEAD"
    assert [e.project for e in fake.committed.audit] == [None, None]


def test_an_application_mapped_twice_needs_the_instance() -> None:
    """Two projects map the application: a ConfigError and nothing queued; --instance picks."""
    other = {
        **GUESTBOOK,
        "name": "example-eu",
        "argocd": {"instance": "eu", "application": "guestbook"},
    }
    settings = _settings(GUESTBOOK, other)
    fake = FakeStore()
    with pytest.raises(ConfigError, match="mapped by several projects"):
        queue_manual_sync(
            as_store(fake), settings, application="guestbook", revision=COMMIT, actor="ann"
        )
    assert fake.commits == 0
    job = queue_manual_sync(
        as_store(fake),
        settings,
        application="guestbook",
        revision=COMMIT,
        actor="ann",
        instance="eu",
    )
    assert job.instance == "eu" and fake.committed.audit[0].project == "example-eu"


def test_an_override_is_audited_with_the_job_and_the_overridden_decision() -> None:
    """A failed commit synced anyway: the job and a sync.override event linked to the decision,
    committed together."""
    fake = FakeStore()
    failed = _decision("fail", COMMIT)
    _stored(fake, failed)
    permit = check_manual_sync(as_store(fake), application="guestbook", revision=COMMIT)
    assert permit.gate == "fail" and permit.decision == failed
    override = GateOverride(actor="manual:ann", reason="hotfix for outage", permit=permit)
    commits = fake.commits
    job = queue_manual_sync(
        as_store(fake),
        _settings(GUESTBOOK),
        application="guestbook",
        revision=COMMIT,
        actor="ann",
        override=override,
    )
    assert fake.commits == commits + 1
    kinds = [e.kind for e in fake.committed.audit]
    assert kinds == ["sync.manual_requested", "sync.override"]
    event = fake.committed.audit[1]
    assert (event.job_id, event.decision_id, event.submission_id) == (
        job.id,
        failed.id,
        failed.submission_id,
    )
    assert event.data["reason"] == "hotfix for outage" and event.data["gate"] == "fail"


def test_the_gate_answers_from_the_newest_decision_and_asks_for_more_of_a_prefix() -> None:
    """The newest decision about the commit is the gate's word; a prefix that matches two
    judged commits is unchecked; a commit never judged is ``none``."""
    fake = FakeStore()
    other = COMMIT[:8] + "0" * 32
    _stored(
        fake,
        _decision("fail", COMMIT, at=T0),
        _decision("pass", COMMIT, at=T0 + timedelta(minutes=1)),
        _decision("pass", other),
    )
    store = as_store(fake)
    full = check_manual_sync(store, application="guestbook", revision=COMMIT)
    assert full.gate == "pass" and full.decision is not None and full.decision.decided_at > T0
    ambiguous = check_manual_sync(store, application="guestbook", revision=COMMIT[:8])
    assert ambiguous.gate == "unchecked" and "matches 2 judged commits" in ambiguous.reason
    unique = check_manual_sync(store, application="guestbook", revision=COMMIT[:12])
    assert unique.gate == "pass" and unique.revision == COMMIT
    never = check_manual_sync(store, application="guestbook", revision="a" * 40)
    assert never.gate == "none"
    assert fake.commits == 1  # reading wrote nothing
