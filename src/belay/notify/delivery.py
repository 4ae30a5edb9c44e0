"""Background delivery of alerts: one thread and queue per channel, retries, an audit record.

A channel that refuses connections, hangs or answers 500 only ever delays its own queue: the
caller (the deploy worker, the intake) hands the alert over and returns at once. Each attempt is
bounded by the channel's timeout; retries follow Belay's one retry policy
(:class:`belay.retry.RetryPolicy`, full-jitter exponential backoff, ``Retry-After`` honoured up
to the policy's cap), and the wait between attempts ends early when the dispatcher is closed.
Every attempt is appended to the audit trail (``alert.delivery``) and counted on the alert's
row in the store; when all of an alert's channels are done, the row gets its final state:
``delivered``, ``partial`` or ``failed``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from belay.logs import get_logger
from belay.notify.channels.base import Channel, DeliveryError
from belay.notify.model import OutgoingAlert
from belay.redact import redact_text
from belay.retry import RetryPolicy, backoff_delay
from belay.store import NewAuditEvent, Store
from belay.vocab import AuditKind

__all__ = ["ALERT_ACTOR", "DEFAULT_QUEUE_SIZE", "Dispatcher"]

ALERT_ACTOR = "belay-alerts"
"""The ``actor`` of every audit event the alerting writes."""


def alert_audit_event(alert: OutgoingAlert, kind: AuditKind, data: dict[str, Any]) -> NewAuditEvent:
    """An audit event about ``alert``, linked to what it is about (app, revision, job...)."""
    return NewAuditEvent(
        kind=kind,
        actor=ALERT_ACTOR,
        instance=alert.instance,
        application=alert.application,
        revision=alert.revision,
        decision_id=alert.decision_id,
        job_id=alert.job_id,
        data=data,
    )


DEFAULT_QUEUE_SIZE = 1000
"""Alerts waiting per channel; beyond it new alerts are recorded as failed, never blocking."""

_IDLE_POLL_SECONDS = 0.2
"""How often an idle delivery thread looks whether it should stop."""

_log = get_logger("belay.notify")


@dataclass
class _Progress:
    """How far one alert's deliveries are."""

    waiting: int
    delivered: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class Dispatcher:
    """Delivers alerts to channels in the background and records every attempt."""

    def __init__(
        self,
        store: Store,
        channels: Sequence[Channel],
        *,
        policy: RetryPolicy,
        clock: Callable[[], datetime],
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        self.store = store
        self.channels = tuple(channels)
        self.policy = policy
        self.clock = clock
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queued = 0
        self._progress: dict[str, _Progress] = {}
        self._queues: dict[str, queue.Queue[OutgoingAlert]] = {
            c.name: queue.Queue(maxsize=queue_size) for c in self.channels
        }
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start one delivery thread per channel (idempotent)."""
        if self._threads:
            return
        for channel in self.channels:
            thread = threading.Thread(
                target=self._lane, args=(channel,), name=f"belay-alerts-{channel.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def submit(self, alert: OutgoingAlert) -> list[str]:
        """Queue ``alert`` for every channel subscribed to its event; the channels' names.

        Never blocks: a full queue is recorded as a failed delivery on that channel.
        """
        targets = [c for c in self.channels if alert.event in c.events]
        if not targets:
            self._record_final(alert.dedup_key, "skipped", "no channel subscribes to this event")
            return []
        with self._lock:
            self._progress[alert.dedup_key] = _Progress(waiting=len(targets))
        for channel in targets:
            try:
                with self._lock:
                    self._queue(channel).put_nowait(alert)
                    self._queued += 1
            except queue.Full:
                self._attempt_done(
                    alert, channel, attempt=0, outcome="failed", error="delivery queue is full"
                )
        return [c.name for c in targets]

    def flush(self, timeout: float) -> bool:
        """Wait until every queued delivery has ended; False when ``timeout`` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._queued == 0, timeout=timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the threads: the attempt in flight ends, the queued ones are abandoned."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout)
        for channel in self.channels:
            try:
                channel.close()
            except Exception:  # noqa: BLE001 - closing must not fail the shutdown
                _log.warning("alerts.channel_close_failed", channel=channel.name)

    # --- the delivery threads ---------------------------------------------------------------

    def _queue(self, channel: Channel) -> queue.Queue[OutgoingAlert]:
        return self._queues[channel.name]

    def _lane(self, channel: Channel) -> None:
        q = self._queue(channel)
        while True:
            try:
                alert = q.get(timeout=_IDLE_POLL_SECONDS)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            try:
                if self._stop.is_set():
                    self._attempt_done(
                        alert, channel, attempt=0, outcome="failed", error="Belay stopped"
                    )
                else:
                    self._deliver(channel, alert)
            except Exception:  # noqa: BLE001 - one broken alert must not end the channel's lane
                _log.exception("alerts.lane_error", channel=channel.name)
            finally:
                with self._idle:
                    self._queued -= 1
                    self._idle.notify_all()

    def _deliver(self, channel: Channel, alert: OutgoingAlert) -> None:
        attempts = self.policy.attempts or 1
        for number in range(1, attempts + 1):
            try:
                channel.send(alert)
            except DeliveryError as err:
                last = number >= attempts or not err.retryable or self._stop.is_set()
                self._attempt_done(
                    alert,
                    channel,
                    attempt=number,
                    outcome="failed" if last else "retrying",
                    error=str(err),
                )
                if last:
                    return
                delay = backoff_delay(self.policy, number - 1)
                if err.retry_after is not None:
                    delay = max(delay, min(err.retry_after, self.policy.max_seconds))
                if self._stop.wait(delay):
                    self._attempt_done(
                        alert, channel, attempt=number, outcome="failed", error="Belay stopped"
                    )
                    return
            except Exception as err:  # noqa: BLE001 - a channel bug is a failed delivery
                self._attempt_done(
                    alert,
                    channel,
                    attempt=number,
                    outcome="failed",
                    error=f"{channel.name}: {type(err).__name__}",
                )
                return
            else:
                self._attempt_done(alert, channel, attempt=number, outcome="delivered", error=None)
                return

    # --- records ----------------------------------------------------------------------------

    def _attempt_done(
        self,
        alert: OutgoingAlert,
        channel: Channel,
        *,
        attempt: int,
        outcome: str,
        error: str | None,
    ) -> None:
        error = redact_text(error) if error else None
        log = _log.info if outcome == "delivered" else _log.warning
        log(
            "alerts.delivery",
            channel=channel.name,
            dedup_key=alert.dedup_key,
            alert_event=alert.event.value,
            attempt=attempt,
            outcome=outcome,
            error=error,
        )
        with self._lock:
            progress = self._progress.get(alert.dedup_key)
            state = "sending"
            if outcome != "retrying" and progress is not None:
                progress.waiting -= 1
                if outcome == "delivered":
                    progress.delivered += 1
                else:
                    progress.failed += 1
                    progress.errors.append(error or "failed")
                if progress.waiting <= 0:
                    del self._progress[alert.dedup_key]
                    if progress.failed == 0:
                        state = "delivered"
                    elif progress.delivered == 0:
                        state = "failed"
                    else:
                        state = "partial"
            data: dict[str, Any] = {
                "dedup_key": alert.dedup_key,
                "event": alert.event.value,
                "channel": channel.name,
                "attempt": attempt,
                "outcome": outcome,
            }
            if error:
                data["error"] = error
            # Written under the lock so two channels finishing together cannot reorder the
            # alert's state (the last writer is the one that saw every channel done).
            self._write(alert, data, state=state, error=error)

    def _record_final(self, dedup_key: str, state: str, error: str | None) -> None:
        try:
            with self.store.unit_of_work() as uow:
                uow.alerts.mark(dedup_key, state=state, error=error)
                uow.commit()
        except Exception:  # noqa: BLE001 - the store being down must not stop alerting
            _log.exception("alerts.record_failed", dedup_key=dedup_key)

    def _write(
        self, alert: OutgoingAlert, data: dict[str, Any], *, state: str, error: str | None
    ) -> None:
        try:
            with self.store.unit_of_work() as uow:
                uow.audit.append(
                    alert_audit_event(alert, AuditKind.alert_delivery, data), now=self.clock()
                )
                uow.alerts.mark(alert.dedup_key, state=state, error=error)
                uow.commit()
        except Exception:  # noqa: BLE001 - the store being down must not stop alerting
            _log.exception("alerts.record_failed", dedup_key=alert.dedup_key)
