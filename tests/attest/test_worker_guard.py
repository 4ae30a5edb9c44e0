"""The worker refuses a decision changed in the database: real intake, worker, simulator, store.

Each case submits a bundle over HTTP to a signing Belay, changes rows the way someone with write
access to the database could, then runs the worker as ``belay serve`` builds it. Nothing may
reach Argo CD, and the refusal is audited and alerted. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, update
from tests.support import bearer, guestbook_settings, portage_bundle, submit_for_verdict

from belay.attest import Attestor, write_key_pair
from belay.attest.keyfiles import PRIVATE_KEY_NAME
from belay.bootstrap import Services, build_services, decision_check
from belay.config.settings import BelaySettings
from belay.deploy.spec import SyncSpec
from belay.deploy.worker import Worker
from belay.sim.sample import sample_state
from belay.sim.testing import RunningSimulator, running_simulator
from belay.store import JobRecord
from belay.store.tables import AttestationRow, DecisionRow, JobRow
from belay.web import create_app, serve_in_thread

from .helpers import new_key

REMOTE = "https://gitlab.com/acme/guestbook.git"
TOKEN = "guard-token-7Hq2"
GOOD = "7c1e9a2b5d3f4e6a8b0c1d2e3f4a5b6c7d8e9f01"
OTHER = "e5f4d3c2b1a09f8e7d6c5b4a3928170f6e5d4c3b"


def _settings(database_url: str, tmp_path: Path) -> BelaySettings:
    write_key_pair(tmp_path / "keys")
    return guestbook_settings(
        database_url,
        tmp_path,
        remote=REMOTE,
        token=TOKEN,
        signing_key_file=f"keys/{PRIVATE_KEY_NAME}",
    )


@pytest.fixture
def gate(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Services, RunningSimulator]]:
    """A signing Belay (HTTP intake, no worker running) and the simulator."""
    state = sample_state()
    state["syncBehavior"] = {"guestbook": {"seconds": 0.05, "health": "Healthy"}}
    with running_simulator(state) as sim:
        environ = {
            "ARGOCD_BASE_URL": sim.url,
            "ARGOCD_USERNAME": "admin",
            "ARGOCD_PASSWORD": "admin",
        }
        services = build_services(_settings(database_url, tmp_path), environ=environ)
        try:
            with serve_in_thread(create_app(services)) as url:
                yield url, services, sim
        finally:
            services.close()


def _submit(url: str, commit: str, *, failing: bool = False) -> dict[str, Any]:
    data = portage_bundle(commit=commit, remote=REMOTE, failing=failing)
    return submit_for_verdict(url, data, authorization=bearer(TOKEN))


def _run_worker(services: Services) -> JobRecord:
    """One job through the worker as ``belay serve`` builds it (guard and alerting included)."""
    worker = Worker(
        services.store,
        services.clients,
        settings=services.settings.worker,
        on_outcome=services.alerting.on_deploy_outcome,
        check_decision=decision_check(services.store, services.signing),
    )
    job = worker.run_once()
    assert job is not None, "no job was due"
    with services.store.unit_of_work() as uow:
        done = uow.jobs.get(job.id)
    assert done is not None
    return done


def _syncs(sim: RunningSimulator) -> list[Any]:
    return [r for r in sim.requests() if r.method == "POST" and r.path.endswith("/sync")]


def _decision_id(verdict: dict[str, Any]) -> str:
    return str(verdict["attestationUrl"]).rsplit("/", 1)[1]


def _refused(services: Services, sim: RunningSimulator, job: JobRecord, reason: str) -> None:
    assert _syncs(sim) == [], "a tampered decision reached Argo CD"
    assert job.state == "failed"
    assert "signed decision does not verify" in (job.error or "")
    assert reason in (job.error or "")
    with services.store.unit_of_work() as uow:
        events = uow.audit.list(job_id=job.id)
        assert uow.audit.verify() is None
    kinds = [e.kind for e in events]
    assert "attestation.refused" in kinds
    assert "sync.requested" not in kinds
    alerts = [e for e in events if e.kind == "alert.raised"]
    assert alerts, "the refusal raised no alert"
    assert "signed decision does not verify" in alerts[0].data["title"]


def test_an_untouched_decision_is_verified_and_synced(
    gate: tuple[str, Services, RunningSimulator],
) -> None:
    """The control case: the signed decision verifies, the job syncs once and succeeds."""
    url, services, sim = gate
    verdict = _submit(url, GOOD)
    assert verdict["decision"] == "pass"
    job = _run_worker(services)
    assert job.state == "succeeded", job.error
    assert len(_syncs(sim)) == 1
    with services.store.unit_of_work() as uow:
        kinds = [e.kind for e in uow.audit.list(job_id=job.id)]
    assert "attestation.verified" in kinds


def test_a_job_and_decision_moved_to_another_commit_are_refused(
    gate: tuple[str, Services, RunningSimulator],
) -> None:
    """Rows edited consistently to deploy another commit: refused, nothing synced."""
    url, services, sim = gate
    decision_id = _decision_id(_submit(url, GOOD))
    spec = SyncSpec(revision=OTHER, approved_commit=OTHER).model_dump(mode="json")
    with services.store.session() as session:
        session.execute(
            update(DecisionRow).where(DecisionRow.id == decision_id).values(revision=OTHER)
        )
        session.execute(
            update(JobRow)
            .where(JobRow.decision_id == decision_id)
            .values(revision=OTHER, spec=spec)
        )
        session.commit()
    _refused(services, sim, _run_worker(services), "decision revision")


def test_a_failing_decision_turned_into_a_pass_is_refused(
    gate: tuple[str, Services, RunningSimulator],
) -> None:
    """A 'fail' rewritten as 'pass' with a job queued for it: refused, nothing synced."""
    url, services, sim = gate
    verdict = _submit(url, OTHER, failing=True)
    assert verdict["decision"] == "fail"
    decision_id = _decision_id(verdict)
    spec = SyncSpec(revision=OTHER, approved_commit=OTHER).model_dump(mode="json")
    with services.store.session() as session:
        session.execute(
            update(DecisionRow).where(DecisionRow.id == decision_id).values(decision="pass")
        )
        session.commit()
    with services.store.unit_of_work() as uow:
        uow.jobs.enqueue(
            instance="default",
            application="guestbook",
            spec=spec,
            actor="gate:guestbook",
            revision=OTHER,
            decision_id=decision_id,
            now=datetime.now(UTC),
        )
        uow.commit()
    _refused(services, sim, _run_worker(services), "not 'pass'")


def test_a_decision_without_its_envelope_is_refused(
    gate: tuple[str, Services, RunningSimulator],
) -> None:
    """Deleting the envelope does not make a decision acceptable: unsigned means refused."""
    url, services, sim = gate
    decision_id = _decision_id(_submit(url, GOOD))
    with services.store.session() as session:
        session.execute(delete(AttestationRow).where(AttestationRow.decision_id == decision_id))
        session.commit()
    _refused(services, sim, _run_worker(services), "no signed attestation")


def test_a_decision_re_signed_with_another_key_is_refused(
    gate: tuple[str, Services, RunningSimulator],
) -> None:
    """An envelope replaced by one signed with a key Belay does not trust is refused."""
    url, services, sim = gate
    decision_id = _decision_id(_submit(url, GOOD))
    with services.store.unit_of_work() as uow:
        original = uow.attestations.get(decision_id)
    assert original is not None
    from belay.attest import Envelope, verify_attestation
    from belay.attest.statement import DecisionFacts

    statement = verify_attestation(
        Envelope.from_json(original.envelope), services.signing.keyring
    ).statement
    predicate = statement.predicate
    forged = Attestor(new_key(), public_url="http://belay.test").sign(
        DecisionFacts(
            decision_id=decision_id,
            decided_at=predicate.decided_at,
            decision="pass",
            summary=predicate.summary,
            project=predicate.project,
            commit=statement.commit,
            target=predicate.argocd,
            sync=predicate.sync,
            belay_version="0.1.0",
        )
    )
    with services.store.session() as session:
        session.execute(
            update(AttestationRow)
            .where(AttestationRow.decision_id == decision_id)
            .values(envelope=forged.envelope, keyid=forged.keyid, sha256=forged.sha256)
        )
        session.commit()
    _refused(services, sim, _run_worker(services), "no signature by a trusted key")


def test_a_job_with_its_decision_link_removed_is_refused(
    gate: tuple[str, Services, RunningSimulator],
) -> None:
    """Nulling a job's decision and pointing it at another commit made the guard skip it (it
    looked like a manual sync); without the audited manual request it is refused."""
    url, services, sim = gate
    decision_id = _decision_id(_submit(url, GOOD))
    spec = SyncSpec(revision=OTHER, approved_commit=OTHER).model_dump(mode="json")
    with services.store.session() as session:
        session.execute(
            update(JobRow)
            .where(JobRow.decision_id == decision_id)
            .values(decision_id=None, revision=OTHER, spec=spec)
        )
        session.commit()
    _refused(services, sim, _run_worker(services), "no audited manual request")


def test_an_old_signed_pass_is_not_replayed(
    gate: tuple[str, Services, RunningSimulator],
) -> None:
    """A pass deployed once, then the same commit judged 'fail': a job row re-pointed at the
    old pass is refused (superseded), and so is a second job for a pass already deployed."""
    url, services, sim = gate
    first = _submit(url, GOOD)
    assert first["decision"] == "pass"
    decision_id = _decision_id(first)
    done = _run_worker(services)
    assert done.state == "succeeded"
    with services.store.unit_of_work() as uow:
        uow.jobs.enqueue(
            instance=done.instance,
            application=done.application,
            argocd_project=done.argocd_project,
            app_namespace=done.app_namespace,
            spec=done.spec,
            actor=done.actor,
            revision=done.revision,
            decision_id=decision_id,
            now=datetime.now(UTC),
        )
        uow.commit()
    before = len(_syncs(sim))
    again = _run_worker(services)
    assert again.state == "failed" and "already deployed" in (again.error or "")
    assert len(_syncs(sim)) == before


def test_a_tampered_pass_grants_no_manual_sync(
    gate: tuple[str, Services, RunningSimulator],
) -> None:
    """A 'fail' row rewritten as 'pass' let `belay sync --revision SHA` through with no
    override; with signing on, the stored pass must verify, or the sync needs one."""
    from belay.deploy.permit import check_manual_sync

    url, services, _sim = gate
    verdict = _submit(url, OTHER, failing=True)
    decision_id = _decision_id(verdict)
    guard = decision_check(services.store, services.signing)
    assert guard is not None
    honest = check_manual_sync(
        services.store, application="guestbook", revision=OTHER, trust=guard.decision_problem
    )
    assert not honest.allowed and honest.gate == "fail"
    with services.store.session() as session:
        session.execute(
            update(DecisionRow).where(DecisionRow.id == decision_id).values(decision="pass")
        )
        session.commit()
    tampered = check_manual_sync(
        services.store, application="guestbook", revision=OTHER, trust=guard.decision_problem
    )
    assert not tampered.allowed
    assert "does not verify" in tampered.reason
    _submit(url, GOOD)
    signed = check_manual_sync(
        services.store, application="guestbook", revision=GOOD, trust=guard.decision_problem
    )
    assert signed.allowed and signed.gate == "pass"


def test_a_worker_with_only_the_public_key_verifies(
    gate: tuple[str, Services, RunningSimulator], tmp_path: Path
) -> None:
    """`belay worker` with verifying_key_file never reads the private key, yet syncs a signed
    decision and refuses a tampered one (the worker pod need not hold the signing key)."""
    from belay.attest.keyfiles import PUBLIC_KEY_NAME

    url, services, sim = gate
    settings = services.settings.model_copy(
        update={
            "signing_key_file": "keys/absent.key.pem",
            "verifying_key_file": f"keys/{PUBLIC_KEY_NAME}",
        }
    )
    worker_services = build_services(
        settings,
        environ={
            "ARGOCD_BASE_URL": sim.url,
            "ARGOCD_USERNAME": "admin",
            "ARGOCD_PASSWORD": "admin",
        },
        with_intake=False,
    )
    try:
        assert worker_services.signing.key is None and worker_services.signing.verifies
        _submit(url, GOOD)
        assert _run_worker(worker_services).state == "succeeded"
        verdict = _submit(url, OTHER, failing=True)
        decision_id = _decision_id(verdict)
        spec = SyncSpec(revision=OTHER, approved_commit=OTHER).model_dump(mode="json")
        with services.store.session() as session:
            session.execute(
                update(DecisionRow).where(DecisionRow.id == decision_id).values(decision="pass")
            )
            session.commit()
        with services.store.unit_of_work() as uow:
            uow.jobs.enqueue(
                instance="default",
                application="guestbook",
                spec=spec,
                actor="gate:guestbook",
                revision=OTHER,
                decision_id=decision_id,
                now=datetime.now(UTC),
            )
            uow.commit()
        refused = _run_worker(worker_services)
        assert refused.state == "failed" and "does not verify" in (refused.error or "")
    finally:
        worker_services.close()
