"""Alerting end to end: the worker against the simulator, real receivers, SQLite and PostgreSQL.

Each trigger sends exactly one alert with the right content; a second Alerting on the same store
(a restart) sends nothing again; a dead or hanging channel delays no deployment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.support import unsigned_jwt

from belay.config import resolve_argocd
from belay.config.settings import AlertSettings
from belay.deploy.worker import Worker
from belay.notify import AlertEvent, Alerting, SlackChannel, SMTPChannel, WebhookChannel
from belay.notify.channels import Channel
from belay.sim.testing import running_simulator
from belay.store import DecisionRecord, Store, new_id

from .conftest import Receiver, SMTPServer
from .helpers import FAST, admin_clients, audit_kinds, enqueue, sha, state

ALL = frozenset(AlertEvent)
QUICK = AlertSettings(
    verdict_fail=True,
    delivery_attempts=2,
    delivery_backoff_base_seconds=0.01,
    delivery_backoff_max_seconds=0.02,
    delivery_timeout_seconds=2,
)


def _alerting(store: Store, *channels: Channel, threshold: int = 3) -> Alerting:
    alerting = Alerting(
        store,
        channels,
        settings=QUICK,
        public_url="http://belay.test",
        failures_in_a_row=threshold,
    )
    alerting.start()
    return alerting


def _run_one(store: Store, alerting: Alerting, sim: Any, **clients: Any) -> None:
    worker = Worker(
        store, admin_clients(sim, **clients), settings=FAST, on_outcome=alerting.on_deploy_outcome
    )
    assert worker.run_once() is not None


def test_degraded_deployment_alerts_once_on_every_channel(
    store: Store, receiver: Receiver, second_receiver: Receiver, smtp_server: SMTPServer
) -> None:
    """A Degraded deployment sends one alert per channel naming app, revision, decision, link."""
    channels = (
        WebhookChannel(name="webhook#1", url=receiver.url, events=ALL, signing_key=b"k" * 32),
        SlackChannel(name="slack#2", url=second_receiver.url, events=ALL),
        SMTPChannel(
            name="smtp#3",
            host=smtp_server.host,
            port=smtp_server.port,
            sender="belay@example.com",
            recipients=("ops@example.com",),
            events=ALL,
            timeout=5,
        ),
    )
    alerting = _alerting(store, *channels)
    try:
        with running_simulator(state(health="Degraded")) as sim:
            job = enqueue(store, revision=sha(1))
            _run_one(store, alerting, sim)
        assert alerting.flush(20)
    finally:
        alerting.close()
    [hook] = receiver.received
    data = hook.json()["data"]
    assert data["event"] == "deploy_failed"
    assert data["application"] == "guestbook"
    assert data["revision"] == sha(1)
    assert data["decision_id"] == job.decision_id
    assert "Degraded" in data["what_happened"]
    with store.unit_of_work() as uow:
        decision = uow.decisions.get(job.decision_id or "")
    assert decision is not None
    assert data["link"] == f"http://belay.test/submissions/{decision.submission_id}"
    [slack] = second_receiver.received
    assert "Deployment failed: guestbook" in slack.json()["text"]
    [(_, _, mail)] = smtp_server.wait_for(1)
    assert job.decision_id is not None and job.decision_id.encode() in mail
    kinds = audit_kinds(store, job_id=job.id)
    assert kinds.count("alert.raised") == 1
    assert kinds.count("alert.delivery") == 3


def test_failed_operation_names_message_and_resources(store: Store, receiver: Receiver) -> None:
    """A Failed operation's alert carries Argo CD's message and the failed resources."""
    alerting = _alerting(store, WebhookChannel(name="webhook#1", url=receiver.url, events=ALL))
    try:
        failing = state(phase="Failed", message='namespaces "guestbook" not found')
        failing["timeScale"] = 1000  # Argo CD's backoffs (10 s to 3 min) last under a second
        with running_simulator(failing) as sim:
            enqueue(store, revision=sha(2))
            _run_one(store, alerting, sim)
        assert alerting.flush(20)
    finally:
        alerting.close()
    [hook] = receiver.received
    data = hook.json()["data"]
    assert data["event"] == "deploy_failed"
    assert 'namespaces "guestbook" not found' in data["operation_message"]
    assert any("Deployment/guestbook/guestbook-ui" in r for r in data["failed_resources"])


@pytest.mark.parametrize(
    ("case", "event", "title"),
    [
        ("unauthorized", "auth_failed", "refused Belay's credentials"),
        ("rbac", "auth_failed", "RBAC denied the sync"),
        ("not_found", "sync_failed", "Application not found"),
        ("auto_sync", "sync_failed", "auto-sync conflict"),
        ("timeout", "deploy_failed", "Deployment timed out"),
    ],
)
def test_persistent_failures_alert_once(
    store: Store,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    event: str,
    title: str,
) -> None:
    """401, RBAC 403, 404 after its grace period, auto-sync conflict and a timeout: one alert
    each, and a second identical failure of the same revision sends nothing more."""
    monkeypatch.setattr("belay.deploy.worker.NOT_FOUND_GRACE_SECONDS", 0.2)
    s = state(health="Healthy", healthSeconds=30 if case == "timeout" else 0)
    s["accounts"] = [
        {"name": "admin", "password": "admin"},
        {
            "name": "viewer",
            "password": "viewer-pass",
            "policies": ["p, role:viewer, applications, get, */*, allow"],
        },
    ]
    if case == "auto_sync":
        s["applications"][0]["spec"]["syncPolicy"] = {"automated": {"prune": True}}
    clients: dict[str, Any] = {}
    if case == "unauthorized":
        clients = {"username": "admin", "password": "wrong-canary-pw"}
    elif case == "rbac":
        clients = {"username": "viewer", "password": "viewer-pass"}
    app = "no-such-app" if case == "not_found" else "guestbook"
    timeout = 0.6 if case == "timeout" else 10.0
    alerting = _alerting(store, WebhookChannel(name="webhook#1", url=receiver.url, events=ALL))
    try:
        with running_simulator(s) as sim:
            for _ in range(2):
                enqueue(store, revision=sha(3), application=app, timeout=timeout)
                _run_one(store, alerting, sim, **clients)
        assert alerting.flush(20)
    finally:
        alerting.close()
    [hook] = receiver.received
    data = hook.json()["data"]
    assert data["event"] == event
    assert title in data["title"]
    assert data["application"] == app
    assert "wrong-canary-pw" not in hook.body.decode()


def test_failures_in_a_row_alert_once_per_streak(store: Store, receiver: Receiver) -> None:
    """With a threshold of 2, three failures in a row give three failure alerts and one
    repeated-failures alert; a success ends the streak."""
    alerting = _alerting(
        store, WebhookChannel(name="webhook#1", url=receiver.url, events=ALL), threshold=2
    )
    try:
        with running_simulator(state(health="Degraded")) as sim:
            for n in range(3):
                enqueue(store, revision=sha(10 + n))
                _run_one(store, alerting, sim)
        assert alerting.flush(20)
    finally:
        alerting.close()
    events = [r.json()["data"]["event"] for r in receiver.received]
    assert sorted(events) == ["deploy_failed"] * 3 + ["repeated_failures"]
    [streak] = [
        d
        for d in (r.json()["data"] for r in receiver.received)
        if d["event"] == "repeated_failures"
    ]
    assert streak["title"].startswith("2 deployments in a row failed")


def test_restart_does_not_resend(store: Store, receiver: Receiver) -> None:
    """A second Alerting on the same store (a restart) sends no alert that was raised before."""
    first = _alerting(store, WebhookChannel(name="webhook#1", url=receiver.url, events=ALL))
    try:
        with running_simulator(state(health="Degraded")) as sim:
            job = enqueue(store, revision=sha(20))
            _run_one(store, first, sim)
        assert first.flush(20)
    finally:
        first.close()
    with store.unit_of_work() as uow:
        done = uow.jobs.get(job.id)
    assert done is not None and done.outcome is not None
    from belay.deploy.worker import DeployOutcome

    outcome = DeployOutcome.model_validate(done.outcome)
    second = _alerting(store, WebhookChannel(name="webhook#1", url=receiver.url, events=ALL))
    try:
        assert second.on_deploy_outcome(done, outcome) == []
        assert second.flush(5)
    finally:
        second.close()
    assert len(receiver.received) == 1


def test_failing_verdict_alert(store: Store, receiver: Receiver) -> None:
    """A failing verdict sends one verdict_fail alert with the failing reasons."""
    decision = DecisionRecord(
        id=new_id(),
        decided_at=datetime.now(UTC),
        decision="fail",
        project="example-app",
        application="guestbook",
        instance="default",
        revision=sha(30),
        verdict={
            "decision": "fail",
            "summary": "1 rule failed",
            "reasons": [{"rule": "grype.critical", "status": "fail", "message": "2 critical"}],
        },
    )
    with store.unit_of_work() as uow:
        uow.decisions.add(decision)
        uow.commit()
    alerting = _alerting(store, WebhookChannel(name="webhook#1", url=receiver.url, events=ALL))
    try:
        assert alerting.on_verdict(decision) is not None
        assert alerting.on_verdict(decision) is None
        assert alerting.flush(20)
    finally:
        alerting.close()
    [hook] = receiver.received
    data = hook.json()["data"]
    assert data["event"] == "verdict_fail"
    assert data["failed_resources"] == ["grype.critical: 2 critical"]
    assert data["link"] == f"http://belay.test/decisions/{decision.id}"


def test_token_expiry_alerts_at_start_once(
    store: Store, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token expiring in 3 days alerts at start, once; a restart does not alert again."""
    exp = datetime.now(UTC) + timedelta(days=3)
    token = unsigned_jwt(
        {"sub": "belay-webhook:apiKey", "jti": "tok-1", "exp": int(exp.timestamp())}
    )
    monkeypatch.setenv("ARGOCD_BASE_URL", "https://argocd.example.com")
    monkeypatch.setenv("ARGOCD_AUTH_TOKEN", token)
    for _ in range(2):  # start, then a restart
        alerting = _alerting(store, WebhookChannel(name="webhook#1", url=receiver.url, events=ALL))
        try:
            alerting.start(resolver=resolve_argocd)
            assert alerting.flush(20)
        finally:
            alerting.close()
    [hook] = receiver.received
    data = hook.json()["data"]
    assert data["event"] == "token_expiry"
    assert "expires in 2 days" in data["title"] or "expires in 3 days" in data["title"]
    assert "argocd account generate-token --account belay-webhook" in data["what_happened"]
    assert token not in hook.body.decode()


def test_dead_channels_delay_nothing(
    store: Store, receiver: Receiver, hanging_receiver: Receiver, refused_url: str
) -> None:
    """With one channel refusing connections and one hanging, every deployment still finishes
    and the working channel gets every alert while the hanging one has not answered yet."""
    alerting = _alerting(
        store,
        WebhookChannel(name="webhook#1", url=refused_url, events=ALL),
        SlackChannel(name="slack#2", url=hanging_receiver.url, events=ALL),
        WebhookChannel(name="webhook#3", url=receiver.url, events=ALL),
    )
    try:
        with running_simulator(state(health="Degraded")) as sim:
            jobs = [enqueue(store, revision=sha(40 + n)) for n in range(2)]
            for _ in jobs:
                _run_one(store, alerting, sim)
            with store.unit_of_work() as uow:
                states = [uow.jobs.get(j.id).state for j in jobs]  # type: ignore[union-attr]
            assert states == ["failed", "failed"]
            assert len(receiver.wait_for(2)) == 2
            assert hanging_receiver.arrived.is_set()
            assert not hanging_receiver.release.is_set()
            assert hanging_receiver.received == []  # still hanging: nothing answered yet
            hanging_receiver.release.set()
        assert alerting.flush(30)
    finally:
        alerting.close()
    attempts = []
    with store.unit_of_work() as uow:
        for event in uow.audit.list():
            if event.kind == "alert.delivery" and event.data["channel"] == "webhook#1":
                attempts.append(event.data["outcome"])
    assert attempts.count("failed") == 2  # both alerts, each after its retry
    assert attempts.count("retrying") == 2


def test_alert_left_undelivered_by_a_dead_process_is_sent_once(
    store: Store, receiver: Receiver
) -> None:
    """An alert raised but never delivered (the process died) is sent by the next start, once."""
    from belay.notify import OutgoingAlert

    raised_at = datetime.now(UTC)
    dead = Alerting(
        store, (WebhookChannel(name="webhook#1", url=receiver.url, events=ALL),), settings=QUICK
    )
    alert = OutgoingAlert(
        event=AlertEvent.deploy_failed,
        dedup_key=f"deploy_failed|default/guestbook|{sha(31)}",
        title="Deployment failed: guestbook at 1f1f1f1",
        what_happened="the application is Degraded",
        occurred_at=raised_at,
        application="guestbook",
        revision=sha(31),
    )
    assert dead.raise_alert(alert)  # reserved and audited; its dispatcher never started: "died"
    later = raised_at + timedelta(minutes=6)
    for _ in range(2):  # two restarts: only the first resends
        restarted = Alerting(
            store,
            (WebhookChannel(name="webhook#1", url=receiver.url, events=ALL),),
            settings=QUICK,
            clock=lambda: later,
        )
        try:
            restarted.start()
            assert restarted.flush(10)
        finally:
            restarted.close()
    assert len(receiver.received) == 1
    assert receiver.received[0].json()["data"]["title"] == alert.title
