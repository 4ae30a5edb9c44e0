"""The alert receiver's service: a notification in, investigations stored or resolved.

Called by ``POST /api/v1/alerts`` (:mod:`belay.web.api`) in a worker thread. For each alert of
the notification, by its fingerprint:

* **resolved**: recorded as the resolution of the investigations that cover that alert (no
  Argo CD call); an investigation is resolved once all its alerts are;
* **firing, already covered** by an investigation that still fires (Alertmanager re-sends a
  group's firing alerts when the group changes, and every ``repeat_interval``): left alone;
* **firing, new**: investigated with the other new ones, one report per application
  (:func:`belay.investigate.investigate_alerts`), each stored with its alerts' fingerprints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from belay.bootstrap import Services
from belay.investigate import Alert, investigate_alerts
from belay.investigate.gate_records import store_gate_lookup

__all__ = ["NotificationOutcome", "StoredInvestigation", "handle_notification"]


@dataclass(frozen=True)
class StoredInvestigation:
    """One report stored for the notification."""

    id: str
    application: str | None
    instance: str | None
    findings: list[dict[str, Any]]


@dataclass
class NotificationOutcome:
    """What the notification led to."""

    stored: list[StoredInvestigation] = field(default_factory=list)
    resolved: dict[str, list[str]] = field(default_factory=dict)
    """Fingerprint → ids of the investigations it resolved (empty when none covered it)."""
    already_investigated: dict[str, list[str]] = field(default_factory=dict)
    """Fingerprint of a still-firing alert → the investigations that already cover it."""


def handle_notification(
    services: Services, alerts: tuple[Alert, ...], raw: Any, *, now: datetime
) -> NotificationOutcome:
    """Resolve, skip or investigate each alert of a notification; store what was found."""
    outcome = NotificationOutcome()
    store = services.store
    fresh: list[Alert] = []
    with store.unit_of_work() as uow:
        for alert in alerts:
            if alert.resolved:
                at = alert.ends_at or now
                outcome.resolved[alert.fingerprint] = uow.investigations.resolve(
                    alert.fingerprint, at=at
                )
                continue
            covering = uow.investigations.firing_for(alert.fingerprint)
            if covering:
                outcome.already_investigated[alert.fingerprint] = covering
            else:
                fresh.append(alert)
        uow.commit()
    if not fresh:
        return outcome
    # The same thresholds and gate records as `belay investigate --config belay.yaml`.
    reports = investigate_alerts(
        fresh,
        services.clients.resolution,
        settings=services.settings.investigate,
        now=now,
        gate_decisions=store_gate_lookup(store),
    )
    payload = raw if isinstance(raw, dict) else {"payload": raw}
    with store.unit_of_work() as uow:
        for report in reports:
            data = report.to_json_data()
            report_id = uow.investigations.add(
                alert=payload,
                report=data,
                now=now,
                instance=report.instance,
                application=report.application,
                alert_name=report.alert.name or None,
                fingerprints=report.fingerprints,
            )
            outcome.stored.append(
                StoredInvestigation(
                    id=report_id,
                    application=report.application,
                    instance=report.instance,
                    findings=[
                        {"kind": f.get("kind"), "severity": f.get("severity")}
                        for f in data.get("findings", [])
                    ],
                )
            )
        uow.commit()
    return outcome
