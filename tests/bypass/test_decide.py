"""The bypass decision as a table: one named row per rule of belay.bypass.decide."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from belay.argocd import Application
from belay.bypass import Known, deployments, judge
from belay.bypass.decide import judgeable, report_key

GOOD = "a" * 40
BAD = "b" * 40
OTHER = "c" * 40
REPO = "https://git.example/team/app.git"
CHARTS = "https://charts.example/stable"
SINCE = datetime(2026, 1, 1, tzinfo=UTC)


def _entry(n: int, revision: str, who: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": n,
        "revision": revision,
        "deployStartedAt": f"2026-06-01T10:0{n}:00Z",
        "deployedAt": f"2026-06-01T10:0{n}:05Z",
        "initiatedBy": who,
        "source": {"repoURL": REPO},
        **extra,
    }


def _app(
    history: list[dict[str, Any]], operation_state: dict[str, Any] | None = None
) -> Application:
    status: dict[str, Any] = {"history": history}
    if operation_state is not None:
        status["operationState"] = operation_state
    return Application.model_validate(
        {"metadata": {"name": "shop"}, "spec": {"project": "default"}, "status": status}
    )


def _op(
    revision: str,
    who: dict[str, Any],
    *,
    started: str = "2026-06-01T11:00:00Z",
    phase: str = "Running",
    info: list[dict[str, str]] | None = None,
    **sync: Any,
) -> dict[str, Any]:
    return {
        "operation": {
            "sync": {"revision": revision, "source": {"repoURL": REPO}, **sync},
            "initiatedBy": who,
            "info": info or [],
        },
        "phase": phase,
        "startedAt": started,
    }


KNOWN = Known(
    instance="default",
    application="shop",
    project="shop",
    gated_remote=REPO,
    passing=frozenset({GOOD}),
    jobs={"job-1": ("default", "shop", GOOD), "job-2": ("default", "shop", None)},
    since=SINCE,
    belay_revisions=frozenset({OTHER}),
)
ALICE = {"username": "alice"}
AUTO = {"automated": True}
MARK = [{"name": "belay-job", "value": "job-1"}]


def _last(app: Application, known: Known = KNOWN) -> Any:
    found = deployments(app)
    return judge(found[-1], known, history=found) if found else None


@pytest.mark.parametrize(
    ("name", "app", "flagged"),
    [
        ("ui sync to an unapproved revision", _app([], _op(BAD, ALICE)), True),
        ("cli sync to an approved revision (re-sync)", _app([], _op(GOOD, ALICE)), False),
        ("auto-sync after a push", _app([], _op(BAD, AUTO)), True),
        ("history entry of an unapproved sync", _app([_entry(1, BAD, ALICE)]), True),
        (
            "rollback to a revision that passed",
            _app([_entry(1, GOOD, ALICE), _entry(2, BAD, ALICE), _entry(3, GOOD, ALICE)]),
            False,
        ),
        ("belay's own tagged sync", _app([], _op(GOOD.upper(), ALICE, info=MARK)), False),
        (
            "belay's marker on another revision (copied marker)",
            _app([], _op(BAD, ALICE, info=MARK)),
            True,
        ),
        (
            "belay's manual sync at the target (job without revision)",
            _app([], _op(OTHER, ALICE, info=[{"name": "belay-job", "value": "job-2"}])),
            False,
        ),
        (
            "a marker naming no belay job",
            _app([], _op(BAD, ALICE, info=[{"name": "belay-job", "value": "forged"}])),
            True,
        ),
        (
            "history of a belay job's sync, its marker gone (after a restart)",
            _app([_entry(1, OTHER, ALICE)]),
            False,
        ),
        ("a dry run deploys nothing", _app([], _op(BAD, ALICE, dryRun=True)), False),
        (
            "before belay watched the instance",
            _app([], _op(BAD, ALICE, started="2025-12-31T23:59:00Z")),
            False,
        ),
        ("an unresolved branch is not judged yet", _app([], _op("main", ALICE)), False),
        (
            "multi-source: the gated repo's revision passed, the chart is not gated",
            _app(
                [
                    _entry(
                        1,
                        "",
                        ALICE,
                        revisions=[GOOD, "1.2.3"],
                        sources=[{"repoURL": REPO}, {"repoURL": CHARTS}],
                    )
                ]
            ),
            False,
        ),
        (
            "multi-source: the gated repo's revision did not pass",
            _app(
                [
                    _entry(
                        1,
                        "",
                        ALICE,
                        revisions=[BAD, GOOD],
                        sources=[{"repoURL": REPO}, {"repoURL": CHARTS}],
                    )
                ]
            ),
            True,
        ),
    ],
)
def test_judge_table(name: str, app: Application, flagged: bool) -> None:
    """Each row names one rule: flagged or not, as the module docstring says."""
    assert (_last(app) is not None) is flagged, name


def test_operation_and_its_history_entry_share_one_key() -> None:
    """A sync seen Running and later as a history entry is one deployment (one dedup key)."""
    running = deployments(_app([], _op(BAD, ALICE, started="2026-06-01T11:00:00Z")))[-1]
    entry = _entry(4, BAD, ALICE)
    entry["deployStartedAt"] = "2026-06-01T11:00:00Z"
    done = deployments(
        _app([entry], _op(BAD, ALICE, started="2026-06-01T11:00:00Z", phase="Succeeded"))
    )
    assert len(done) == 1
    assert report_key(KNOWN, done[0]) == report_key(KNOWN, running)


def test_history_entry_borrows_the_marker_of_its_operation() -> None:
    """History cannot carry infos; the operation that made the entry lends its marker."""
    entry = _entry(4, GOOD, ALICE)
    entry["deployStartedAt"] = "2026-06-01T11:00:00Z"
    found = deployments(_app([entry], _op(GOOD, ALICE, phase="Succeeded", info=MARK)))
    assert found[0].marker == "job-1"


def test_report_names_who_and_where_to_revert() -> None:
    """The report carries initiatedBy and the newest earlier approved revision."""
    app = _app([_entry(1, OTHER, ALICE), _entry(2, GOOD, ALICE), _entry(3, BAD, AUTO)])
    found = _last(app)
    assert found is not None
    assert found.initiated_by == "automated"
    assert found.revert_to == GOOD
    assert found.history_id == 3
    assert found.dedup_key == f"default/shop@{BAD}#s2026-06-01T10:03:00+00:00"


def test_unresolved_revision_is_looked_at_again() -> None:
    """``None`` for an unresolved branch is not final; for an approved commit it is."""
    pending = deployments(_app([], _op("main", ALICE)))[-1]
    approved = deployments(_app([], _op(GOOD, ALICE)))[-1]
    assert not judgeable(pending, KNOWN)
    assert judgeable(approved, KNOWN)
