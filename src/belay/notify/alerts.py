"""The alerting service: raise each alert once (deduplicated in the store), deliver it later.

    alerting = build_alerting(settings, store)
    alerting.start(resolver=resolve_argocd)          # token expiry now and every day
    worker = Worker(store, clients, on_outcome=alerting.on_deploy_outcome)
    ...
    alerting.close()

Raising an alert is one transaction: reserve its dedup key in the ``alerts`` table and append
``alert.raised`` to the audit trail. Only the caller that reserved the key hands the alert to the
:class:`~belay.notify.delivery.Dispatcher`, so two workers, a retried job or a restarted process
never send one alert twice. Delivery happens on the dispatcher's threads; the caller never waits
on a channel.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from belay.config import AlertSettings, ArgoCDResolution, BelaySettings
from belay.deploy import DeployOutcome
from belay.logs import get_logger
from belay.notify.channels import Channel, build_channels
from belay.notify.delivery import Dispatcher, alert_audit_event
from belay.notify.model import OutgoingAlert
from belay.notify.triggers import deploy_alerts, override_alert, token_alerts, verdict_alert
from belay.retry import RetryPolicy
from belay.store import DecisionRecord, JobRecord, Store, UnitOfWork
from belay.vocab import OUTCOME_STATES, AuditKind, JobState

__all__ = ["Alerting", "build_alerting"]

_log = get_logger("belay.notify")
_STREAK_WINDOW = 200
UNFINISHED_AFTER = timedelta(minutes=5)
"""An alert still undelivered this long after it was raised belongs to a process that died."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Alerting:
    """Turns deploy outcomes, verdicts and token checks into alerts, each sent once."""

    def __init__(
        self,
        store: Store,
        channels: tuple[Channel, ...],
        *,
        settings: AlertSettings | None = None,
        public_url: str = "",
        failures_in_a_row: int = 3,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store = store
        self.settings = settings or AlertSettings()
        self.public_url = public_url.rstrip("/")
        self.failures_in_a_row = failures_in_a_row
        self.clock = clock
        policy = RetryPolicy(
            base_seconds=self.settings.delivery_backoff_base_seconds,
            max_seconds=self.settings.delivery_backoff_max_seconds,
            attempts=self.settings.delivery_attempts,
        )
        self.dispatcher = Dispatcher(store, channels, policy=policy, clock=clock)
        self._stop = threading.Event()
        self._token_thread: threading.Thread | None = None

    @property
    def channels(self) -> tuple[Channel, ...]:
        """The configured channels."""
        return self.dispatcher.channels

    # --- life cycle -------------------------------------------------------------------------

    def start(self, *, resolver: Callable[[], ArgoCDResolution] | None = None) -> None:
        """Start delivering; with ``resolver``, check token expiry now and then periodically.

        Alerts a previous process raised but never finished delivering (it died) are delivered
        first, once they are older than :data:`UNFINISHED_AFTER`.
        """
        self.dispatcher.start()
        self._resend_unfinished()
        if resolver is None or self._token_thread is not None:
            return
        self._check_tokens(resolver)
        interval = self.settings.token_check_interval_hours * 3600
        self._token_thread = threading.Thread(
            target=self._token_loop,
            args=(resolver, interval),
            name="belay-token-expiry",
            daemon=True,
        )
        self._token_thread.start()

    def _resend_unfinished(self) -> None:
        try:
            with self.store.unit_of_work() as uow:
                messages = uow.alerts.claim_unfinished(older_than=self.clock() - UNFINISHED_AFTER)
                uow.commit()
        except Exception:  # noqa: BLE001 - the store being down must not stop the service
            _log.exception("alerts.resend_failed")
            return
        for message in messages:
            try:
                alert = OutgoingAlert.model_validate(message)
            except ValueError:
                _log.warning("alerts.unreadable_stored_alert")
                continue
            _log.info("alerts.resending", dedup_key=alert.dedup_key)
            self.dispatcher.submit(alert)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait for queued deliveries to end (tests, a graceful stop); False on timeout."""
        return self.dispatcher.flush(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the token checks and the delivery threads."""
        self._stop.set()
        if self._token_thread is not None:
            self._token_thread.join(timeout=timeout)
        self.dispatcher.close(timeout=timeout)

    def _token_loop(self, resolver: Callable[[], ArgoCDResolution], interval: float) -> None:
        while not self._stop.wait(interval):
            self._check_tokens(resolver)

    def _check_tokens(self, resolver: Callable[[], ArgoCDResolution]) -> None:
        try:
            self.check_token_expiry(resolver())
        except Exception:  # noqa: BLE001 - a failed check must not stop the service
            _log.exception("alerts.token_check_failed")

    # --- triggers ---------------------------------------------------------------------------

    def on_deploy_outcome(self, job: JobRecord, outcome: DeployOutcome) -> list[OutgoingAlert]:
        """The worker's ``on_outcome``: alert on a failed job (and on N failures in a row).

        Returns the alerts raised now (those already raised before are left out).
        """
        if outcome.state == JobState.succeeded:
            return []
        with self.store.unit_of_work() as uow:
            recent = [
                j
                for j in uow.jobs.list(
                    application=job.application, states=OUTCOME_STATES, limit=_STREAK_WINDOW
                )
                if j.instance == job.instance
            ]
            link = self._link(uow.decisions.get(job.decision_id) if job.decision_id else None)
        alerts = deploy_alerts(
            job,
            outcome,
            recent=recent,
            threshold=self.failures_in_a_row,
            now=self.clock(),
            link=link,
        )
        return [a for a in alerts if self.raise_alert(a)]

    def on_verdict(self, decision: DecisionRecord) -> OutgoingAlert | None:
        """Alert on a failing verdict when ``alerts.verdict_fail`` is on; the alert if raised."""
        if not self.settings.verdict_fail:
            return None
        alert = verdict_alert(decision, now=self.clock(), link=self._link(decision))
        if alert is None or not self.raise_alert(alert):
            return None
        return alert

    def on_gate_override(
        self,
        job: JobRecord,
        *,
        decision: DecisionRecord | None,
        gate: str,
        reason: str,
        refusal: str,
    ) -> OutgoingAlert | None:
        """Announce a manual sync queued past the gate (every channel subscribed to
        ``gate_override``), linking the overridden decision's page; the alert, or ``None`` if
        it was raised before."""
        alert = override_alert(
            job,
            decision_id=decision.id if decision else None,
            gate=gate,
            reason=reason,
            refusal=refusal,
            now=self.clock(),
            link=self._link(decision),
        )
        return alert if self.raise_alert(alert) else None

    def check_token_expiry(
        self, resolution: ArgoCDResolution, now: datetime | None = None
    ) -> list[OutgoingAlert]:
        """Alert on every token expiring within the warning period, expired, or without exp."""
        window = timedelta(days=self.settings.token_expiry_warning_days)
        alerts = token_alerts(resolution, now=now or self.clock(), window=window)
        return [a for a in alerts if self.raise_alert(a)]

    def raise_alert(self, alert: OutgoingAlert) -> bool:
        """Reserve ``alert``'s dedup key and queue it; False when it was raised before."""
        with self.store.unit_of_work() as uow:
            if not self.reserve(uow, alert):
                return False
            uow.commit()
        self.submit(alert)
        return True

    def reserve(self, uow: UnitOfWork, alert: OutgoingAlert) -> bool:
        """Record ``alert`` (and its audit event) in the caller's transaction; False when it was
        raised before. After the caller commits, :meth:`submit` it; an alert committed but never
        submitted (the process died) is delivered by the next start's resend."""
        fresh = uow.alerts.reserve(
            dedup_key=alert.dedup_key,
            event=alert.event.value,
            message=alert.model_dump(mode="json"),
            now=self.clock(),
            application=alert.application,
            revision=alert.revision,
        )
        if not fresh:
            return False
        raised = {
            "dedup_key": alert.dedup_key,
            "event": alert.event.value,
            "title": alert.title,
            "channels": [c.name for c in self.channels if alert.event in c.events],
        }
        uow.audit.append(alert_audit_event(alert, AuditKind.alert_raised, raised), now=self.clock())
        return True

    def submit(self, alert: OutgoingAlert) -> None:
        """Queue a reserved (and committed) alert for delivery."""
        _log.info("alerts.raised", dedup_key=alert.dedup_key, alert_event=alert.event.value)
        self.dispatcher.submit(alert)

    def _link(self, decision: DecisionRecord | None) -> str | None:
        if decision is None or not self.public_url:
            return None
        if decision.submission_id:
            return f"{self.public_url}/submissions/{decision.submission_id}"
        return f"{self.public_url}/decisions/{decision.id}"


def build_alerting(
    settings: BelaySettings,
    store: Store,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> Alerting:
    """The alerting service for ``settings`` (channels from ``notifications``), not started.

    Raises :class:`~belay.config.ConfigError` for a channel that cannot be used. Call
    :meth:`Alerting.start` (with ``resolver=resolve_argocd`` for token checks) and, at shutdown,
    :meth:`Alerting.close`.
    """
    channels = build_channels(
        settings.notifications,
        environ=environ,
        timeout=settings.alerts.delivery_timeout_seconds,
    )
    return Alerting(
        store,
        channels,
        settings=settings.alerts,
        public_url=settings.public_url,
        failures_in_a_row=settings.worker.failures_in_a_row_alert,
        clock=clock,
    )
