"""The store's boundary: only belay.store knows SQLAlchemy, and the vocabularies keep their strings."""

from __future__ import annotations

import ast
from pathlib import Path

import belay
from belay.store import JobRecord
from belay.vocab import END_STATES, IN_FLIGHT_STATES, OUTCOME_STATES, AuditKind, JobState

SRC = Path(belay.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_only_the_store_imports_sqlalchemy() -> None:
    """No module outside belay.store imports SQLAlchemy (it sees records and store errors)."""
    offenders = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.relative_to(SRC).parts[0] != "store"
        and any(name.split(".")[0] == "sqlalchemy" for name in _imports(path))
    )
    assert offenders == []


def test_job_states_are_the_stored_strings() -> None:
    """JobState's values are the strings the jobs table holds, in the order pages list them."""
    assert [str(s) for s in JobState] == [
        "queued",
        "running",
        "succeeded",
        "failed",
        "timed_out",
        "superseded",
    ]
    assert set(IN_FLIGHT_STATES) | set(END_STATES) == set(JobState)
    assert not set(IN_FLIGHT_STATES) & set(END_STATES)
    assert set(OUTCOME_STATES) == set(END_STATES) - {JobState.superseded}


def test_audit_kinds_are_the_stored_strings() -> None:
    """Every AuditKind is ``area.event`` and its member name is that string with ``_``."""
    for kind in AuditKind:
        area, _, event = kind.value.partition(".")
        assert area and event, kind
        assert kind.name == f"{area}_{event}", kind


def test_a_record_serialises_states_as_strings() -> None:
    """A job record's JSON carries the state's plain string."""
    job = JobRecord.model_validate(
        {
            "id": "j",
            "instance": "i",
            "application": "a",
            "spec": {},
            "actor": "t",
            "state": "timed_out",
            "attempts": 1,
            "not_before": "2026-11-22T12:00:00Z",
            "created_at": "2026-11-22T12:00:00Z",
            "updated_at": "2026-11-22T12:00:00Z",
        }
    )
    assert job.state is JobState.timed_out
    assert job.model_dump(mode="json")["state"] == "timed_out"
    assert f"{job.state}" == "timed_out"
