"""`belay sync` goes through the gate: refused without a passing decision, audited when overridden.

Against the Argo CD simulator over real HTTP and a real store (SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from belay.cli import app
from belay.sim.sample import sample_state
from belay.sim.testing import RunningSimulator, running_simulator
from belay.store import DecisionRecord, Store, new_id

PASS_SHA = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"
FAIL_SHA = "9a8b7c6d5e4f30211a2b3c4d5e6f708192a3b4c5"
UNJUDGED_SHA = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Setup:
    """A simulator, a migrated store with one passing and one failing decision, a belay.yaml."""

    sim: RunningSimulator
    store: Store
    config: Path
    fail_decision: str

    def sync(self, *args: str) -> Result:
        """Run `belay sync guestbook ARGS --config ...` in this process."""
        return CliRunner().invoke(
            app, ["sync", "guestbook", *args, "--config", str(self.config), "--actor", "alice"]
        )

    def kinds(self) -> list[str]:
        """The kinds of every audit event, in order."""
        with self.store.unit_of_work() as uow:
            return [e.kind for e in uow.audit.list()]

    def sync_requests(self) -> list[str]:
        """The revisions of the sync requests the simulator received."""
        return [
            r.body["revision"]
            for r in self.sim.requests()
            if r.method == "POST" and r.path.endswith("/sync") and isinstance(r.body, dict)
        ]


def _decision(decision: str, revision: str) -> DecisionRecord:
    return DecisionRecord(
        id=new_id(),
        decided_at=datetime.now(UTC),
        decision=decision,  # type: ignore[arg-type]
        project="example-app",
        instance="default",
        application="guestbook",
        revision=revision,
        verdict={"decision": decision, "summary": f"{decision}: sample", "reasons": []},
    )


@pytest.fixture
def setup(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    """The simulator with a fast guestbook, and the store the CLI reads."""
    state = sample_state()
    state["syncBehavior"] = {"guestbook": {"seconds": 0.05, "health": "Healthy"}}
    store = Store(database_url)
    store.upgrade()
    failing = _decision("fail", FAIL_SHA)
    with store.unit_of_work() as uow:
        uow.decisions.add(_decision("pass", PASS_SHA))
        uow.decisions.add(failing)
        uow.commit()
    config = tmp_path / "belay.yaml"
    config.write_text(
        f"""
database_url: "{database_url}"
worker: {{poll_interval_seconds: 0.02, backoff_base_seconds: 0.02, backoff_max_seconds: 0.1}}
projects:
  - name: example-app
    match: {{remote: "https://gitlab.com/acme/example.git"}}
    argocd: {{application: guestbook, project: default}}
    sync: {{revision: commit, timeoutSeconds: 60}}
"""
    )
    with running_simulator(state) as sim:
        monkeypatch.setenv("ARGOCD_BASE_URL", sim.url)
        monkeypatch.setenv("ARGOCD_USERNAME", "admin")
        monkeypatch.setenv("ARGOCD_PASSWORD", "admin")
        sim.reset()
        try:
            yield Setup(sim=sim, store=store, config=config, fail_decision=failing.id)
        finally:
            store.dispose()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--revision", FAIL_SHA, "--wait"], "decision for guestbook at " + FAIL_SHA + " is fail"),
        (["--revision", UNJUDGED_SHA], "no gate decision for guestbook"),
        (["--revision", "main"], "branches and tags are not"),
        ([], "no --revision given"),
    ],
    ids=["failing", "unjudged", "branch", "target"],
)
def test_refused_without_a_passing_decision(setup: Setup, args: list[str], says: str) -> None:
    """A revision the gate did not pass is refused: exit 2, one line, nothing queued or synced."""
    result = setup.sync(*args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refused, nothing queued")
    assert says in lines[0] and "--override-gate --reason" in lines[0]
    with setup.store.unit_of_work() as uow:
        assert uow.jobs.list() == []
    assert setup.kinds() == []
    assert setup.sync_requests() == []


@pytest.mark.parametrize(
    "args",
    [["--override-gate"], ["--override-gate", "--reason", "  "], ["--reason", "hotfix"]],
    ids=["no-reason", "blank-reason", "reason-alone"],
)
def test_override_needs_a_reason(setup: Setup, args: list[str]) -> None:
    """--override-gate without a reason (or a reason without the flag) is bad input."""
    result = setup.sync("--revision", FAIL_SHA, *args)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--reason" in result.stderr
    assert setup.kinds() == []


def test_override_deploys_and_is_audited(setup: Setup) -> None:
    """With --override-gate and a reason the failing commit deploys, and the trail says who, why."""
    result = setup.sync(
        "--revision", FAIL_SHA, "--wait", "--override-gate", "--reason", "CVE fixed at runtime"
    )
    assert result.exit_code == 0, result.output
    assert "gate overridden by alice" in result.stderr
    assert setup.sync_requests() == [FAIL_SHA]
    with setup.store.unit_of_work() as uow:
        (job,) = uow.jobs.list()
        events = uow.audit.list()
    # Not a gate job: the worker's signed-decision check (a pass only) must not apply to it.
    assert job.state == "succeeded" and job.decision_id is None
    (override,) = [e for e in events if e.kind == "sync.override"]
    assert override.actor == "manual:alice"
    assert override.job_id == job.id and override.decision_id == setup.fail_decision
    assert override.data["reason"] == "CVE fixed at runtime"
    assert override.data["gate"] == "fail"
    kinds = [e.kind for e in events]
    assert kinds.index("sync.manual_requested") < kinds.index("sync.override")
    assert "alert.raised" in kinds and kinds[-1] == "deployment.succeeded"


def test_passing_revision_needs_no_override(setup: Setup) -> None:
    """A passing commit, named by a 7-character prefix, is queued at its full SHA, no override."""
    result = setup.sync("--revision", PASS_SHA[:7])
    assert result.exit_code == 0, result.output
    with setup.store.unit_of_work() as uow:
        (job,) = uow.jobs.list()
    assert job.revision == PASS_SHA and job.state == "queued"
    assert setup.kinds() == ["sync.manual_requested"]


def test_override_of_a_passing_revision_is_not_recorded(setup: Setup) -> None:
    """--override-gate on a commit that passed is a no-op note, not an override in the trail."""
    result = setup.sync("--revision", PASS_SHA, "--override-gate", "--reason", "habit")
    assert result.exit_code == 0, result.output
    assert "--override-gate was not needed" in result.stderr
    assert setup.kinds() == ["sync.manual_requested"]


@pytest.mark.parametrize(
    "args",
    [
        ["--revision", "", "--override-gate", "--reason", "r"],
        ["--revision=--prune", "--override-gate", "--reason", "r"],
        ["--revision", "a" * 5000, "--override-gate", "--reason", "r"],
        ["--revision", "main\nHEAD", "--override-gate", "--reason", "r"],
        ["--revision", FAIL_SHA, "--override-gate", "--reason", "x" * 5000],
        ["--revision", FAIL_SHA, "--wait", "--timeout", "-1"],
    ],
    ids=["empty", "option", "huge", "control", "huge-reason", "negative-timeout"],
)
def test_even_an_override_queues_only_a_plausible_revision(setup: Setup, args: list[str]) -> None:
    """An override used to queue '', '--prune', 5,000 characters or a control character as the
    revision (and a 100 KB reason into the audit trail): each is bad input, nothing queued."""
    result = setup.sync(*args)
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert len(result.stderr) < 400
    with setup.store.unit_of_work() as uow:
        assert uow.jobs.list() == []
