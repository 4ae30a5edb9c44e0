"""``belay demo``: the whole flow in one process, against the built-in Argo CD simulator.

It starts the simulator with one application (``belay-portage-gitlab-example-app``, as in the
published integration guide) and a least-privilege ``belay-webhook`` account, starts the gate
on SQLite with its worker, submits a passing and a failing Portage-shaped bundle over HTTP,
shows both verdicts, follows the passing one to Synced+Healthy, prints the audit trail and the
web page's address. Everything it writes lives in one folder (a temporary one by default),
removed when the demo ends: normally, on Ctrl-C or on SIGTERM alike.

With ``--once`` the gate stops before the command returns, so no address of it is printed as
something to open; the audit table is sized for a 100-column terminal.
"""

from __future__ import annotations

import secrets
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from belay.audit_view import audit_table
from belay.bootstrap import Services, build_services, start_workers
from belay.commits import short_sha
from belay.config import BelaySettings
from belay.gate import sample_reports, write_bundle
from belay.intake import hash_token
from belay.jsonio import dumps
from belay.policies import packaged_policy
from belay.store import JobRecord
from belay.vocab import IN_FLIGHT_STATES, JobState
from belay.web import create_app, free_port, serve_in_thread

__all__ = ["DemoResult", "run_demo"]

APP = "belay-portage-gitlab-example-app"
REMOTE = "https://gitlab.com/HolomuaTech/belay-portage-gitlab-example-app.git"
OLD_COMMIT = "0d6f2c8e4b1a3957d2c0e8f6a4b2c1d0e9f8a7b6"
GOOD_COMMIT = "7c1e9a2b5d3f4e6a8b0c1d2e3f4a5b6c7d8e9f01"
BAD_COMMIT = "e5f4d3c2b1a09f8e7d6c5b4a3928170f6e5d4c3b"


@dataclass
class DemoResult:
    """What the demo saw, for its exit code and its tests."""

    passing_verdict: dict[str, Any]
    failing_verdict: dict[str, Any]
    job: JobRecord | None
    app_status: dict[str, Any]
    page_url: str

    @property
    def deployed(self) -> bool:
        """True when the passing build ended Synced and Healthy."""
        status = self.app_status.get("status", {})
        return (
            self.job is not None
            and self.job.state == JobState.succeeded
            and status.get("sync", {}).get("status") == "Synced"
            and status.get("health", {}).get("status") == "Healthy"
        )


def _fake_jwt(subject: str) -> str:
    import base64

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(dumps(data)).decode().rstrip("=")

    header = part({"alg": "HS256", "typ": "JWT"})
    claims = part(
        {
            "iss": "argocd",
            "sub": f"{subject}:apiKey",
            "jti": secrets.token_hex(8),
            "iat": int(time.time()),
        }
    )
    return f"{header}.{claims}.{secrets.token_urlsafe(24)}"


def simulator_state(token: str) -> dict[str, Any]:
    """The simulated Argo CD: one app on an old revision, and the gate's scoped account."""
    scope = f"default/{APP}"
    return {
        "version": "v3.5.1",
        "accounts": [
            {
                "name": "belay-webhook",
                "token": token,
                "policies": [
                    f"p, role:belay-webhook, applications, get, {scope}, allow",
                    f"p, role:belay-webhook, applications, sync, {scope}, allow",
                ],
            }
        ],
        "applications": [
            {
                "metadata": {"name": APP, "namespace": "argocd", "resourceVersion": "1201"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": REMOTE, "path": "k8s", "targetRevision": "main"},
                    "destination": {
                        "server": "https://kubernetes.default.svc",
                        "namespace": "belay-example-app",
                    },
                    "syncPolicy": {
                        "syncOptions": ["CreateNamespace=false", "PruneLast=true"],
                        "retry": {
                            "limit": 5,
                            "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"},
                        },
                    },
                },
                "status": {
                    "sync": {"status": "OutOfSync", "revision": OLD_COMMIT},
                    "health": {"status": "Healthy"},
                    "summary": {"images": ["registry.gitlab.com/holomuatech/example-app:0d6f2c8"]},
                    "history": [
                        {
                            "id": 1,
                            "revision": OLD_COMMIT,
                            "deployedAt": "2026-11-20T09:00:00Z",
                            "deployStartedAt": "2026-11-20T08:59:50Z",
                            "source": {"repoURL": REMOTE, "path": "k8s", "targetRevision": "main"},
                        }
                    ],
                    "reconciledAt": "2026-11-22T08:00:00Z",
                },
            }
        ],
        "syncBehavior": {
            APP: {
                "seconds": 2.0,
                "healthSeconds": 1.5,
                "health": "Healthy",
                "images": ["registry.gitlab.com/holomuatech/example-app:7c1e9a2"],
            }
        },
    }


def _signing_key(work: Path) -> Path:
    """The demo's signing key in its folder: made on first use, reused with ``work_dir``."""
    from belay.attest import PRIVATE_KEY_NAME, write_key_pair

    keys = work / "keys"
    if (keys / PRIVATE_KEY_NAME).exists():
        return keys / PRIVATE_KEY_NAME
    return write_key_pair(keys).private_path


def _settings(work: Path, port: int, submit_token: str) -> BelaySettings:
    return BelaySettings.model_validate(
        {
            "database_url": f"sqlite:///{work / 'belay.db'}",
            "signing_key_file": str(_signing_key(work)),
            "public_url": f"http://127.0.0.1:{port}",
            "policies": {"default": str(packaged_policy("default"))},
            "worker": {
                "poll_interval_seconds": 0.2,
                "backoff_base_seconds": 0.2,
                "backoff_max_seconds": 2,
            },
            "projects": [
                {
                    "name": "example-app",
                    "match": {"remote": REMOTE, "branch": "main"},
                    "token_sha256": [hash_token(submit_token)],
                    "argocd": {
                        "instance": "default",
                        "application": APP,
                        "project": "default",
                        "appNamespace": "argocd",
                    },
                    "sync": {"revision": "commit", "prune": True, "timeoutSeconds": 120},
                }
            ],
            "base_dir": str(work),
        }
    )


@contextmanager
def _running(work: Path, port: int) -> Iterator[tuple[Services, str, Any, str]]:
    from belay.sim import running_simulator

    argocd_token = _fake_jwt("belay-webhook")
    submit_token = "demo-" + secrets.token_urlsafe(18)
    with ExitStack() as stack:
        sim = stack.enter_context(running_simulator(simulator_state(argocd_token)))
        environ = {"ARGOCD_BASE_URL": sim.url, "ARGOCD_AUTH_TOKEN": argocd_token}
        services = build_services(_settings(work, port, submit_token), environ=environ)
        stack.callback(services.close)
        stop = threading.Event()
        threads = start_workers(services, stop=stop, count=1)

        def _stop_workers() -> None:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)

        stack.callback(_stop_workers)
        url = stack.enter_context(serve_in_thread(create_app(services), port=port))
        yield services, url, sim, submit_token


def _submit(url: str, token: str, data: bytes) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/Build/SubmitArtifacts",
        data={"action": "deploy", "status": "success"},
        files={"bundle": ("gatecheck-bundle.tar.gz", data, "application/gzip")},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()["verdict"]
    return body


def _show_verdict(
    console: Console, title: str, verdict: dict[str, Any], *, with_link: bool = True
) -> None:
    colour = "green" if verdict["decision"] == "pass" else "red"
    decision = verdict["decision"].upper()
    console.print(f"\n[bold]{title}[/bold]: [bold {colour}]{decision}[/] — {verdict['summary']}")
    for reason in verdict["reasons"]:
        if reason["status"] == "fail":
            console.print(f"  [red]✗ {reason['rule']}[/red]: {reason['message']}")
    passed = [r["rule"] for r in verdict["reasons"] if r["status"] == "pass"]
    if passed:
        console.print(f"  [green]✓[/green] {len(passed)} rules passed: " + ", ".join(passed))
    if with_link:
        console.print(f"  details: {verdict.get('detailsUrl', '')}")
        if verdict.get("attestationUrl"):
            console.print(f"  signed statement: {verdict['attestationUrl']}")


def _verify_attestation(console: Console, services: Services, verdict: dict[str, Any]) -> None:
    """Fetch the passing verdict's envelope and verify it as a downstream tool would."""
    from belay.attest import AttestationInvalid, Envelope, verify_attestation

    url = verdict.get("attestationUrl")
    if not url:
        return
    envelope = httpx.get(url, timeout=30).content
    try:
        verified = verify_attestation(
            Envelope.from_json(envelope), services.signing.keyring, commit=GOOD_COMMIT
        )
    except AttestationInvalid as err:
        console.print(
            f"\nSigned verdict of {short_sha(GOOD_COMMIT, 7)}: [red]INVALID[/red] ({err})"
        )
        return
    console.print(
        f"\nSigned verdict of {short_sha(GOOD_COMMIT, 7)}: [green]verified[/green] "
        f"(in-toto Statement v1 in DSSE, Ed25519 key {verified.key.keyid[:16]}…); offline: "
        "belay attest verify ENVELOPE --key belay-signing.pub.pem --commit SHA"
    )


def _follow(
    console: Console, services: Services, sim: Any, decision_id: str, timeout: float
) -> JobRecord | None:
    deadline = time.monotonic() + timeout
    last = ""
    job: JobRecord | None = None
    with console.status("Waiting for the worker…") as status:
        while time.monotonic() < deadline:
            with services.store.unit_of_work() as uow:
                jobs = uow.jobs.for_decision(decision_id)
            job = jobs[0] if jobs else None
            app = sim.application(APP)["status"]
            phase = (app.get("operationState") or {}).get("phase", "-")
            line = (
                f"job {job.state if job else JobState.queued} · Argo CD operation {phase} · "
                f"sync {app['sync']['status']} at {short_sha(app['sync'].get('revision'), 7)} · "
                f"health {app['health']['status']}"
            )
            status.update(line)
            if line != last:
                console.print(f"  {time.strftime('%H:%M:%S')}  {line}")
                last = line
            if job is not None and job.state not in IN_FLIGHT_STATES:
                return job
            time.sleep(0.25)
    return job


def _interrupted(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the demo the way Ctrl-C does (its folder and threads cleaned up)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: Callable[[int, Any], Any] | int | None = signal.signal(signal.SIGTERM, _interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def run_demo(
    *, once: bool, port: int = 8080, work_dir: Path | None = None, console: Console | None = None
) -> DemoResult:
    """Run the demo; with ``once`` return after the audit trail, else serve until interrupted."""
    from belay.logs import configure_logging

    # The demo talks to its simulator over loopback http on purpose; keep warnings off the display.
    configure_logging(level="ERROR")
    console = console or Console(width=None if Console().is_terminal else 100)
    if port == 0 or not _port_free(port):
        chosen = free_port()
        if port:
            console.print(f"[yellow]port {port} is busy; using {chosen}[/yellow]")
        port = chosen
    with ExitStack() as stack:
        stack.enter_context(_sigterm_as_interrupt())
        temporary = work_dir is None
        if work_dir is None:
            work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="belay-demo-")))
        work_dir.mkdir(parents=True, exist_ok=True)
        services, url, sim, token = stack.enter_context(_running(work_dir, port))
        console.rule("[bold]Belay demo")
        # With --once both servers are gone when the command returns: no address to keep.
        sim_at, gate_at = ("", "") if once else (f" at {sim.url}", f" at {url}")
        console.print(
            f"Argo CD simulator{sim_at} with application [bold]{APP}[/bold] "
            f"(OutOfSync at {short_sha(OLD_COMMIT, 7)})"
        )
        where = "a temporary folder" if temporary else str(work_dir)
        console.print(f"Belay gate{gate_at} (SQLite in {where}), worker running")
        now = datetime.now(UTC)
        good = write_bundle(
            sample_reports(now),
            created_at=now,
            commit=GOOD_COMMIT,
            branch="main",
            remote=REMOTE,
        )
        bad = write_bundle(
            sample_reports(now, failing=True, commit=BAD_COMMIT),
            created_at=now,
            commit=BAD_COMMIT,
            branch="main",
            remote=REMOTE,
        )
        console.print("\nSubmitting two Portage bundles to POST /Build/SubmitArtifacts …")
        passing = _submit(url, token, good)
        failing = _submit(url, token, bad)
        link = not once
        _show_verdict(
            console, f"Build {short_sha(GOOD_COMMIT, 7)} (clean scans)", passing, with_link=link
        )
        _show_verdict(
            console,
            f"Build {short_sha(BAD_COMMIT, 7)} (xz backdoor + leaked AWS key)",
            failing,
            with_link=link,
        )
        _verify_attestation(console, services, passing)
        with services.store.unit_of_work() as uow:
            decision = uow.decisions.for_revision(APP, GOOD_COMMIT)
        console.print(f"\nFollowing the deployment of {short_sha(GOOD_COMMIT, 7)} in Argo CD:")
        job = _follow(console, services, sim, decision[0].id, timeout=90) if decision else None
        app_status = sim.application(APP)
        with services.store.unit_of_work() as uow:
            events = uow.audit.list(limit=1000)
            broken = uow.audit.verify()
            submissions = uow.submissions.list()
        console.print()
        console.print(audit_table(events, title=f"Audit trail of {APP}", compact=True))
        console.print(
            "Audit chain: "
            + ("[green]intact[/green]" if broken is None else f"[red]BROKEN at {broken.seq}[/red]")
        )
        page = next((s for s in submissions if s.commit_sha == GOOD_COMMIT), None)
        page_url = f"{url}/submissions/{page.id}" if page else url
        result = DemoResult(passing, failing, job, app_status, page_url)
        status = app_status["status"]
        outcome = (
            "[green]Synced + Healthy[/green]"
            if result.deployed
            else f"[red]{job.state if job else 'not deployed'}[/red]"
        )
        sync_health = f"sync {status['sync']['status']}, health {status['health']['status']}"
        console.print(f"\nDeployment of {short_sha(GOOD_COMMIT, 7)}: {outcome} ({sync_health})")
        if once:
            console.print(
                "\nThe gate stopped with the demo (--once). To browse its page, run "
                "[bold]belay demo[/bold] without --once."
            )
        else:
            console.print(f"\nOpen the audit page: [bold]{url}/[/bold]")
            console.print(f"This submission: {page_url}")
            try:  # before the line that says so: a signal right after it is caught too
                console.print("Serving until you press Ctrl-C (or send SIGTERM).")
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                console.print("\nStopping.")
        return result


def _port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
