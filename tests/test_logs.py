"""Logging: one format for structlog, the standard library and the CLI's own messages."""

from __future__ import annotations

import io
import logging

import pytest
from typer.testing import CliRunner

from belay.cli import app
from belay.jsonio import loads
from belay.logs import configure_logging, current_format, notice


@pytest.fixture(autouse=True)
def console_afterwards() -> object:
    """Leave the process in console format for the tests that follow."""
    yield None
    configure_logging(level="WARNING", fmt="console")


def test_standard_library_records_are_json_and_redacted() -> None:
    """A library's logging record (Alembic, httpx, uvicorn) renders as one redacted JSON line."""
    stream = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=stream)
    logging.getLogger("httpx").info("HTTP Request: GET %s", "https://x/?token=abc-canary-991")
    logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
    (first, second) = [loads(line) for line in stream.getvalue().splitlines()]
    assert first["component"] == "httpx" and first["level"] == "info"
    assert first["event"].startswith("HTTP Request: GET")
    assert "abc-canary-991" not in stream.getvalue()
    assert second["component"] == "uvicorn.error" and second["level"] == "warning"


def test_uvicorn_own_handlers_are_routed_back() -> None:
    """After uvicorn's default logging configuration (the simulator's), its records are JSON."""
    import uvicorn

    from belay.logs import route_library_logs

    stream = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=stream)
    uvicorn.Config(app=lambda *_: None, log_level="info")  # installs uvicorn's own handlers
    assert logging.getLogger("uvicorn").handlers  # and propagate=False: root never saw them
    route_library_logs()
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    (line,) = stream.getvalue().splitlines()
    assert loads(line)["event"] == "Started server process [42]"


def test_changing_the_level_keeps_the_chosen_format() -> None:
    """A command that quiets logs to WARNING does not switch --log-format json back to console."""
    configure_logging(level="INFO", fmt="json", stream=io.StringIO())
    configure_logging(level="WARNING")
    assert current_format() == "json"


def test_notice_and_errors_follow_the_format(capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI's warnings and one-line errors are JSON objects when JSON is chosen."""
    configure_logging(level="WARNING", fmt="json")
    notice("token expires in 3 days", level="warning")
    warned = loads(capsys.readouterr().err)
    assert warned["level"] == "warning" and warned["event"] == "token expires in 3 days"
    result = CliRunner().invoke(
        app, ["--log-format", "json", "audit", "verify", "-c", "missing.yaml"]
    )
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    error = loads(line)
    assert error["level"] == "error" and "missing.yaml" in error["event"]


def test_lines_from_two_threads_never_merge() -> None:
    """structlog, the standard library and notice() each wrote a line and its newline apart (or
    under locks of their own); from several threads their lines merged ("...}{...")."""
    import io
    import json
    import logging
    import sys
    import threading
    import time

    import structlog

    from belay.logs import configure_logging, notice

    class Pipe(io.StringIO):
        """A stream that lets other threads run inside each write, as a real pipe can."""

        def write(self, text: str) -> int:
            written = super().write(text)
            time.sleep(0)
            return written

    out = Pipe()
    configure_logging(level="INFO", fmt="json", stream=out)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: a merge shows at once
    try:

        def belay_events() -> None:
            log = structlog.get_logger("belay.test")
            for n in range(400):
                log.info("belay.event", n=n)

        def library_records() -> None:
            log = logging.getLogger("httpx")
            for n in range(400):
                log.info("HTTP Request: GET /x %d", n)

        def notices() -> None:
            for n in range(400):
                notice(f"serving {n}")

        threads = [threading.Thread(target=f) for f in (belay_events, library_records, notices) * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
        configure_logging(level="INFO", fmt="console")
    lines = [line for line in out.getvalue().splitlines() if line]
    assert len(lines) == 2400
    for line in lines:
        json.loads(line)
