"""Refusals in the audit trail: the first of a client's minute at once, the rest as one count."""

from __future__ import annotations

from pathlib import Path

import pytest

from belay.config.errors import ConfigError
from belay.config.settings import load_settings
from belay.store import Store
from belay.web.refusals import INTAKE, RefusalAudit


class Clock:
    """A settable wall clock (seconds)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_one_event_at_once_then_one_count_per_client_and_minute(database_url: str) -> None:
    """Two clients, 50 refusals each within a minute: two events each, the counts adding up,
    and nothing of what was sent in the trail; a later refusal opens a new window."""
    store = Store(database_url)
    store.upgrade()
    clock = Clock()
    audit = RefusalAudit(store, INTAKE, clock=clock)
    for n in range(50):
        for client in ("10.0.0.1", "10.0.0.2"):
            audit.refused(client, reason=f"no credentials ({n})", status=401)
        clock.now += 1
    with store.unit_of_work() as uow:
        assert [e.data["count"] for e in uow.audit.list()] == [1, 1]
    assert audit.flush() == 0  # the windows have not ended yet
    clock.now += 11
    assert audit.flush() == 2
    audit.refused("10.0.0.1", reason="no credentials", status=401)
    audit.locked_out("10.0.0.1", failures=20, seconds=60)
    with store.unit_of_work() as uow:
        events = uow.audit.list()
    assert [(e.kind, e.data["client"], e.data.get("count")) for e in events] == [
        ("intake.unauthorized", "10.0.0.1", 1),
        ("intake.unauthorized", "10.0.0.2", 1),
        ("intake.unauthorized", "10.0.0.1", 49),
        ("intake.unauthorized", "10.0.0.2", 49),
        ("intake.unauthorized", "10.0.0.1", 1),
        ("intake.locked_out", "10.0.0.1", None),
    ]
    third = events[2].data
    assert third["first_at"] < third["last_at"] and third["status"] == 401
    with store.unit_of_work() as uow:
        assert uow.audit.verify() is None
    store.dispose()


@pytest.mark.parametrize("host", ["belay.example.com:8080", "https://belay.example.com", "a/b"])
def test_allowed_hosts_are_names_only(tmp_path: Path, host: str) -> None:
    """web.allowed_hosts takes host names; a port, scheme or path is a configuration error."""
    path = tmp_path / "belay.yaml"
    path.write_text(f"web: {{allowed_hosts: ['{host}']}}\n")
    with pytest.raises(ConfigError, match=r"web\.allowed_hosts.*not a host name"):
        load_settings(path)


def test_a_flood_from_many_addresses_is_bounded(tmp_path: Path) -> None:
    """Each new address kept a window and wrote an event at once, without a limit; past
    MAX_CLIENTS the newcomers share one 'other clients' window."""
    from belay.web import refusals

    store = Store(f"sqlite:///{tmp_path / 'flood.db'}")
    store.upgrade()
    audit = refusals.RefusalAudit(store, refusals.INTAKE, clock=lambda: 1000.0)
    original = refusals.MAX_CLIENTS
    refusals.MAX_CLIENTS = 5
    try:
        for n in range(50):
            audit.refused(f"10.0.0.{n}", reason="no token", status=401)
    finally:
        refusals.MAX_CLIENTS = original
    assert len(audit._windows) == 6
    audit.flush(everything=True)
    with store.unit_of_work() as uow:
        events = uow.audit.list()
    assert len(events) <= 7
    assert sum(e.data["count"] for e in events) == 50
    store.dispose()
