"""The bypass tests' world: a real simulator over HTTP with a second account, a real store, and
a list+watch feeding handlers on background threads."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from tests.support import waiting

from belay.argocd import ArgoCDClient, SyncRequest, WatchEvent
from belay.argocd.models import Info
from belay.bypass import BypassHandler, ListWatch
from belay.config.settings import BelaySettings
from belay.sim.sample import sample_state
from belay.sim.testing import RunningSimulator, running_simulator
from belay.store import DecisionRecord, Store, new_id

REPO = "https://github.com/argoproj/argocd-example-apps.git"
START = sample_state()["applications"][0]["status"]["history"][0]["revision"]
ADMIN_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl"
OTHER_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJl"


def commit(n: int) -> str:
    """A distinct 40-hex commit id."""
    return f"{n:040x}"


def bypass_state(
    apps: tuple[str, ...] = ("shop",), *, auto: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Synced apps (copies of the sample) plus auto-sync apps tracking ``main``, two accounts."""
    base = sample_state()
    template = base["applications"][0]
    applications = []
    behavior: dict[str, Any] = {}
    for name in (*apps, *auto):
        app = copy.deepcopy(template)
        app["metadata"]["name"] = name
        app["metadata"]["uid"] = f"uid-{name}"
        if name in auto:
            app["spec"]["source"]["targetRevision"] = "main"
            app["spec"]["syncPolicy"] = {"automated": {}}
        applications.append(app)
        behavior[name] = {"seconds": 0.05, "health": "Healthy"}
    return {
        "version": base["version"],
        "applications": applications,
        "syncBehavior": behavior,
        "repositories": {REPO: {"refs": {"HEAD": START, "main": START}, "commits": [START]}},
        "accounts": [
            {"name": "admin", "token": ADMIN_TOKEN},
            {
                "name": "mallory",
                "token": OTHER_TOKEN,
                "policies": ["p, mallory, applications, *, */*, allow"],
            },
        ],
    }


def settings_for(apps: tuple[str, ...], database_url: str, **project: Any) -> BelaySettings:
    """belay.yaml mapping one project per app on the default instance."""
    return BelaySettings.model_validate(
        {
            "database_url": database_url,
            "projects": [
                {
                    "name": app,
                    "match": {"remote": REPO},
                    "argocd": {"application": app},
                    **project,
                }
                for app in apps
            ],
        }
    )


def approve(store: Store, app: str, revision: str, *, decision: str = "pass") -> None:
    """Store a decision about ``app`` at ``revision`` (as the intake does)."""
    with store.unit_of_work() as uow:
        uow.decisions.add(
            DecisionRecord(
                id=new_id(),
                decided_at=datetime.now(UTC),
                decision=decision,  # type: ignore[arg-type]
                project=app,
                instance="default",
                application=app,
                revision=revision,
                verdict={"summary": "test"},
            )
        )
        uow.commit()


def sync_as(
    sim: RunningSimulator, token: str, app: str, revision: str, infos: list[Info] | None = None
) -> None:
    """Sync ``app`` at ``revision`` with ``token``'s account, once the app runs no operation."""
    wait_until(lambda: sim.application(app).get("operation") is None, f"{app} idle")
    with ArgoCDClient(sim.url, token=token) as client:
        client.sync(app, SyncRequest(revision=revision, infos=infos))


def push(sim: RunningSimulator, revision: str, ref: str = "main") -> list[str]:
    """A git push to the sample repository (auto-sync apps tracking ``ref`` follow)."""
    answer = httpx.post(
        f"{sim.url}/_sim/push", json={"repoURL": REPO, "ref": ref, "revision": revision}
    )
    answer.raise_for_status()
    return list(answer.json()["synced"])


def history_ids(sim: RunningSimulator, app: str) -> list[int]:
    """The ids of ``app``'s history entries."""
    return [int(h["id"]) for h in sim.application(app)["status"].get("history") or []]


def wait_until(predicate: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Poll ``predicate`` until it holds (a liveness bound, not a speed assertion)."""
    waiting.wait_until(
        predicate, timeout=timeout, interval=0.02, what=f"waited {timeout} s for {what}"
    )


@dataclass
class Watcher:
    """A list+watch feeding one handler on a thread; remembers what it saw."""

    handler: BypassHandler
    source: ListWatch
    stop: threading.Event = field(default_factory=threading.Event)
    seen: dict[str, int] = field(default_factory=dict)
    thread: threading.Thread | None = None

    def _record(self, event: WatchEvent, *, from_list: bool = False) -> None:
        self.handler.handle(event)
        rv = event.application.metadata.resource_version
        self.seen[event.application.name] = int(rv) if rv.isdigit() else 0

    def start(self) -> Watcher:
        self.source.add_handler(self._record)
        self.thread = threading.Thread(target=self.source.run, args=(self.stop,), daemon=True)
        self.thread.start()
        return self

    def caught_up(self, sim: RunningSimulator, app: str) -> None:
        """Wait until the handler has judged the simulator's current version of ``app``."""

        def current() -> bool:
            rv = int(sim.application(app)["metadata"]["resourceVersion"])
            return self.seen.get(app, -1) >= rv

        wait_until(current, f"the watcher to see {app}'s latest version")
        self.handler.flush()

    def close(self) -> None:
        # The thread may sit in a stream read until its read timeout; it delivers nothing more
        # once stopped, so the test need not wait for it.
        self.stop.set()


@pytest.fixture
def make_watcher() -> Iterator[Callable[..., Watcher]]:
    """Start watchers (closed at the end of the test)."""
    made: list[Watcher] = []

    def make(
        sim: RunningSimulator,
        store: Store,
        settings: BelaySettings,
        **handler_args: Any,
    ) -> Watcher:
        # The sample's own history (August 2026) predates the watch, as at a real first start.
        handler_args.setdefault("since", datetime.now(UTC) - timedelta(minutes=1))
        handler = BypassHandler(store, settings, instance="default", **handler_args)
        source = ListWatch(
            lambda _name: ArgoCDClient(sim.url, token=ADMIN_TOKEN), "default", read_timeout=5
        )
        watcher = Watcher(handler, source).start()
        made.append(watcher)
        return watcher

    yield make
    for watcher in made:
        watcher.close()


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    """The simulator with ``shop`` (synced) and ``auto`` (auto-sync on ``main``)."""
    with running_simulator(bypass_state(("shop",), auto=("auto",))) as running:
        yield running
