"""The bypass decision as a table: one named row per rule of belay.bypass.decide."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from belay.argocd import Application
from belay.bypass import Known, deployments, judge
from belay.bypass.decide import judgeable, report_key
from belay.store import BelayJobRecord

GOOD = "a" * 40
BAD = "b" * 40
OTHER = "c" * 40
OWN = "d" * 40
"""A revision without a passing decision that Belay's job-1 synced (an overridden gate)."""
REPO = "https://git.example/team/app.git"
CHARTS = "https://charts.example/stable"
VENDOR = "https://git.example/vendor/chart.git"
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
    history: list[dict[str, Any]],
    operation_state: dict[str, Any] | None = None,
    *,
    sources: list[str] | None = None,
) -> Application:
    status: dict[str, Any] = {"history": history}
    if operation_state is not None:
        status["operationState"] = operation_state
    spec: dict[str, Any] = {"project": "default"}
    if sources is not None:
        spec["sources"] = [{"repoURL": url} for url in sources]
    return Application.model_validate(
        {"metadata": {"name": "shop"}, "spec": spec, "status": status}
    )


def _op(
    revision: str,
    who: dict[str, Any],
    *,
    started: str = "2026-06-01T11:00:00Z",
    phase: str = "Running",
    info: list[dict[str, str]] | None = None,
    source: str | None = REPO,
    **sync: Any,
) -> dict[str, Any]:
    if source is not None:
        sync = {"source": {"repoURL": source}, **sync}
    return {
        "operation": {
            "sync": {"revision": revision, **sync},
            "initiatedBy": who,
            "info": info or [],
        },
        "phase": phase,
        "startedAt": started,
    }


def _job(revision: str | None, state: str, finished: str | None = None) -> BelayJobRecord:
    return BelayJobRecord(
        instance="default",
        application="shop",
        revision=revision,
        state=state,
        created_at=datetime(2026, 6, 1, 10, 59, tzinfo=UTC),
        finished_at=datetime.fromisoformat(finished) if finished else None,
    )


KNOWN = Known(
    instance="default",
    application="shop",
    project="shop",
    gated_remote=REPO,
    passing=frozenset({GOOD}),
    jobs={
        # Belay's sync of OWN (no passing decision) started 11:00:00 and finished 11:00:30.
        "job-1": _job(OWN, "succeeded", "2026-06-01T11:00:30+00:00"),
        "job-2": _job(None, "succeeded", "2026-06-01T11:00:30+00:00"),
        "job-3": _job(None, "running"),
        "job-4": _job("main", "failed", "2026-06-01T11:00:30+00:00"),
        "job-5": _job(OWN, "running"),
    },
    since=SINCE,
    belay_revisions=frozenset({OTHER}),
)
ALICE = {"username": "alice"}
AUTO = {"automated": True}
MARK = [{"name": "belay-job", "value": "job-1"}]


def _mark(job: str) -> list[dict[str, str]]:
    return [{"name": "belay-job", "value": job}]


def _multi(revisions: list[str], repos: list[str]) -> dict[str, Any]:
    return _entry(1, "", ALICE, revisions=revisions, sources=[{"repoURL": r} for r in repos])


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
        (
            "belay's own tagged sync of an unapproved revision (the marker approves it)",
            _app([], _op(OWN.upper(), ALICE, info=MARK)),
            False,
        ),
        (
            "belay's own tagged sync, seen after its job finished",
            _app([], _op(OWN, ALICE, phase="Succeeded", info=MARK)),
            False,
        ),
        (
            "a running belay job's marker at its revision",
            _app([], _op(OWN, ALICE, info=_mark("job-5"))),
            False,
        ),
        (
            "belay's marker on another revision (copied marker)",
            _app([], _op(BAD, ALICE, info=MARK)),
            True,
        ),
        (
            "a finished job's marker replayed on a later sync of its revision",
            _app([], _op(OWN, ALICE, started="2026-06-01T12:00:00Z", info=MARK)),
            True,
        ),
        (
            "a finished job without revision vouches for nothing (replayed marker)",
            _app([], _op(OTHER, ALICE, info=_mark("job-2"))),
            True,
        ),
        (
            "belay's manual sync at the target (job without revision) while it runs",
            _app([], _op(OTHER, ALICE, info=_mark("job-3"))),
            False,
        ),
        (
            "a finished branch-mode job's marker (no pinned revision)",
            _app([], _op(BAD, ALICE, info=_mark("job-4"))),
            True,
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
            "the app pointed at a Helm chart: a finished deployment with no commit is flagged",
            _app([_entry(1, "1.2.3", ALICE, source={"repoURL": CHARTS, "chart": "web"})]),
            True,
        ),
        (
            "a finished deployment at a tag that names no commit is flagged",
            _app([_entry(1, "v1.0.0", ALICE)]),
            True,
        ),
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
        (
            "multi-source: every source from the gated repo must pass (chart + ref: values)",
            _app([_multi([BAD, GOOD], [REPO, REPO])]),
            True,
        ),
        (
            "multi-source: every source from the gated repo passed",
            _app([_multi([GOOD, GOOD], [REPO, REPO])]),
            False,
        ),
        (
            "multi-source: no source is the gated repo, a passing one will do (fallback)",
            _app([_multi([BAD, GOOD], [VENDOR, CHARTS])]),
            False,
        ),
        (
            "multi-source running without sync.sources: the spec's sources say which is gated",
            _app(
                [],
                _op("", ALICE, source=None, revisions=[BAD, GOOD]),
                sources=[REPO, CHARTS],
            ),
            True,
        ),
        (
            "multi-source operation finished with its sources unknown: every commit must pass",
            _app([], _op("", ALICE, source=None, phase="Failed", revisions=[BAD, GOOD])),
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


def test_multi_source_with_unknown_sources_is_not_judged_yet() -> None:
    """A running multi-source sync that names revisions but no sources (and whose spec does not
    say either) is neither approved nor settled: its key is judged again at the next event."""
    app = _app([], _op("", ALICE, source=None, revisions=[BAD, GOOD]))
    running = deployments(app)[-1]
    assert judge(running, KNOWN) is None
    assert not judgeable(running, KNOWN)


def test_multi_source_spec_sources_not_lined_up_is_not_judged_yet() -> None:
    """``spec.sources`` that do not line up with the operation's revisions say nothing."""
    app = _app([], _op("", ALICE, source=None, revisions=[BAD, GOOD]), sources=[REPO])
    assert not judgeable(deployments(app)[-1], KNOWN)


def test_an_unresolved_gated_source_is_not_judged_yet() -> None:
    """Two sources from the gated repository, one still a branch: the other's pass does not
    approve (nor settle) the deployment before Argo CD resolved both."""
    op = _op("", ALICE, source=None, revisions=[GOOD, "main"], sources=[{"repoURL": REPO}] * 2)
    running = deployments(_app([], op))[-1]
    assert judge(running, KNOWN) is None
    assert not judgeable(running, KNOWN)
