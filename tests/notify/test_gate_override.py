"""A gate override (`belay sync --override-gate`) is announced on the gate_override channels."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from belay.cli import app
from belay.store import Store

from .conftest import Receiver

REVISION = "0123456789abcdef0123456789abcdef01234567"


def test_override_alert_reaches_a_webhook(
    receiver: Receiver, second_receiver: Receiver, tmp_path: Path
) -> None:
    """The subscribed webhook gets one gate_override alert naming who and why; others get none."""
    database = tmp_path / "belay.db"
    Store(f"sqlite:///{database}").upgrade()
    config = tmp_path / "belay.yaml"
    config.write_text(
        f"""
database_url: "sqlite:///{database}"
notifications:
  - {{type: webhook, url: "{receiver.url}", events: [gate_override]}}
  - {{type: webhook, url: "{second_receiver.url}", events: [deploy_failed]}}
"""
    )
    result = CliRunner().invoke(
        app,
        [
            "sync",
            "guestbook",
            "--revision",
            REVISION,
            "--override-gate",
            "--reason",
            "hotfix for incident 42",
            "--actor",
            "bob",
            "--config",
            str(config),
        ],
    )
    assert result.exit_code == 0, result.output
    (delivered,) = receiver.wait_for(1)
    body = delivered.json()
    assert body["type"] == "belay.alert.gate_override"
    assert body["data"]["application"] == "guestbook"
    assert body["data"]["revision"] == REVISION
    assert "bob" in body["data"]["title"]
    assert "hotfix for incident 42" in body["data"]["what_happened"]
    assert second_receiver.received == []
