"""The alert receiver's use case over a real SQLite store: new alerts investigated and stored
once, repeats left alone, resolutions recorded (no Argo CD instance configured: nothing is
called)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.support import migrated_store

from belay.config import ArgoCDResolution
from belay.investigate import InvestigationSettings, parse_notification
from belay.services import NotificationOutcome, investigate_alert, receive_notification
from belay.store import Store

NOW = datetime(2026, 5, 1, 9, 20, tzinfo=UTC)
NOBODY = ArgoCDResolution(instances=())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty store."""
    with migrated_store(f"sqlite:///{tmp_path / 'belay.db'}") as store:
        yield store


def _notification(status: str) -> dict[str, Any]:
    return {
        "version": "4",
        "status": status,
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "KubePodNotReady", "app_kubernetes_io_instance": "shop"},
                "startsAt": "2026-05-01T09:15:00Z",
                **({"endsAt": "2026-05-01T09:19:00Z"} if status == "resolved" else {}),
                "fingerprint": "fp-shop",
            }
        ],
    }


def _receive(store: Store, status: str) -> NotificationOutcome:
    raw = _notification(status)
    return receive_notification(
        parse_notification(raw),
        raw,
        store=store,
        resolution=NOBODY,
        settings=InvestigationSettings(),
        now=NOW,
    )


def test_a_firing_alert_is_investigated_once_and_resolved(store: Store) -> None:
    """The first notification stores one report; a repeat stores none; the resolution closes it."""
    first = _receive(store, "firing")
    assert [s.application for s in first.stored] == ["shop"]
    report_id = first.stored[0].id
    again = _receive(store, "firing")
    assert again.stored == [] and again.already_investigated == {"fp-shop": [report_id]}
    resolved = _receive(store, "resolved")
    assert resolved.stored == [] and resolved.resolved == {"fp-shop": [report_id]}
    with store.unit_of_work() as uow:
        record = uow.investigations.record(report_id)
    assert record is not None and record.state == "resolved"


def test_a_resolution_nobody_investigated_resolves_nothing(store: Store) -> None:
    """A resolved alert without an investigation is recorded as resolving nothing."""
    outcome = _receive(store, "resolved")
    assert outcome == NotificationOutcome(resolved={"fp-shop": []})


def test_investigate_alert_stores_nothing(store: Store) -> None:
    """The one-shot report (``belay investigate``) reads the store's decisions, writes nothing."""
    reports = investigate_alert(
        parse_notification(_notification("firing")),
        NOBODY,
        settings=InvestigationSettings(),
        store=store,
        now=NOW,
    )
    assert [r.application for r in reports] == ["shop"]
    with store.unit_of_work() as uow:
        assert uow.investigations.search(limit=10) == []
