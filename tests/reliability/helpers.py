"""Shared pieces of the reliability suite: bundles, simulator states, belay.yaml, store checks."""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from belay.deploy import MARKER_NAME
from belay.gate import write_bundle
from belay.jsonio import dumps
from belay.policies import PACKAGED_POLICIES
from belay.sim.sample import sample_state
from belay.sim.testing import RunningSimulator
from belay.store import JobRecord, Store

# Simulated controller times and worker backoffs stay at or under 0.05 s (issue 10).
FAST_WORKER = {
    "lease_seconds": 2,
    "poll_interval_seconds": 0.02,
    "backoff_base_seconds": 0.01,
    "backoff_max_seconds": 0.05,
}
SYNC_SECONDS = 0.02
END_STATES = frozenset({"succeeded", "failed", "superseded", "timed_out"})


def remote(app: str) -> str:
    """The git remote of the project deploying ``app``."""
    return f"https://gitlab.com/acme/{app}.git"


def reports(now: datetime, *, passing: bool = True) -> list[tuple[str, bytes, list[str]]]:
    """Portage's four reports, clean; a failing set leaves out the required gitleaks report."""
    stamp = now.isoformat()
    syft = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "metadata": {"timestamp": stamp, "tools": {"components": [{"name": "syft"}]}},
        "components": [],
    }
    grype = {"matches": [], "descriptor": {"name": "grype", "timestamp": stamp}}
    semgrep = {"results": [], "errors": [], "version": "1.100.0"}
    out = [
        ("syft-sbom.json", dumps(syft), ["type:syft"]),
        ("grype-report.json", dumps(grype), ["type:grype"]),
        ("semgrep-report.json", dumps(semgrep), ["type:semgrep"]),
    ]
    if passing:
        out.append(("gitleaks-report.json", b"[]", ["type:gitleaks"]))
    return out


class BundleFactory:
    """Bundles built from one fixed set of reports, varied by app and commit only."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self._reports = {True: reports(self.now), False: reports(self.now, passing=False)}

    def __call__(self, app: str, commit: str, *, passing: bool) -> bytes:
        return write_bundle(
            self._reports[passing],
            created_at=self.now,
            commit=commit,
            branch="main",
            remote=remote(app),
        )


def commit_for(n: int, salt: str = "") -> str:
    """A distinct 40-hex commit for submission ``n``."""
    import hashlib

    return hashlib.sha1(f"{salt}{n}".encode(), usedforsecurity=False).hexdigest()


def multi_app_state(
    apps: Sequence[str],
    *,
    seconds: float = SYNC_SECONDS,
    failing: Iterable[str] = (),
    accounts: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A simulator state with one Synced+Healthy application per name (copies of the sample)."""
    base = sample_state()
    template = base["applications"][0]
    failing = set(failing)
    applications = []
    behavior: dict[str, Any] = {}
    for app in apps:
        item = copy.deepcopy(template)
        item["metadata"]["name"] = app
        item["metadata"]["uid"] = f"uid-{app}"
        applications.append(item)
        behavior[app] = {"seconds": seconds, "health": "Healthy"}
        if app in failing:
            # retrySeconds replaces Argo CD's backoff (10 s to 3 min) with the sync's own pace
            behavior[app].update(
                phase="Failed", message="one or more objects failed to apply", retrySeconds=seconds
            )
    state: dict[str, Any] = {
        "version": base["version"],
        "applications": applications,
        "syncBehavior": behavior,
    }
    if accounts is not None:
        state["accounts"] = accounts
    return state


def settings_yaml(
    database_url: str,
    apps: Sequence[str],
    *,
    token_env: str = "BELAY_TOKEN_RELIABILITY",
    webhook_secret_env: str | None = None,
    extra_project: str = "",
    extra: str = "",
    timeout_seconds: float = 60,
) -> str:
    """A belay.yaml mapping one project per app, all sharing one submit token variable."""
    worker = ", ".join(f"{k}: {v}" for k, v in FAST_WORKER.items())
    webhook = f"    webhook_secret_env: {webhook_secret_env}\n" if webhook_secret_env else ""
    projects = "".join(
        f"""  - name: {app}
    match: {{remote: "{remote(app)}", branch: main}}
    token_env: {token_env}
{webhook}    argocd: {{application: {app}}}
    sync: {{revision: commit, timeoutSeconds: {timeout_seconds}}}
"""
        for app in apps
    )
    return f"""database_url: "{database_url}"
public_url: http://belay.test
policies:
  default: {PACKAGED_POLICIES / "default.yaml"}
intake:
  rate_limit_per_minute: 0
worker: {{{worker}}}
{extra}projects:
{projects}{extra_project}"""


def marker_of(record: Any) -> str:
    """The Belay marker (the job id) carried by an accepted sync request."""
    infos = (record.body or {}).get("infos") or []
    return str(next(i["value"] for i in infos if i["name"] == MARKER_NAME))


def accepted_syncs(sim: RunningSimulator) -> list[Any]:
    """Sync requests the simulator accepted (200), in order.

    A request cut by the ``dropConnections`` fault is logged with status 200 (the headers went
    out) but never reached the application, so it is not a sync.
    """
    return [
        r
        for r in sim.requests()
        if r.method == "POST" and r.path.endswith("/sync") and r.status == 200 and not r.fault
    ]


def all_jobs(store: Store) -> list[JobRecord]:
    """Every job in the store."""
    with store.unit_of_work() as uow:
        return uow.jobs.list(limit=1_000_000)


def wait_jobs_ended(store: Store, *, expected: int | None = None, timeout: float = 300) -> None:
    """Wait until no job is queued or running (and ``expected`` jobs exist, when given)."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = all_jobs(store)
        done = all(j.state in END_STATES for j in jobs)
        if done and (expected is None or len(jobs) >= expected):
            return
        if time.monotonic() > deadline:
            open_ = [
                (j.id, j.application, j.state, j.error) for j in jobs if j.state not in END_STATES
            ]
            raise TimeoutError(f"{len(open_)} jobs did not end: {open_[:5]}")
        time.sleep(0.1)


def argocd_env(sim: RunningSimulator) -> dict[str, str]:
    """Argo CD settings for the simulator's admin, by token (no login per job)."""
    return {"ARGOCD_BASE_URL": sim.url, "ARGOCD_AUTH_TOKEN": sim.token_for("admin")}


def belay_env(sim: RunningSimulator, **extra: str) -> dict[str, str]:
    """The environment of a belay subprocess talking to the simulator as admin."""
    return {**os.environ, **argocd_env(sim), **extra}


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` and return it."""
    path.write_text(text)
    return path
