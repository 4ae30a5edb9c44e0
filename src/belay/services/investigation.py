"""Investigating alerts: the one-shot report (``belay investigate``) and the alert receiver.

* :func:`investigate_alert`: read Argo CD (read-only) for the alerts of a notification and
  return one report per application; with a store, Belay's own decisions feed the
  ``unapproved_revision`` rule. Nothing is stored.
* :func:`receive_notification`: what ``POST /api/v1/alerts`` does with a notification, for each
  alert by its fingerprint:

  - **resolved**: recorded as the resolution of the investigations that cover that alert (no
    Argo CD call); an investigation is resolved once all its alerts are;
  - **firing, already covered** by an investigation that still fires (Alertmanager re-sends a
    group's firing alerts when the group changes, and every ``repeat_interval``): left alone;
  - **firing, new**: investigated with the other new ones (:func:`investigate_alert`), each
    report stored with its alerts' fingerprints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from belay.config import ArgoCDResolution
from belay.investigate import (
    Alert,
    InvestigationReport,
    InvestigationSettings,
    investigate_alerts,
    store_gate_lookup,
)
from belay.store import Store

__all__ = [
    "NotificationOutcome",
    "StoredInvestigation",
    "investigate_alert",
    "receive_notification",
]


def investigate_alert(
    alerts: Sequence[Alert],
    resolution: ArgoCDResolution,
    *,
    settings: InvestigationSettings,
    store: Store | None = None,
    now: datetime | None = None,
    refuse_bad_names: bool = False,
) -> tuple[InvestigationReport, ...]:
    """One report per application the alerts name; nothing is written.

    ``store``, when given, is where Belay's own decisions about a revision are looked up (the
    same thresholds and gate records serve the CLI and the receiver). ``refuse_bad_names``
    (the CLI, where the operator can fix the file) raises :class:`~belay.errors.BadInput` when
    every application name is one Argo CD could never hold.
    """
    return investigate_alerts(
        alerts,
        resolution,
        settings=settings,
        now=now,
        gate_decisions=store_gate_lookup(store) if store is not None else None,
        refuse_bad_names=refuse_bad_names,
    )


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


def receive_notification(
    alerts: Sequence[Alert],
    raw: Any,
    *,
    store: Store,
    resolution: ArgoCDResolution,
    settings: InvestigationSettings,
    now: datetime,
) -> NotificationOutcome:
    """Resolve, skip or investigate each alert of a notification; store what was found.

    ``raw`` is the notification as received (stored with each report). Resolutions commit before
    Argo CD is asked anything, and the reports in one transaction after.
    """
    outcome = NotificationOutcome()
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
    reports = investigate_alert(fresh, resolution, settings=settings, store=store, now=now)
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
