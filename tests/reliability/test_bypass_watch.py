"""The bypass watch under faults: cut and failing watch streams, a gap with no watch at all, and
two ``belay serve`` replicas on the real PostgreSQL, one SIGKILLed: no bypass missed, none
reported twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support import free_port, wait_http

from belay.sim.testing import running_simulator
from belay.store import Store

from ..bypass.conftest import (
    OTHER_TOKEN,
    Watcher,
    bypass_state,
    commit,
    settings_for,
    sync_as,
    wait_until,
)
from ..bypass.conftest import make_watcher as make_watcher
from .helpers import argocd_env, settings_yaml, write

pytestmark = pytest.mark.reliability

APPS = ("shop", "cart")


def _reported(store: Store) -> list[str]:
    with store.unit_of_work() as uow:
        return sorted(r.revision for r in uow.bypass.recent(limit=10_000))


def _unapproved_events(store: Store) -> list[str]:
    with store.unit_of_work() as uow:
        events = uow.audit.list(kind="deployment.unapproved", limit=10_000)
    return sorted(e.revision or "" for e in events)


def _wait_reported(store: Store, sent: list[str], what: str) -> None:
    """Wait until exactly ``sent`` is reported; on a timeout, say what is missing or extra."""
    try:
        wait_until(lambda: _reported(store) == sorted(sent), what, 90)
    except TimeoutError:
        got = _reported(store)
        missing = sorted(set(sent) - set(got))
        extra = sorted(r for r in got if r not in sent or got.count(r) > 1)
        raise AssertionError(f"{what}: missing {missing}, unexpected {extra}") from None


def test_cut_streams_stream_errors_and_a_gap_miss_no_bypass(
    store: Store,
    make_watcher: Callable[..., Watcher],
) -> None:
    """Streams cut every few events, then failing with a stream error, then no watch at all
    for several syncs: every unapproved sync is reported, exactly once."""
    settings = settings_for(APPS, store.url)
    sent: list[str] = []
    with running_simulator(bypass_state(APPS)) as sim:
        sim.set_faults({"dropWatchAfterEvents": 3})
        first = make_watcher(sim, store, settings)
        for n in range(8):
            sent.append(commit(1000 + n))
            sync_as(sim, OTHER_TOKEN, APPS[n % 2], sent[-1])
        sim.set_faults({"watchErrorAfterEvents": 2})
        for n in range(8, 16):
            sent.append(commit(1000 + n))
            sync_as(sim, OTHER_TOKEN, APPS[n % 2], sent[-1])
        _wait_reported(store, sent, "every bypass reported")
        # A gap: no watcher runs while five more syncs happen (fewer than the history keeps).
        first.close()
        sim.set_faults({})
        for n in range(16, 21):
            sent.append(commit(1000 + n))
            sync_as(sim, OTHER_TOKEN, APPS[n % 2], sent[-1])
        wait_until(
            lambda: all(sim.application(a).get("operation") is None for a in APPS), "syncs done"
        )
        make_watcher(sim, store, settings)
        _wait_reported(store, sent, "the gap's bypasses reported")
    assert _unapproved_events(store) == sorted(sent)


def _serve(config: Path, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "belay.cli",
                "serve",
                "--config",
                str(config),
                "--port",
                str(port),
            ],
            env=env,
            stdout=out,
            stderr=out,
        )


@pytest.mark.postgres
def test_two_replicas_one_killed_no_bypass_twice_or_lost(postgres_url: str, tmp_path: Path) -> None:
    """Two ``belay serve`` on one PostgreSQL; the lease holder is SIGKILLed between two rounds
    of unapproved syncs: the other takes over and every bypass is reported exactly once."""
    extra = "bypass: {lease_seconds: 3}\n"
    config = write(tmp_path / "belay.yaml", settings_yaml(postgres_url, APPS, extra=extra))
    log = tmp_path / "serve.log"
    store = Store(postgres_url)
    sent: list[str] = []
    with running_simulator(bypass_state(APPS)) as sim:
        env = {**os.environ, **argocd_env(sim), "BELAY_TOKEN_RELIABILITY": "replica-test-token"}
        ports = [free_port(), free_port()]
        replicas = [_serve(config, port, env, log) for port in ports]
        try:
            for port, proc in zip(ports, replicas, strict=True):
                wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
            wait_until(lambda: _holder(store) is not None, "a lease holder", 30)
            for n in range(6):
                sent.append(commit(2000 + n))
                sync_as(sim, OTHER_TOKEN, APPS[n % 2], sent[-1])
            _wait_reported(store, sent, "round one reported")
            holder = _holder(store)
            assert holder is not None
            victim = next(p for p in replicas if f":{p.pid}:" in holder)
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
            for n in range(6, 12):  # sent while the lease is still the dead replica's
                sent.append(commit(2000 + n))
                sync_as(sim, OTHER_TOKEN, APPS[n % 2], sent[-1])
            _wait_reported(store, sent, "round two reported")
            survivor = next(p for p in replicas if p is not victim)
            new_holder = _holder(store)
            assert new_holder is not None and f":{survivor.pid}:" in new_holder
            assert _unapproved_events(store) == sorted(sent)
            with store.unit_of_work() as uow:
                reporters = {r.revision: r.reporter for r in uow.bypass.recent(limit=100)}
            assert {reporters[r] for r in sent[6:]} == {new_holder}
        finally:
            for proc in replicas:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        proc.kill()
            store.dispose()


def _holder(store: Store) -> str | None:
    from sqlalchemy import select

    from belay.store.bypass import BypassLeaseRow

    with store.session() as session:
        return session.scalar(
            select(BypassLeaseRow.owner).where(BypassLeaseRow.name == "bypass:default")
        )
