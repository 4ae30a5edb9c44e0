"""Gate-bypass detection: syncs by another account in the simulator, flagged by belay serve.

``belay serve`` (SQLite) watches 20 mapped applications in the simulator, which runs in this
process. Another Argo CD account (``mallory``) then syncs them, at most one operation per
application at a time, ten applications at once:

* 200 syncs to commits without a decision: each must be reported once; the figure is the p99
  of the time from sending ``POST .../sync`` to the report's ``reported_at`` in the store (both
  clocks are this machine's);
* 200 re-syncs to commits with a passing decision (stored before the start): none may be
  reported (false alarms), counted once the simulator finished every sync and a short settling
  time passed.
"""

from __future__ import annotations

import copy
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from belay.argocd import ArgoCDClient, SyncRequest
from belay.sim.sample import sample_state
from belay.sim.testing import RunningSimulator, running_simulator
from belay.store import DecisionRecord, Store, new_id
from benchmarks.common import (
    BELAY,
    Figure,
    free_port,
    percentile,
    project_yaml,
    server_process,
    settings_yaml,
)

GOAL_SECONDS = 2.0
APPS = 20
PARALLEL = 10
SETTLE_SECONDS = 3.0
ADMIN_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl"
OTHER_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJl"


def _state() -> dict[str, Any]:
    base = sample_state()
    template = base["applications"][0]
    apps, behavior = [], {}
    for n in range(APPS):
        app = copy.deepcopy(template)
        app["metadata"]["name"] = f"bp-{n:02d}"
        app["metadata"]["uid"] = f"00000000-0000-4000-8000-{n:012d}"
        apps.append(app)
        behavior[f"bp-{n:02d}"] = {"seconds": 0.05, "health": "Healthy"}
    return {
        "version": base["version"],
        "applications": apps,
        "syncBehavior": behavior,
        "accounts": [
            {"name": "admin", "token": ADMIN_TOKEN},
            {
                "name": "mallory",
                "token": OTHER_TOKEN,
                "policies": ["p, mallory, applications, *, */*, allow"],
            },
        ],
    }


def _commit(tag: str, n: int) -> str:
    import hashlib

    return hashlib.sha1(f"{tag}{n}".encode(), usedforsecurity=False).hexdigest()


def _sync_all(sim: RunningSimulator, revisions: list[str]) -> dict[str, float]:
    """Send one sync per revision (app = index mod APPS); the send time of each revision."""
    sent: dict[str, float] = {}
    lock = threading.Lock()
    lanes: dict[int, list[str]] = {}
    for n, revision in enumerate(revisions):
        lanes.setdefault(n % APPS, []).append(revision)

    def lane(app_index: int) -> None:
        name = f"bp-{app_index:02d}"
        with ArgoCDClient(sim.url, token=OTHER_TOKEN) as client:
            for revision in lanes[app_index]:
                while sim.application(name).get("operation") is not None:
                    time.sleep(0.05)
                with lock:
                    sent[revision] = time.time()
                client.sync(name, SyncRequest(revision=revision))

    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(lane, sorted(lanes)))
    return sent


def _reported(store: Store) -> dict[str, datetime]:
    with store.unit_of_work() as uow:
        return {r.revision: r.reported_at for r in uow.bypass.recent(limit=100_000)}


def measure(quick: bool) -> list[Figure]:
    """Detection latency, misses and false alarms on SQLite and, when
    ``BELAY_TEST_DATABASE_URL`` is set, on a fresh PostgreSQL database."""
    count = 50 if quick else 200
    with tempfile.TemporaryDirectory(prefix="belay-bench-bypass-") as tmp:
        figures = _run(f"sqlite:///{Path(tmp) / 'bypass.db'}", Path(tmp), count, "")
    admin = os.environ.get("BELAY_TEST_DATABASE_URL")
    if admin:
        from benchmarks.intake import postgres_database

        with (
            postgres_database(admin) as url,
            tempfile.TemporaryDirectory(prefix="belay-bench-bypass-pg-") as tmp,
        ):
            figures += _run(url, Path(tmp), count, ".postgresql")
    return figures


def _approve(store: Store, good: list[str]) -> None:
    with store.unit_of_work() as uow:
        for n, revision in enumerate(good):
            app = f"bp-{n % APPS:02d}"
            uow.decisions.add(
                DecisionRecord(
                    id=new_id(),
                    decided_at=datetime.now(UTC),
                    decision="pass",
                    project=app,
                    instance="default",
                    application=app,
                    revision=revision,
                    verdict={"summary": "bench"},
                )
            )
        uow.commit()


def _run(db: str, work: Path, count: int, suffix: str) -> list[Figure]:
    bad = [_commit("unapproved", n) for n in range(count)]
    good = [_commit("approved", n) for n in range(count)]
    store = Store(db)
    store.upgrade()
    _approve(store, good)
    projects = [
        project_yaml(f"bp-{n:02d}", f"https://gitlab.com/bench/bp-{n:02d}.git", f"bp-{n:02d}")
        for n in range(APPS)
    ]
    (work / "belay.yaml").write_text(settings_yaml(db, projects))
    port = free_port()
    with running_simulator(_state()) as sim:
        env = {"ARGOCD_BASE_URL": sim.url, "ARGOCD_AUTH_TOKEN": ADMIN_TOKEN}
        argv = [BELAY, "serve", "--config", str(work / "belay.yaml"), "--port", str(port)]
        with server_process(argv, port=port, log=work / "serve.log", env=env):
            deadline = time.monotonic() + 30
            while not _leased(store) and time.monotonic() < deadline:
                time.sleep(0.1)
            sent = _sync_all(sim, bad)
            deadline = time.monotonic() + 60
            while len(_reported(store)) < count and time.monotonic() < deadline:
                time.sleep(0.1)
            flagged = _reported(store)
            _sync_all(sim, good)
            names = [f"bp-{n:02d}" for n in range(APPS)]
            while any(sim.application(a).get("operation") for a in names):
                time.sleep(0.05)
            time.sleep(SETTLE_SECONDS)
            after = _reported(store)
    store.dispose()
    latencies = [flagged[r].timestamp() - sent[r] for r in bad if r in flagged]
    missed = sum(1 for r in bad if r not in flagged)
    false_alarms = sum(1 for r in good if r in after)
    p99 = percentile(latencies, 99) if latencies else None
    backend = "PostgreSQL" if suffix else "SQLite"
    note = (
        f"{count} unapproved syncs by another account over {APPS} apps, {PARALLEL} at once, "
        f"belay serve on {backend}"
    )
    return [
        Figure(
            name=f"bypass.detection{suffix}",
            value=round(p99, 3) if p99 is not None else None,
            unit="s p99",
            goal=f"< {GOAL_SECONDS:g} s",
            met=p99 is not None and p99 < GOAL_SECONDS and missed == 0,
            note=note,
            details={
                "p50": round(percentile(latencies, 50), 3) if latencies else None,
                "max": round(max(latencies), 3) if latencies else None,
                "flagged": len(latencies),
                "missed": missed,
            },
        ),
        Figure(
            name=f"bypass.missed{suffix}",
            value=float(missed),
            unit="syncs",
            goal="0",
            met=missed == 0,
            note=f"of {count} unapproved syncs",
        ),
        Figure(
            name=f"bypass.false_alarms{suffix}",
            value=float(false_alarms),
            unit="reports",
            goal="0",
            met=false_alarms == 0,
            note=f"over {count} re-syncs to approved commits",
        ),
    ]


def _leased(store: Store) -> bool:
    from sqlalchemy import select

    from belay.store.bypass import BypassLeaseRow

    try:
        with store.session() as session:
            return session.scalar(select(BypassLeaseRow.owner)) is not None
    except Exception:  # noqa: BLE001 - not migrated yet by the server
        return False
