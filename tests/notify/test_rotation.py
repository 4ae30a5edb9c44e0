"""Rotating the Argo CD token in the middle of a run of deployments loses and repeats nothing.

The simulator knows two tokens of the gate's account (old and new). Belay starts with the old
one in ``.env``; mid-run the new one is written to ``.env`` and the old one starts answering
``token is expired``. Every job must still end Synced+Healthy with exactly one accepted sync,
proven from the simulator's request log, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import pytest
from tests.support import unsigned_jwt, wait_until

from belay.config import resolve_argocd
from belay.deploy.credentials import ReloadingClients, install_sighup
from belay.deploy.worker import Worker
from belay.sim.testing import RunningSimulator, running_simulator
from belay.store import JobRecord, Store

from .helpers import FAST, audit_kinds, enqueue, sha, state, syncs_for

POLICIES = [
    "p, role:belay-webhook, applications, get, default/guestbook, allow",
    "p, role:belay-webhook, applications, sync, default/guestbook, allow",
]
OLD = unsigned_jwt({"sub": "belay-webhook:apiKey", "jti": "old-token", "iat": 1})
NEW = unsigned_jwt({"sub": "belay-webhook:apiKey", "jti": "new-token", "iat": 2})
JOBS = 6


def _state() -> dict[str, Any]:
    s = state(health="Healthy", seconds=0.15)
    s["accounts"] = [
        # One Argo CD account with two tokens, modelled as two simulator accounts.
        {"name": "belay-webhook-old", "token": OLD, "policies": POLICIES},
        {"name": "belay-webhook", "token": NEW, "policies": POLICIES},
    ]
    return s


def _write_env(sim: RunningSimulator, token: str) -> None:
    Path(".env").write_text(
        f"ARGOCD_BASE_URL={sim.url}\nARGOCD_AUTH_TOKEN={token}\nARGOCD_PROJECT=default\n"
    )


def _finished(store: Store, jobs: list[JobRecord]) -> list[str]:
    with store.unit_of_work() as uow:
        return [uow.jobs.get(j.id).state for j in jobs]  # type: ignore[union-attr]


def _rotate_mid_run(store: Store, *, use_sighup: bool) -> tuple[RunningSimulator, list[JobRecord]]:
    with running_simulator(_state()) as sim:
        _write_env(sim, OLD)
        clients = ReloadingClients(lambda: resolve_argocd(environ={}))
        restore = install_sighup(clients) if use_sighup else None
        jobs = [enqueue(store, revision=sha(100 + n)) for n in range(JOBS)]
        worker = Worker(store, clients, settings=FAST, reload_credentials=clients.reload_after_401)
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        try:
            # Swap while the third job's sync is in flight (accepted, not yet followed to the end).
            wait_until(lambda: len(syncs_for(sim, jobs[2].id)) == 1, interval=0.01)
            _write_env(sim, NEW)
            sim.set_faults({"expiredAccounts": ["belay-webhook-old"]})
            if use_sighup:
                signal.raise_signal(signal.SIGHUP)
            wait_until(
                lambda: all(s != "queued" and s != "running" for s in _finished(store, jobs)),
                interval=0.01,
            )
        finally:
            stop.set()
            thread.join(timeout=30)
            if restore is not None:
                restore()
        return sim, jobs


@pytest.mark.parametrize("use_sighup", [False, True], ids=["on-401", "sighup"])
def test_token_swap_mid_run_loses_and_repeats_nothing(store: Store, use_sighup: bool) -> None:
    """Every job succeeds with exactly one accepted sync; the old token was refused after the
    swap and the new one did the rest."""
    sim, jobs = _rotate_mid_run(store, use_sighup=use_sighup)
    assert _finished(store, jobs) == ["succeeded"] * JOBS
    for job in jobs:
        assert len(syncs_for(sim, job.id)) == 1, job.id
    requests = sim.requests()
    swap = next(i for i, r in enumerate(requests) if r.status == 401) if not use_sighup else None
    new_calls = [r for r in requests if r.account == "belay-webhook"]
    assert new_calls, "the new token was never used"
    first_new = requests.index(new_calls[0])
    assert all(r.account != "belay-webhook-old" or r.status == 401 for r in requests[first_new:])
    if swap is not None:
        assert requests[swap].account is None  # refused: the expired token has no session
        kinds = [k for j in jobs for k in audit_kinds(store, job_id=j.id)]
        assert kinds.count("credentials.reloaded") >= 1
    for job in jobs[3:]:
        syncs = syncs_for(sim, job.id)
        assert syncs[0].account == "belay-webhook"


def test_401_without_a_new_token_fails_once(store: Store) -> None:
    """When the configuration still holds the refused token, the job fails after one re-read."""
    with running_simulator(_state()) as sim:
        _write_env(sim, OLD)
        sim.set_faults({"expiredAccounts": ["belay-webhook-old"]})
        clients = ReloadingClients(lambda: resolve_argocd(environ={}))
        job = enqueue(store, revision=sha(200))
        Worker(
            store, clients, settings=FAST, reload_credentials=clients.reload_after_401
        ).run_once()
        assert syncs_for(sim, job.id) == []
    assert _finished(store, [job]) == ["failed"]
    assert "credentials.reloaded" not in audit_kinds(store, job_id=job.id)
