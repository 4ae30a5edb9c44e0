"""The investigation evaluation suite: every scenario in tests/scenarios/ against the simulator.

Each folder (DESIGN §7) holds ``alert.json``, ``argocd.json`` (a simulator state), an optional
``env.json`` (Belay's environment; ``{sim_url}`` in a value becomes the simulator's address, and
``ARGOCD_BASE_URL`` is filled in unless the scenario sets it), an optional ``belay.json`` (gate
decisions preloaded into a fresh store, which the run reads through ``--config``) and
``answer.yaml``:
``required_findings``, ``forbidden_findings``, ``required_ruled_out``, plus these optional keys:
``instance`` (the instance the report must name), ``max_calls`` (Argo CD calls allowed, default 6),
``required_text`` / ``forbidden_text`` (strings that must / must not appear in any output),
``top_finding`` (the kind of the first finding), ``applications`` (per application of a grouped
notification, ``{name: {required_findings, forbidden_findings}}`` over the report and its
``related_reports``; no other application may have a report), ``fleet_findings`` (kinds that must
be in ``fleet_context``), ``rollback_revision`` (a prefix of the rollback candidate's revision),
``rollback_gate`` (its gate decision: ``pass``, ``fail``, ``none``)
and ``app_namespace`` (every request about an application must carry this ``appNamespace``).

The runner drives the real CLI (``belay investigate``), then reads the simulator's request log:
an investigation may only GET (and open a session with POST /api/v1/session).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from belay.cli import app
from belay.investigate.models import FINDING_KINDS
from belay.sim.testing import running_simulator
from belay.store import DecisionRecord, Store

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
FOLDERS = sorted(p for p in SCENARIOS.iterdir() if p.is_dir())
DEFAULT_MAX_CALLS = 6
NOT_YET_COVERED: set[str] = set()
ANSWER_KEYS = {
    "required_findings",
    "forbidden_findings",
    "required_ruled_out",
    "instance",
    "max_calls",
    "required_text",
    "forbidden_text",
    "top_finding",
    "applications",
    "fleet_findings",
    "rollback_revision",
    "rollback_gate",
    "app_namespace",
}


def _answer(folder: Path) -> dict[str, Any]:
    answer = yaml.safe_load((folder / "answer.yaml").read_text())
    assert isinstance(answer, dict), f"{folder.name}: answer.yaml is not a mapping"
    unknown = set(answer) - ANSWER_KEYS
    assert not unknown, f"{folder.name}: unknown answer keys {sorted(unknown)}"
    for key in ("required_findings", "forbidden_findings", "required_ruled_out"):
        answer.setdefault(key, [])
        assert set(answer[key]) <= set(FINDING_KINDS), f"{folder.name}: unknown kind in {key}"
    return answer


def _environment(folder: Path, sim_url: str) -> dict[str, str]:
    env_file = folder / "env.json"
    env: dict[str, str] = json.loads(env_file.read_text()) if env_file.exists() else {}
    env = {k: str(v).replace("{sim_url}", sim_url) for k, v in env.items()}
    env.setdefault("ARGOCD_BASE_URL", sim_url)
    return env


def test_every_finding_kind_has_a_scenario() -> None:
    """Each kind of the vocabulary is required by at least one scenario (bar the allow-list)."""
    required: set[str] = set()
    for folder in FOLDERS:
        required |= set(_answer(folder)["required_findings"])
    missing = set(FINDING_KINDS) - required - NOT_YET_COVERED
    assert not missing, f"finding kinds without a scenario: {sorted(missing)}"
    assert len(FOLDERS) >= 12


def _preload_decisions(folder: Path, tmp_path: Path) -> list[str]:
    """With belay.json: a migrated store holding those decisions, and the --config to read it."""
    decisions_file = folder / "belay.json"
    if not decisions_file.exists():
        return []
    store = Store(f"sqlite:///{tmp_path / 'belay.db'}")
    store.upgrade()
    with store.unit_of_work() as uow:
        for raw in json.loads(decisions_file.read_text()):
            uow.decisions.add(
                DecisionRecord.model_validate({**raw, "verdict": {"decision": raw["decision"]}})
            )
        uow.commit()
    store.dispose()
    config = tmp_path / "belay.yaml"
    config.write_text(f"database_url: sqlite:///{tmp_path / 'belay.db'}\n")
    return ["--config", str(config)]


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_scenario(folder: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The report has the required findings and ruled-out kinds, no forbidden one, read-only calls."""
    answer = _answer(folder)
    state = json.loads((folder / "argocd.json").read_text())
    runner = CliRunner()
    extra = _preload_decisions(folder, tmp_path)
    with running_simulator(state) as sim:
        env = _environment(folder, sim.url)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        result = runner.invoke(
            app, ["investigate", "-i", str(folder / "alert.json"), "-o", "json", *extra]
        )
        assert result.exit_code == 0, f"{folder.name}: exit {result.exit_code}: {result.output}"
        calls = sim.requests()
        outputs = [result.stdout]
        for fmt in ("text", "markdown"):
            other = runner.invoke(
                app, ["investigate", "-i", str(folder / "alert.json"), "-o", fmt, *extra]
            )
            assert other.exit_code == 0, f"{folder.name} ({fmt}): {other.output}"
            outputs.append(other.stdout)

    report = json.loads(result.stdout)
    found = {f["kind"] for f in report["findings"]}
    ruled_out = set(report["ruled_out"])
    assert set(answer["required_findings"]) <= found, (folder.name, report["findings"])
    assert not (set(answer["forbidden_findings"]) & found), (folder.name, report["findings"])
    assert set(answer["required_ruled_out"]) <= ruled_out, (folder.name, report["ruled_out"])
    if "instance" in answer:
        assert report["instance"] == answer["instance"]

    # Read-only: GETs only, plus the session login of username/password accounts.
    for call in calls:
        assert call.method == "GET" or (call.method == "POST" and call.path == "/api/v1/session"), (
            f"{folder.name}: {call.method} {call.path}"
        )
    assert len(calls) <= answer.get("max_calls", DEFAULT_MAX_CALLS), [c.path for c in calls]

    _check_extras(folder.name, answer, report, calls)

    secrets = [v for k, v in env.items() if "TOKEN" in k or "PASSWORD" in k or "INSTANCES" in k]
    for text in outputs:
        for value in answer.get("forbidden_text", []) + secrets:
            assert value not in text, f"{folder.name}: {value[:12]}... leaked"
        for value in answer.get("required_text", []):
            assert value in text, f"{folder.name}: {value!r} missing"


def _check_extras(
    name: str, answer: dict[str, Any], report: dict[str, Any], calls: list[Any]
) -> None:
    """The optional answer keys about grouped reports, fleet context, rollback and namespaces."""
    if "top_finding" in answer:
        assert report["findings"], (name, "no finding at all")
        top = report["findings"][0]
        assert top["kind"] == answer["top_finding"], (name, report["findings"])
        assert top["application"] in (None, report["application"]), (name, top)
    if "applications" in answer:
        reports = [report, *report.get("related_reports", [])]
        by_app = {r["application"]: r for r in reports}
        assert set(by_app) == set(answer["applications"]), (name, sorted(map(str, by_app)))
        assert len(by_app) == len(reports), (name, "an application has two reports")
        for app, wanted in answer["applications"].items():
            kinds = {f["kind"] for f in by_app[app]["findings"]}
            assert set(wanted.get("required_findings", [])) <= kinds, (name, app, kinds)
            assert not set(wanted.get("forbidden_findings", [])) & kinds, (name, app, kinds)
    if "fleet_findings" in answer:
        fleet = {f["kind"] for f in report["fleet_context"]}
        assert set(answer["fleet_findings"]) <= fleet, (name, report["fleet_context"])
    if "rollback_revision" in answer:
        candidate = report["rollback_candidate"]
        assert candidate is not None, (name, "no rollback candidate")
        assert candidate["revision"].startswith(answer["rollback_revision"]), (name, candidate)
        assert candidate["gate"] == answer.get("rollback_gate", candidate["gate"]), (
            name,
            candidate,
        )
    if "app_namespace" in answer:
        app_calls = [c for c in calls if c.path.startswith("/api/v1/applications/")]
        assert app_calls, (name, "no call about an application")
        for call in app_calls:
            assert call.query.get("appNamespace") == [answer["app_namespace"]], (name, call)
