"""Out-of-range ports are refused by the CLI with a one-line reason, not a traceback or a hang."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from belay.cli import app


@pytest.mark.parametrize("command", [["serve"], ["demo", "--once"]])
def test_port_out_of_range_is_a_usage_error(command: list[str]) -> None:
    """`belay serve --port 70000` printed 'listening' and hung; `belay demo` raised."""
    result = CliRunner().invoke(app, [*command, "--port", "70000"])
    assert result.exit_code == 2
    assert "--port" in result.output and "65535" in result.output
