"""The public face of ``belay.services``: the use cases the web app and the CLI call."""

from __future__ import annotations

import belay.services as services

EXPORTED = {
    "ANNOUNCE_WAIT_SECONDS",
    "DEFAULT_BUNDLE_NAME",
    "Delivery",
    "IntakeResponse",
    "IntakeService",
    "ManualSync",
    "NotificationOutcome",
    "StoredInvestigation",
    "credentials_from_settings",
    "investigate_alert",
    "receive_notification",
    "submit_delivery",
}


def test_all_is_pinned_and_importable() -> None:
    """``__all__`` is exactly the pinned set, and every name in it exists."""
    assert set(services.__all__) == EXPORTED
    for name in services.__all__:
        assert hasattr(services, name), name
