"""The store's read models and its duplicate-key error, on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from belay.store import (
    DecisionRecord,
    DuplicateKey,
    NewAuditEvent,
    Store,
    SubmissionRecord,
    UnitOfWork,
    new_id,
)
from belay.vocab import OUTCOME_STATES, AuditKind, JobState

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def _judged(
    uow: UnitOfWork, key: str, *, commit: str, decision: str | None, at: datetime
) -> str | None:
    """Store a submission (decided when ``decision`` is given); its decision's id."""
    sub = SubmissionRecord(
        id=new_id(),
        received_at=at,
        idempotency_key=key,
        content_digest="d" * 64,
        project="shop",
        commit_sha=commit,
        state="judging",
    )
    uow.submissions.add(sub)
    if decision is None:
        return None
    record = DecisionRecord(
        id=new_id(),
        submission_id=sub.id,
        decided_at=at,
        decision=decision,
        application="cart",
        revision=commit,
        verdict={"decision": decision},
    )
    uow.decisions.add(record)
    uow.submissions.set_decision(sub.id, record.id)
    return record.id


def _job(uow: UnitOfWork, decision_id: str, *, at: datetime, ends: JobState | None) -> None:
    """Queue a job for the decision; claim and end it in ``ends`` when given."""
    job = uow.jobs.enqueue(
        instance="prod", application="cart", spec={}, actor="t", now=at, decision_id=decision_id
    )
    if ends is None:
        return
    claimed = uow.jobs.claim(worker_id="w", lease=LEASE, now=at)
    assert claimed is not None and claimed.id == job.id
    assert uow.jobs.finish(job.id, worker_id="w", state=ends, now=at + timedelta(seconds=90))


def test_submission_list_joins_verdict_and_latest_job(store: Store) -> None:
    """Each row carries its verdict and its newest job's state; the filters select on them."""
    with store.unit_of_work() as uow:
        deployed = _judged(uow, "k1", commit="a" * 40, decision="pass", at=T0)
        refused = _judged(uow, "k2", commit="b" * 40, decision="fail", at=T0 + timedelta(1))
        _judged(uow, "k3", commit="c" * 40, decision=None, at=T0 + timedelta(2))
        assert deployed is not None and refused is not None
        _job(uow, deployed, at=T0, ends=JobState.failed)
        _job(uow, deployed, at=T0 + timedelta(minutes=5), ends=JobState.succeeded)
        uow.commit()
    with store.unit_of_work() as uow:
        rows = uow.read_models.submissions(limit=10)
        assert [(r.commit, r.decision, r.deployment) for r in rows] == [
            ("c" * 40, None, "none"),
            ("b" * 40, "fail", "none"),
            ("a" * 40, "pass", JobState.succeeded),
        ]
        assert rows[2].deployment_finished_at is not None
        by_state = uow.read_models.submissions(limit=10, deployment=JobState.succeeded)
        assert [r.commit for r in by_state] == ["a" * 40]
        assert uow.read_models.submissions(limit=10, deployment=JobState.failed) == []
        no_job = uow.read_models.submissions(limit=10, deployment="none", verdict="fail")
        assert [r.commit for r in no_job] == ["b" * 40]
        assert [r.commit for r in uow.read_models.submissions(limit=10, commit="bbbb")] == [
            "b" * 40
        ]
        assert len(uow.read_models.submissions(limit=2)) == 2


def test_counts_and_ended_jobs(store: Store) -> None:
    """The metrics' counts and the ended jobs come from one read each."""
    with store.unit_of_work() as uow:
        passed = _judged(uow, "k1", commit="a" * 40, decision="pass", at=T0)
        _judged(uow, "k2", commit="b" * 40, decision=None, at=T0)
        assert passed is not None
        _job(uow, passed, at=T0, ends=JobState.timed_out)
        _job(uow, passed, at=T0 + timedelta(minutes=1), ends=None)
        uow.audit.append(NewAuditEvent(kind=AuditKind.sync_busy, actor="t"), now=T0)
        uow.audit.append(NewAuditEvent(kind=AuditKind.sync_found, actor="t"), now=T0)
        uow.commit()
    with store.unit_of_work() as uow:
        counts = uow.read_models.counts(audit_kinds=[AuditKind.sync_busy, AuditKind.sync_refused])
        ended = uow.read_models.ended_jobs(states=OUTCOME_STATES, since=None)
        later = uow.read_models.ended_jobs(states=OUTCOME_STATES, since=T0 + timedelta(hours=1))
    assert counts.verdicts == {"pass": 1}
    assert counts.judging == 1
    assert counts.jobs == {"timed_out": 1, "queued": 1}
    assert counts.oldest_queued_at == T0 + timedelta(minutes=1)
    assert counts.audit_kinds == {"sync.busy": 1}
    assert [(j.state, j.finished_at - j.created_at) for j in ended] == [
        (JobState.timed_out, timedelta(seconds=90))
    ]
    assert later == []


def test_a_second_row_under_a_unique_key_is_duplicate_key(store: Store) -> None:
    """A job id stored twice raises the store's DuplicateKey, naming the key, and keeps nothing
    of the second write."""
    with store.unit_of_work() as uow:
        uow.jobs.enqueue(instance="i", application="a", spec={}, actor="t", now=T0, job_id="j1")
        uow.commit()
    with store.unit_of_work() as uow:
        with pytest.raises(DuplicateKey) as info:
            uow.jobs.enqueue(instance="i", application="b", spec={}, actor="t", now=T0, job_id="j1")
        assert info.value.key
    with store.unit_of_work() as uow:
        job = uow.jobs.get("j1")
        assert job is not None and job.application == "a"


def test_job_states_read_back_as_the_vocabulary(store: Store) -> None:
    """A stored job's state comes back as a JobState that is still its plain string."""
    with store.unit_of_work() as uow:
        uow.jobs.enqueue(instance="i", application="a", spec={}, actor="t", now=T0, job_id="j1")
        uow.commit()
    with store.unit_of_work() as uow:
        job = uow.jobs.get("j1")
        assert uow.jobs.list(states=[JobState.queued]) == [job]
    assert job is not None and job.state is JobState.queued and job.state == "queued"
