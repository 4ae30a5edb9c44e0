"""The shared list-and-watch of applications, against the real simulator over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from belay.argocd import ArgoCDClient, SyncRequest, WatchEvent
from belay.argocd.informer import ApplicationInformer, InformerRegistry
from belay.argocd.models import Info
from belay.sim import server as sim_server
from belay.sim.sample import sample_state
from belay.sim.testing import RunningSimulator, running_simulator

APP = "guestbook"
SHA = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"


class Recorder:
    """A handler that keeps what it was given and can wait for a condition on it."""

    def __init__(self) -> None:
        self.events: list[tuple[WatchEvent, bool]] = []
        self._cond = threading.Condition()

    def __call__(self, event: WatchEvent, *, from_list: bool) -> None:
        with self._cond:
            self.events.append((event, from_list))
            self._cond.notify_all()

    def wait(self, predicate: Any, timeout: float = 20.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.events), timeout)


def _phase(event: WatchEvent) -> str:
    state = event.application.status.operation_state
    return state.phase if state else ""


def _marked(event: WatchEvent, marker: str) -> bool:
    state = event.application.status.operation_state
    return state is not None and any(i.value == marker for i in state.operation.info)


@contextmanager
def _informer(sim: RunningSimulator, **options: Any) -> Iterator[ApplicationInformer]:
    informer = ApplicationInformer(
        "default",
        lambda: ArgoCDClient(sim.url, username="admin", password="admin", timeout=5.0),
        **options,
    )
    try:
        yield informer.start()
    finally:
        informer.stop()


def _sync(sim: RunningSimulator, marker: str) -> None:
    with ArgoCDClient(sim.url, username="admin", password="admin", timeout=5.0) as client:
        client.sync(APP, SyncRequest(revision=SHA, infos=[Info(name="belay-job", value=marker)]))


def _state(seconds: float = 0.2) -> dict[str, Any]:
    state = sample_state()
    state["syncBehavior"] = {APP: {"seconds": seconds, "health": "Healthy"}}
    return state


def test_list_is_delivered_then_changes() -> None:
    """Every application comes first as a listed ADDED event, then its changes, to the end."""
    recorder = Recorder()
    with running_simulator(_state()) as sim, _informer(sim) as informer:
        informer.add_handler(recorder)
        assert informer.synced.wait(10)
        assert recorder.wait(lambda es: any(fl and e.type == "ADDED" for e, fl in es))
        _sync(sim, "m-1")
        assert recorder.wait(
            lambda es: any(_marked(e, "m-1") and _phase(e) == "Succeeded" for e, _ in es)
        )
        cached = informer.get(APP)
        assert cached is not None and cached.metadata.name == APP
    watches = [r for r in sim.requests() if r.path == "/api/v1/stream/applications"]
    assert len(watches) == 1, "one connection for the whole run"


def test_cut_streams_lose_no_change() -> None:
    """Streams cut after each event: every sync's end is still delivered (a list per resume)."""
    recorder = Recorder()
    with running_simulator(_state(0.05)) as sim, _informer(sim) as informer:
        informer.add_handler(recorder)
        assert informer.synced.wait(10)
        sim.set_faults({"dropWatchAfterEvents": 1})
        for n in range(5):
            _sync(sim, f"cut-{n}")
            assert recorder.wait(
                lambda es, n=n: any(
                    _marked(e, f"cut-{n}") and _phase(e) == "Succeeded" for e, _ in es
                )
            ), f"sync {n} never seen ending"
        assert informer.lists > 1


def test_a_quiet_stream_is_still_relisted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The periodic re-list happens on a stream with no event, whose keepalives would otherwise
    keep it open for ever: the clock is checked at each keepalive too."""
    monkeypatch.setattr(sim_server, "SSE_KEEPALIVE_SECONDS", 0.05)
    recorder = Recorder()
    with running_simulator(_state()) as sim, _informer(sim, relist_seconds=0.2) as informer:
        informer.add_handler(recorder)
        assert informer.synced.wait(10)
        # Three lists after the handler came: each delivers the application as a listed ADDED.
        assert recorder.wait(
            lambda es: sum(fl and e.application.metadata.name == APP for e, fl in es) >= 3
        ), f"re-listed only {informer.lists - 1} times on a quiet stream"
    assert all(fl for _, fl in recorder.events), "the stream stayed quiet: no event, only lists"
    assert informer.lists >= 3


def test_expired_version_is_relisted() -> None:
    """A watch refused as too old (410) starts again from a list; no change is missed."""
    recorder = Recorder()
    with running_simulator(_state(0.05)) as sim, _informer(sim) as informer:
        informer.add_handler(recorder)
        assert informer.synced.wait(10)
        sim.set_faults({"dropWatchAfterEvents": 1, "expireWatchVersions": True})
        for n in range(3):
            _sync(sim, f"old-{n}")
            assert recorder.wait(
                lambda es, n=n: any(
                    _marked(e, f"old-{n}") and _phase(e) == "Succeeded" for e, _ in es
                )
            )
    refused = [
        r for r in sim.requests() if r.path == "/api/v1/stream/applications" and r.status == 410
    ]
    assert refused, "the fault was exercised"


def test_a_failing_handler_does_not_stop_the_others() -> None:
    """A handler that raises is logged; the next handler still gets every event."""
    recorder = Recorder()

    def broken(event: WatchEvent, *, from_list: bool) -> None:
        raise RuntimeError("boom")

    with running_simulator(_state()) as sim, _informer(sim) as informer:
        informer.add_handler(broken)
        informer.add_handler(recorder)
        _sync(sim, "after-boom")
        assert recorder.wait(lambda es: any(_marked(e, "after-boom") for e, _ in es))


def test_registry_gives_one_informer_per_instance() -> None:
    """The registry makes and starts one informer per instance and stops them all."""
    with running_simulator(_state()) as sim:
        registry = InformerRegistry(
            lambda _name: ArgoCDClient(sim.url, username="admin", password="admin", timeout=5.0)
        )
        first = registry("default")
        assert registry("default") is first
        assert first.synced.wait(10)
        registry.stop()
        assert first.stopped


def test_refused_streams_fall_back_to_listing() -> None:
    """While every watch is refused (503), lists between attempts still bring each change."""
    recorder = Recorder()
    with running_simulator(_state(0.05)) as sim:
        sim.set_faults({"errorRate": 1.0, "statusCodes": [503], "paths": ["/api/v1/stream/*"]})
        with _informer(sim) as informer:
            informer.add_handler(recorder)
            _sync(sim, "no-stream")
            assert recorder.wait(
                lambda es: any(_marked(e, "no-stream") and _phase(e) == "Succeeded" for e, _ in es)
            )
    assert not [
        r for r in sim.requests() if r.path.startswith("/api/v1/stream") and r.status == 200
    ]
