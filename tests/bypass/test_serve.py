"""The bypass watch with the composition root's clients and alerting: through ``belay serve``'s
own wiring (the shared informer), with its own list+watch when given no event source, and what a
person and a gate see over HTTP (page badge, decision API, metric)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from belay.argocd import ArgoCDClient, WatchEvent
from belay.bootstrap import build_services
from belay.bypass import UNAPPROVED_KIND, start_bypass_watch
from belay.config.settings import load_settings
from belay.policies import PACKAGED_POLICIES
from belay.sim.testing import running_simulator
from belay.store import Store
from belay.web import create_app, serve_in_thread

from .conftest import (
    ADMIN_TOKEN,
    OTHER_TOKEN,
    bypass_state,
    commit,
    history_ids,
    settings_for,
    sync_as,
    wait_until,
)


def test_serve_flags_a_bypass_on_the_page_the_api_and_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync by another account shows as a badge, in the decision API and in the metric (the
    watch given no event source, so running its own ListWatch)."""
    db = f"sqlite:///{tmp_path / 'belay.db'}"
    config = tmp_path / "belay.yaml"
    config.write_text(
        f'database_url: "{db}"\n'
        f"policies: {{default: {PACKAGED_POLICIES / 'default.yaml'}}}\n"
        "bypass: {lease_seconds: 3}\n"
        "projects:\n"
        "  - name: shop\n"
        '    match: {remote: "https://gitlab.com/acme/shop.git"}\n'
        "    argocd: {application: shop}\n"
    )
    bad = commit(4242)
    with running_simulator(bypass_state(("shop",))) as sim:
        monkeypatch.setenv("ARGOCD_BASE_URL", sim.url)
        monkeypatch.setenv("ARGOCD_AUTH_TOKEN", ADMIN_TOKEN)
        services = build_services(load_settings(config))
        stop = threading.Event()
        try:
            threads = start_bypass_watch(
                services.store,
                services.settings,
                services.clients,
                alerting=services.alerting,
                stop=stop,
            )
            assert len(threads) == 2  # the watch and the lease of the one instance
            wait_until(lambda: _leased(services.store), "the lease")
            sync_as(sim, OTHER_TOKEN, "shop", bad)
            wait_until(lambda: _reports(services.store) == 1, "the report")
            with serve_in_thread(create_app(services)) as url, httpx.Client() as client:
                page = client.get(f"{url}/submissions").text
                answer = client.get(
                    f"{url}/api/v1/decisions", params={"application": "shop", "revision": bad}
                ).json()
                metrics = client.get(f"{url}/metrics").text
        finally:
            stop.set()
            services.close()
    assert 'data-unapproved="1"' in page and "mallory" in page
    assert answer["approved"] is False
    assert answer["unapproved"]["by"] == "mallory"
    assert "belay_unapproved_deployments_total 1.0" in metrics


def test_belay_serve_wiring_reports_once_over_the_instance_s_one_watch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through ``belay serve``'s own wiring (build_services, then _start_bypass_watch): a sync by
    another account is reported once, and the instance has one watch connection, the shared
    informer's, not a second one of the bypass watch's own."""
    from belay.cli.serve import _start_bypass_watch

    config = tmp_path / "belay.yaml"
    config.write_text(
        f'database_url: "sqlite:///{tmp_path / "belay.db"}"\n'
        f"policies: {{default: {PACKAGED_POLICIES / 'default.yaml'}}}\n"
        "bypass: {lease_seconds: 3}\n"
        "projects:\n"
        "  - name: shop\n"
        '    match: {remote: "https://gitlab.com/acme/shop.git"}\n'
        "    argocd: {application: shop}\n"
    )
    bad = commit(4343)
    with running_simulator(bypass_state(("shop",))) as sim:
        monkeypatch.setenv("ARGOCD_BASE_URL", sim.url)
        monkeypatch.setenv("ARGOCD_AUTH_TOKEN", ADMIN_TOKEN)
        services = build_services(load_settings(config))
        stop = threading.Event()
        try:
            threads = _start_bypass_watch(services, stop)
            assert [t.name for t in threads] == ["belay-bypass-lease-default"]
            assert services.informers is not None
            informer = services.informers("default")
            wait_until(lambda: _leased(services.store), "the lease")
            wait_until(informer.synced.is_set, "the informer's first list")
            sync_as(sim, OTHER_TOKEN, "shop", bad)
            wait_until(lambda: _reports(services.store) == 1, "the report")

            def caught_up() -> bool:
                seen = informer.get("shop")
                current = sim.application("shop")
                return (
                    seen is not None
                    and current.get("operation") is None
                    and len(history_ids(sim, "shop")) > 1
                    and seen.metadata.resource_version == current["metadata"]["resourceVersion"]
                )

            wait_until(caught_up, "the informer to see the finished sync")
            stop.wait(0.5)  # reports are written in the background: give a second one a chance
            with services.store.unit_of_work() as uow:
                reports = [(r.revision, r.initiated_by) for r in uow.bypass.recent(limit=10)]
                events = uow.audit.list(application="shop", kind=UNAPPROVED_KIND, limit=10)
            watches = [r for r in sim.requests() if r.path == "/api/v1/stream/applications"]
        finally:
            stop.set()
            services.close()
    assert reports == [(bad, "mallory")]
    assert [e.revision for e in events] == [bad]
    assert len(watches) == 1, [(r.time, r.query) for r in watches]


def _reports(store: Store) -> int:
    with store.unit_of_work() as uow:
        return uow.bypass.count()


def _leased(store: Store) -> bool:
    from sqlalchemy import select

    from belay.store.bypass import BypassLeaseRow

    with store.session() as session:
        return session.scalar(select(BypassLeaseRow.owner)) is not None


class _Informer:
    """An event source as the shared informer offers it: handlers, called with each event."""

    def __init__(self) -> None:
        self.handlers: list[Callable[[WatchEvent], object]] = []

    def add_handler(self, handler: Callable[[WatchEvent], object]) -> None:
        self.handlers.append(handler)


def test_a_given_event_source_replaces_the_list_watch(tmp_path: Path) -> None:
    """With an informer for the instance, only the lease thread runs and its events are judged."""
    store = Store(f"sqlite:///{tmp_path / 'belay.db'}")
    store.upgrade()
    settings = settings_for(("shop",), store.url)
    informer = _Informer()
    stop = threading.Event()
    bad = commit(77)
    with running_simulator(bypass_state(("shop",))) as sim:
        threads = start_bypass_watch(
            store,
            settings,
            lambda _name: ArgoCDClient(sim.url, token=ADMIN_TOKEN),
            alerting=None,
            stop=stop,
            sources={"default": informer},
        )
        try:
            assert [t.name for t in threads] == ["belay-bypass-lease-default"]
            wait_until(lambda: _leased(store), "the lease")
            sync_as(sim, OTHER_TOKEN, "shop", bad)
            wait_until(lambda: bool(history_ids(sim, "shop")[1:]), "the sync's history entry")
            event = WatchEvent.model_validate(
                {"type": "MODIFIED", "application": sim.application("shop")}
            )
            for handler in informer.handlers:
                handler(event)
            wait_until(lambda: _reports(store) == 1, "the report")
        finally:
            stop.set()
            store.dispose()
