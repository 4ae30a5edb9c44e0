"""`belay investigate`: an alert file in, an Argo CD findings report out (read-only).

Exit codes: 0 when a report was made (even one full of problems), 2 for bad input (an alert that
is empty, not JSON or of no known shape; an unreadable ``--config``).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import ValidationError

from belay.cli._common import OutputFormat, handle_errors
from belay.errors import BadInput
from belay.logs import configure_logging

__all__ = ["load_settings", "register"]


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at write time (test runners swap it), for log output."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def register(app: typer.Typer) -> None:
    """Add the ``investigate`` command to ``app``."""
    app.command("investigate")(investigate_command)


def _read_input(source: str) -> tuple[bytes, str]:
    if source == "-":
        return sys.stdin.buffer.read(), "stdin"
    path = Path(source)
    try:
        return path.read_bytes(), source
    except FileNotFoundError:
        raise BadInput(f"{source}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{source}: is a directory, not an alert file") from None
    except OSError as err:
        raise BadInput(f"{source}: cannot be read ({err.strerror})") from None


def load_settings(path: Path | None) -> Any:
    """Investigation settings from the ``investigate:`` section of ``belay.yaml`` (optional)."""
    from belay.investigate.models import InvestigationSettings

    if path is None:
        return InvestigationSettings()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise BadInput(f"{path}: not a readable YAML file ({first})") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise BadInput(f"{path}: expected a mapping at the top level")
    section = raw.get("investigate") or {}
    if not isinstance(section, dict):
        raise BadInput(f"{path}: 'investigate' must be a mapping")
    try:
        return InvestigationSettings.model_validate(section)
    except ValidationError as err:
        problem = err.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise BadInput(f"{path}: investigate.{where}: {problem['msg']}") from None


@handle_errors
def investigate_command(
    input_file: Annotated[
        str,
        typer.Option(
            "--input", "-i", help="The alert file (JSON), or - for stdin.", show_default=False
        ),
    ],
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="belay.yaml (its 'investigate:' thresholds)."),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--output", "-o", help="text, json or markdown.")
    ] = OutputFormat.text,
) -> None:
    """Investigate an alert: read Argo CD (read-only) and report findings with their evidence."""
    configure_logging(level="WARNING", stream=_CurrentStderr())
    # Imported here so `belay --help` stays cheap.
    from belay.config import resolve_argocd
    from belay.investigate.alerts import parse_alert_bytes
    from belay.investigate.engine import investigate
    from belay.investigate.render import render

    data, origin = _read_input(input_file)
    alert = parse_alert_bytes(data, origin=origin)
    settings = load_settings(config)
    # Nothing but the report may reach stdout (`-o json` is read by machines): a logger bound
    # before logging was configured still prints to stdout, so send stray output to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        report = investigate(alert, resolve_argocd(), settings=settings)
    color = output is OutputFormat.text and sys.stdout.isatty()
    sys.stdout.write(render(report, output.value, color=color))
    raise typer.Exit(0)
