"""`belay investigate` at the edge: bad input is exit 2 with one line, stdin works, --config too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from belay.cli import app
from belay.config.settings import load_settings
from belay.store import Store

runner = CliRunner()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "alert.json: the alert is empty"),
        ("not json at all", "alert.json: not valid JSON"),
        ('{"hello": "world"}', "alert.json: not a known alert shape"),
        ("[]", "alert.json: expected a JSON object, got an array"),
    ],
)
def test_bad_alert_is_exit_2_with_one_line(tmp_path: Path, content: str, expected: str) -> None:
    """An empty, non-JSON or unknown alert exits 2 with one clear line and no traceback."""
    (tmp_path / "alert.json").write_text(content)
    result = runner.invoke(app, ["investigate", "-i", "alert.json"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {expected}")
    assert result.stdout == ""


def test_missing_file_is_exit_2() -> None:
    """A path that does not exist is bad input."""
    result = runner.invoke(app, ["investigate", "-i", "nope.json"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: cannot read alert nope.json: no such file"


def test_stdin_and_json_output_without_gitops_context() -> None:
    """`-i -` reads stdin; an alert with no GitOps context still gives a report (exit 0)."""
    result = runner.invoke(
        app, ["investigate", "-i", "-", "-o", "json"], input='{"alert_name": "NodeDown"}'
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [f["kind"] for f in data["findings"]] == ["no_gitops_context"]
    assert data["alert"]["name"] == "NodeDown"


def test_not_configured_still_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """A GitOps alert with no usable instance is a report naming the rejection, not an error."""
    monkeypatch.setenv("ARGOCD_BASE_URL", "https://argocd.example.com")
    result = runner.invoke(
        app,
        ["investigate", "-i", "-", "-o", "markdown"],
        input='{"alert_name": "X", "argocd_application": "shop"}',
    )
    assert result.exit_code == 0, result.output
    assert "argocd_not_configured" in result.stdout
    assert "no credentials given" in result.stdout


def test_config_thresholds_and_bad_config(tmp_path: Path) -> None:
    """--config reads investigate: thresholds; a bad value is exit 2 naming the key."""
    (tmp_path / "belay.yaml").write_text("investigate:\n  rollout_window_minutes: 90\n")
    Store("sqlite:///belay.db").upgrade()
    ok = runner.invoke(
        app,
        ["investigate", "-i", "-", "--config", "belay.yaml"],
        input='{"alert_name": "NodeDown"}',
    )
    assert ok.exit_code == 0, ok.output
    assert load_settings(tmp_path / "belay.yaml").investigate.rollout_window_minutes == 90
    (tmp_path / "bad.yaml").write_text("investigate:\n  rollout_window_minutes: -1\n")
    bad = runner.invoke(
        app, ["investigate", "-i", "-", "--config", "bad.yaml"], input='{"alert_name": "NodeDown"}'
    )
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: bad.yaml: investigate.rollout_window_minutes:")


def test_config_with_unmigrated_store_is_one_line(tmp_path: Path) -> None:
    """--config whose store was never migrated says how to fix it, in one line."""
    (tmp_path / "belay.yaml").write_text("database_url: sqlite:///fresh.db\n")
    result = runner.invoke(
        app, ["investigate", "-i", "-", "--config", "belay.yaml"], input='{"alert_name": "X"}'
    )
    assert result.exit_code == 1
    assert "belay db upgrade" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
