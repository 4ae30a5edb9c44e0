"""Shared pieces of the alerting tests: jobs with decisions, the worker."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from belay.argocd import ArgoCDClient
from belay.config.settings import SyncSettings, WorkerSettings
from belay.deploy.spec import SyncSpec
from belay.sim.sample import sample_state
from belay.sim.testing import RunningSimulator
from belay.store import DecisionRecord, JobRecord, Store, SubmissionRecord, new_id

APP = "guestbook"
FAST = WorkerSettings(
    lease_seconds=5, poll_interval_seconds=0.02, backoff_base_seconds=0.01, backoff_max_seconds=0.05
)


def sha(n: int) -> str:
    """A distinct 40-hex commit SHA for job ``n``."""
    return f"{n:08x}" + "1f2e3d4c5b6a79881f2e3d4c5b6a7988"


def state(**behavior: Any) -> dict[str, Any]:
    """The sample state with a fast sync behaviour for the app."""
    s = sample_state()
    s["syncBehavior"] = {APP: {"seconds": 0.05, **behavior}}
    return s


def admin_clients(sim: RunningSimulator, **auth: Any) -> Any:
    """A worker client factory logging in as admin (or with ``auth``)."""
    credentials = auth or {"username": "admin", "password": "admin"}

    def factory(_instance: str) -> AbstractContextManager[ArgoCDClient]:
        return ArgoCDClient(sim.url, timeout=5.0, **credentials)

    return factory


def enqueue(
    store: Store,
    *,
    revision: str,
    application: str = APP,
    timeout: float = 10.0,
    with_decision: bool = True,
    **sync: Any,
) -> JobRecord:
    """Queue a job (with a passing decision and its submission, as the intake would)."""
    spec = SyncSpec.from_settings(
        SyncSettings.model_validate({"timeoutSeconds": timeout, **sync}),
        commit=revision,
        branch="main",
    )
    now = datetime.now(UTC)
    with store.unit_of_work() as uow:
        decision_id = None
        if with_decision:
            submission_id = new_id()
            uow.submissions.add(
                SubmissionRecord(
                    id=submission_id,
                    received_at=now,
                    idempotency_key=new_id(),
                    content_digest="0" * 64,
                    state="decided",
                    commit_sha=revision,
                )
            )
            decision_id = new_id()
            uow.decisions.add(
                DecisionRecord(
                    id=decision_id,
                    submission_id=submission_id,
                    decided_at=now,
                    decision="pass",
                    application=application,
                    instance="default",
                    revision=revision,
                    verdict={"decision": "pass", "summary": "ok"},
                )
            )
        job = uow.jobs.enqueue(
            instance="default",
            application=application,
            spec=spec.model_dump(mode="json"),
            actor="test",
            revision=revision,
            decision_id=decision_id,
            argocd_project="default",
            now=now,
        )
        uow.commit()
    return job


def syncs_for(sim: RunningSimulator, job_id: str) -> list[Any]:
    """Accepted sync requests carrying ``job_id`` as Belay's marker."""
    return [
        r
        for r in sim.requests()
        if r.method == "POST"
        and r.path.endswith("/sync")
        and r.status == 200
        and {"name": "belay-job", "value": job_id} in (r.body or {}).get("infos", [])
    ]


def audit_kinds(store: Store, **filters: Any) -> list[str]:
    """The audit trail's event kinds, in order."""
    with store.unit_of_work() as uow:
        return [e.kind for e in uow.audit.list(**filters)]
