"""The CLI's face: completion, the same -o/-c everywhere, clean help, one-line file errors,
commit prefixes in `audit trace`, `audit verify` that creates nothing, `submissions list|show`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from belay.cli import app
from belay.jsonio import loads
from belay.store import DecisionRecord, NewAuditEvent, Store, SubmissionRecord, new_id

COMMIT = "3c9a1e5f7b2d4c6e8a0b1c2d3e4f5a6b7c8d9e0f"
OTHER = "3c9a1e5aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
OPTION_EXCEPTIONS = {("bundle", "create"): "-o", ("keys", "generate"): "-o"}
"""Commands whose ``-o`` is the file or folder they write (``--out``): `belay bundle create -o
OUT` is the documented contract, and `belay keys generate` follows it."""


def _run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and group of `belay`, with its path (Typer's own click commands)."""

    def walk(path: tuple[str, ...], command: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
        yield path, command
        for name, sub in (getattr(command, "commands", None) or {}).items():
            yield from walk((*path, name), sub)

    yield from walk((), typer.main.get_command(app))


def test_shell_completion_is_on() -> None:
    """`belay --help` offers --install-completion and --show-completion."""
    result = _run("--help")
    assert "--install-completion" in result.output and "--show-completion" in result.output


def test_help_has_no_bool_placeholders() -> None:
    """No command's help shows `<bool>` after a flag (a flag takes no value)."""
    seen = 0
    for path, _command in _commands():
        result = _run(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.output, path
        seen += 1
    assert seen > 20


def test_output_and_config_options_are_the_same_everywhere() -> None:
    """Every --output is also -o, every --config also -c, and -o/-c mean nothing else."""
    checked = 0
    for path, command in _commands():
        for param in command.params:
            opts = set(param.opts)
            if "--output" in opts:
                assert "-o" in opts, path
                checked += 1
            if "--config" in opts:
                assert "-c" in opts, path
                checked += 1
            if "-o" in opts and OPTION_EXCEPTIONS.get(path) != "-o":
                assert "--output" in opts, path
            if "-c" in opts:
                assert "--config" in opts, path
    assert checked > 10


def test_missing_policy_is_one_line(tmp_path: Path) -> None:
    """A policy file that does not exist is named in one line, without a class name."""
    report = tmp_path / "r.json"
    report.write_text("{}")
    result = _run("gate", "evaluate", "--policy", "policies/x.yaml", str(report))
    assert result.exit_code == 2
    assert result.stderr == "error: cannot read policy policies/x.yaml: no such file\n"


@pytest.fixture
def store_config(database_url: str, tmp_path: Path) -> Iterator[tuple[Store, Path]]:
    """A migrated store holding one judged submission and its audit events, and its belay.yaml."""
    store = Store(database_url)
    store.upgrade()
    now = datetime.now(UTC)
    submission_id, decision_id = new_id(), new_id()
    with store.unit_of_work() as uow:
        uow.submissions.add(
            SubmissionRecord(
                id=submission_id,
                received_at=now,
                idempotency_key=new_id(),
                content_digest="0" * 64,
                project="example-app",
                branch="main",
                commit_sha=COMMIT,
                state="received",
            )
        )
        uow.decisions.add(
            DecisionRecord(
                id=decision_id,
                submission_id=submission_id,
                decided_at=now,
                decision="fail",
                project="example-app",
                application="guestbook",
                revision=COMMIT,
                verdict={
                    "decision": "fail",
                    "summary": "fail: 1 of 2 rules failed (grype.critical)",
                    "reasons": [
                        {"rule": "grype.critical", "status": "fail", "message": "1 critical"},
                        {"rule": "bundle.digest", "status": "pass", "message": "ok"},
                    ],
                },
            )
        )
        uow.submissions.set_decision(submission_id, decision_id)
        for revision in (COMMIT, OTHER):
            uow.audit.append(
                NewAuditEvent(kind="verdict.decided", actor="belay", revision=revision), now=now
            )
        uow.commit()
    config = tmp_path / "belay.yaml"
    config.write_text(f'database_url: "{database_url}"\n')
    try:
        yield store, config
    finally:
        store.dispose()


def test_trace_accepts_a_commit_prefix(store_config: tuple[Store, Path]) -> None:
    """`audit trace --commit` takes 7+ characters of the SHA; fewer is one line, exit 2."""
    _store, config = store_config
    result = _run("audit", "trace", "--commit", COMMIT[:8], "-c", str(config), "-o", "json")
    assert result.exit_code == 0, result.output
    assert [e["revision"] for e in loads(result.stdout)] == [COMMIT]
    both = _run("audit", "trace", "--commit", COMMIT[:7], "-c", str(config), "-o", "json")
    assert {e["revision"] for e in loads(both.stdout)} == {COMMIT, OTHER}
    full = _run("audit", "trace", "--commit", COMMIT.upper(), "-c", str(config), "-o", "json")
    assert [e["revision"] for e in loads(full.stdout)] == [COMMIT]
    short = _run("audit", "trace", "--commit", COMMIT[:6], "-c", str(config))
    assert short.exit_code == 2
    assert len(short.stderr.splitlines()) == 1 and "at least 7" in short.stderr


def test_submissions_list_and_show(store_config: tuple[Store, Path]) -> None:
    """`submissions list` and `show` print what the store holds, as text and as JSON."""
    _store, config = store_config
    listed = _run("submissions", "list", "-c", str(config), "-o", "json")
    assert listed.exit_code == 0, listed.output
    (row,) = loads(listed.stdout)
    assert row["commit"] == COMMIT and row["decision"] == "fail" and row["deployment"] == "none"
    text = _run("submissions", "list", "-c", str(config))
    assert COMMIT[:12] in text.stdout and "fail" in text.stdout
    shown = _run("submissions", "show", row["id"], "-c", str(config))
    assert shown.exit_code == 0, shown.output
    assert "verdict: fail  fail: 1 of 2 rules failed (grype.critical)" in shown.stdout
    assert "fail grype.critical: 1 critical" in shown.stdout
    assert "bundle.digest" not in shown.stdout
    as_json = loads(_run("submissions", "show", row["id"], "-c", str(config), "-o", "json").stdout)
    assert [r["rule"] for r in as_json["reasons"]] == ["grype.critical", "bundle.digest"]
    missing = _run("submissions", "show", "nope", "-c", str(config))
    assert missing.exit_code == 1 and missing.stderr == "error: no submission with id 'nope'\n"


def test_audit_verify_never_creates_a_database(tmp_path: Path) -> None:
    """A missing SQLite file is a one-line error, and is still missing afterwards."""
    database = tmp_path / "absent.db"
    config = tmp_path / "belay.yaml"
    config.write_text(f"database_url: sqlite:///{database}\n")
    for command in (["audit", "verify"], ["audit", "list"], ["submissions", "list"]):
        result = _run(*command, "-c", str(config))
        assert result.exit_code == 2, result.output
        assert result.stderr == (
            f"error: cannot read database {database}: no such file (run `belay db upgrade`)\n"
        )
    assert not database.exists()
