"""The pure triggers and renderings: one named case per branch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from tests.support import unsigned_jwt

from belay.config import ArgoCDInstance, ArgoCDResolution
from belay.deploy import Assessment, Progress
from belay.deploy.worker import DeployOutcome
from belay.notify import AlertEvent, deploy_alerts, render_slack, token_alerts
from belay.notify.render import MAX_FAILED_RESOURCES, render_markdown, render_text
from belay.notify.triggers import failure_streak
from belay.redact import register_secret
from belay.store import JobRecord

NOW = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)


def _job(n: int = 1, state: str = "failed", revision: str = "a" * 40) -> JobRecord:
    return JobRecord(
        id=f"job-{n}",
        decision_id="dec-1",
        instance="default",
        application="guestbook",
        revision=revision,
        spec={},
        actor="t",
        state=state,  # type: ignore[arg-type]
        attempts=1,
        not_before=NOW,
        created_at=NOW,
        updated_at=NOW,
    )


def _outcome(**fields: Any) -> DeployOutcome:
    return DeployOutcome(**{"state": "failed", "reason": "health is Degraded", **fields})


@pytest.mark.parametrize(
    ("outcome", "event"),
    [
        (_outcome(state="timed_out", reason="timed out after 1s"), AlertEvent.deploy_failed),
        (_outcome(error_class="ArgoCDAuthError"), AlertEvent.auth_failed),
        (_outcome(error_class="ArgoCDPermissionDenied"), AlertEvent.auth_failed),
        (_outcome(error_class="ArgoCDNotFound"), AlertEvent.sync_failed),
        (_outcome(error_class="AutoSyncConflict"), AlertEvent.sync_failed),
        (_outcome(error_class="ArgoCDBadRequest"), AlertEvent.sync_failed),
        (
            _outcome(assessment=Assessment(progress=Progress.FAILED, reason="x", phase="Failed")),
            AlertEvent.deploy_failed,
        ),
    ],
)
def test_outcome_maps_to_event(outcome: DeployOutcome, event: AlertEvent) -> None:
    """Each kind of failure raises its event, keyed by application, revision and event."""
    [alert] = deploy_alerts(_job(), outcome, recent=[_job()], threshold=3, now=NOW)
    assert alert.event is event
    assert alert.dedup_key == f"{event.value}:default/guestbook@{'a' * 40}"


def test_success_raises_nothing() -> None:
    """A succeeded job raises no alert."""
    assert (
        deploy_alerts(
            _job(state="succeeded"), _outcome(state="succeeded"), recent=[], threshold=1, now=NOW
        )
        == []
    )


def test_streak_skips_superseded_and_stops_at_success() -> None:
    """Superseded jobs do not break a streak; a success ends it."""
    recent = [_job(4), _job(3, "superseded"), _job(2, "timed_out"), _job(1, "succeeded")]
    assert [j.id for j in failure_streak(recent)] == ["job-4", "job-2"]


def test_repeated_failures_keyed_by_first_job_of_streak() -> None:
    """The streak alert's key names the streak's first job, so it is sent once per streak."""
    recent = [_job(3), _job(2), _job(1, "succeeded")]
    alerts = deploy_alerts(_job(3), _outcome(), recent=recent, threshold=2, now=NOW)
    assert [a.event for a in alerts] == [AlertEvent.sync_failed, AlertEvent.repeated_failures]
    assert alerts[1].dedup_key == "repeated_failures:default/guestbook:job-2"


def _resolution(token: str) -> ArgoCDResolution:
    return ArgoCDResolution(
        instances=(
            ArgoCDInstance(name="prod", base_url="https://a.example.com", token=SecretStr(token)),
        )
    )


@pytest.mark.parametrize(
    ("claims", "stage", "severity"),
    [
        ({}, "never", "info"),
        ({"exp": int((NOW + timedelta(days=3)).timestamp())}, "expiring", "warning"),
        ({"exp": int((NOW - timedelta(days=1)).timestamp())}, "expired", "error"),
        ({"exp": int((NOW + timedelta(days=30)).timestamp())}, None, None),
    ],
)
def test_token_stages(claims: dict[str, Any], stage: str | None, severity: str | None) -> None:
    """Never-expiring, expiring, expired and far-off tokens; the key names token and stage."""
    token = unsigned_jwt({"sub": "belay-webhook:apiKey", "jti": "t1", **claims})
    alerts = token_alerts(_resolution(token), now=NOW, window=timedelta(days=14))
    if stage is None:
        assert alerts == []
        return
    [alert] = alerts
    assert alert.dedup_key == f"token_expiry:prod:jti=t1:{stage}"
    assert alert.severity == severity
    assert token not in alert.model_dump_json()


def test_renderings_redact_and_cut() -> None:
    """Secrets are redacted in every rendering and long resource lists are summarised."""
    register_secret("hunter2-canary-secret")
    [alert] = deploy_alerts(
        _job(),
        _outcome(
            assessment=Assessment(
                progress=Progress.FAILED,
                reason="x",
                message="failed: password=hunter2-canary-secret",
                failed_resources=tuple(f"Pod/p{i}: boom" for i in range(30)),
            )
        ),
        recent=[],
        threshold=5,
        now=NOW,
    )
    texts = [render_text(alert), render_markdown(alert), str(render_slack(alert))]
    for text in texts:
        assert "hunter2-canary-secret" not in text
        assert f"and {30 - MAX_FAILED_RESOURCES} more" in text
