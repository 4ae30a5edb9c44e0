"""State-file validation messages, the pure controller transitions and the CLI."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from belay.cli import app as cli_app
from belay.sim import Behavior, StateFileError, load_state, parse_state, sample_state
from belay.sim.lifecycle import OpClock, advance


def test_malformed_state_names_file_and_path(tmp_path: Path) -> None:
    """A wrong shape gives one line naming the file and the JSON path."""
    state = sample_state()
    del state["applications"][0]["metadata"]["name"]
    bad = tmp_path / "x.json"
    import json

    bad.write_text(json.dumps(state))
    with pytest.raises(StateFileError) as err:
        load_state(bad)
    assert str(err.value).startswith(f"{bad}: applications[0].metadata.name: field required")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda s: s.update(applications="nope"), "applications:"),
        (lambda s: s["applications"][0]["spec"].pop("project"), "applications[0].spec.project"),
        (lambda s: s.update(faults={"errorRate": 2}), "faults.errorRate"),
        (lambda s: s.update(syncBehavior={"a": {"phase": "Done"}}), "syncBehavior.a.phase"),
        (lambda s: s.update(accounts=[{"name": "a", "policies": ["x"]}]), "accounts[0].policies"),
        (lambda s: s.update(syncWindows={"a": [{"until": "soon"}]}), "syncWindows.a[0].until"),
    ],
)
def test_state_errors_point_at_the_problem(mutate: Any, where: str) -> None:
    """Each kind of mistake is reported at its JSON path."""
    state = sample_state()
    mutate(state)
    with pytest.raises(StateFileError, match=None) as err:
        parse_state(state, source="s.json")
    assert str(err.value).startswith(f"s.json: {where}")


def test_unparsable_file(tmp_path: Path) -> None:
    """Broken YAML and a missing file are one clear line each."""
    broken = tmp_path / "b.yaml"
    broken.write_text("applications: [\n")
    with pytest.raises(StateFileError, match=r"b\.yaml: not valid JSON/YAML"):
        load_state(broken)
    with pytest.raises(StateFileError, match="cannot read"):
        load_state(tmp_path / "missing.json")


def _app() -> dict[str, Any]:
    app = copy.deepcopy(sample_state()["applications"][0])
    app["operation"] = {"sync": {"revision": "r2"}, "initiatedBy": {"username": "u"}, "retry": {}}
    return app


def test_lifecycle_success_path() -> None:
    """Pure transitions: start, finish with history, refresh to Progressing, then final health.

    Follows ``processRequestedAppOperation``: the operation's end leaves sync and health as they
    were; the refresh it requests sets them.
    """
    behavior = Behavior(seconds=2, health="Healthy")
    step = advance(_app(), None, behavior, 1000.0)
    assert step.app["status"]["operationState"]["phase"] == "Running"
    assert step.clock == OpClock("running", 1002.0, 0)
    assert not advance(step.app, step.clock, behavior, 1001.0).changed
    done = advance(step.app, step.clock, behavior, 1002.0)
    assert "operation" not in done.app
    assert done.app["status"]["operationState"]["phase"] == "Succeeded"
    assert done.app["status"]["history"][-1]["id"] == 1
    assert done.app["status"]["health"] == _app()["status"]["health"]
    assert done.app["status"]["sync"] == _app()["status"]["sync"]
    refreshed = advance(done.app, done.clock, behavior, 1002.0)
    assert refreshed.app["status"]["health"]["status"] == "Progressing"
    assert refreshed.app["status"]["sync"]["revision"] == "r2"
    settled = advance(refreshed.app, refreshed.clock, behavior, 1002.0)
    assert settled.clock is None
    assert settled.app["status"]["health"]["status"] == "Healthy"
    assert (
        settled.app["status"]["reconciledAt"]
        > settled.app["status"]["operationState"]["finishedAt"]
    )


def test_lifecycle_partial_and_dry_run_add_no_history() -> None:
    """A partial or dry-run sync leaves history alone."""
    for extra in ({"dryRun": True}, {"resources": [{"kind": "Service", "name": "guestbook-ui"}]}):
        app = _app()
        app["operation"]["sync"].update(extra)
        step = advance(app, None, Behavior(seconds=0), 0.0)
        done = advance(step.app, step.clock, Behavior(seconds=0), 0.0)
        assert done.app["status"]["operationState"]["phase"] == "Succeeded"
        assert len(done.app["status"]["history"]) == 1


def test_lifecycle_by_revision() -> None:
    """byRevision overrides the outcome for that revision only."""
    behavior = Behavior.model_validate(
        {"seconds": 0, "byRevision": {"r2": {"phase": "Error", "message": "repo unreachable"}}}
    )
    step = advance(_app(), None, behavior, 0.0)
    done = advance(step.app, step.clock, behavior, 0.0)
    assert done.app["status"]["operationState"]["phase"] == "Error"
    assert done.app["status"]["operationState"]["message"] == "repo unreachable"


def test_cli_bad_state_exits_2(tmp_path: Path) -> None:
    """`belay sim argocd --state` with a broken file exits 2 with one line."""
    bad = tmp_path / "s.json"
    bad.write_text("{}")
    result = CliRunner().invoke(cli_app, ["sim", "argocd", "--state", str(bad)])
    assert result.exit_code == 2
    assert "applications: field required" in result.output


def test_public_names() -> None:
    """The package's public face is pinned."""
    import belay.sim

    assert sorted(belay.sim.__all__) == [
        "Behavior",
        "Faults",
        "RequestRecord",
        "SimState",
        "StateFileError",
        "create_app",
        "load_state",
        "make_tls_files",
        "parse_state",
        "quiet_dropped_connections",
        "running_simulator",
        "sample_state",
        "serve_config",
    ]
