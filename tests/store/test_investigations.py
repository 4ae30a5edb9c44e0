"""Stored investigations on real SQLite and PostgreSQL: the list, its filters, resolution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from belay.store import Store

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def _report(app: str, *kinds: str) -> dict[str, object]:
    return {
        "application": app,
        "findings": [{"kind": k, "severity": "critical", "summary": f"{app} {k}"} for k in kinds],
    }


def _add(store: Store, app: str, name: str, fps: list[str], at: datetime, *kinds: str) -> str:
    with store.unit_of_work() as uow:
        report_id = uow.investigations.add(
            alert={"alerts": []},
            report=_report(app, *kinds),
            now=at,
            application=app,
            alert_name=name,
            fingerprints=fps,
        )
        uow.commit()
    return report_id


def test_list_is_newest_first_and_filters(store: Store) -> None:
    """Filters by application, alert name, finding kind (exact, not a LIKE wildcard) and state."""
    first = _add(store, "cart", "KubePodCrashLooping", ["a1"], T0, "crash_loop", "degraded")
    second = _add(store, "search", "KubePodNotReady", ["b1"], T0 + timedelta(minutes=1), "drift")
    third = _add(store, "cart", "KubePodNotReady", ["c1"], T0 + timedelta(minutes=2), "oom_killed")
    with store.unit_of_work() as uow:
        assert [r.id for r in uow.investigations.search()] == [third, second, first]
        assert [r.id for r in uow.investigations.search(application="cart")] == [third, first]
        names = uow.investigations.search(alert_name="KubePodNotReady")
        assert [r.id for r in names] == [third, second]
        assert [r.id for r in uow.investigations.search(finding_kind="crash_loop")] == [first]
        assert uow.investigations.search(finding_kind="crash%") == []
        assert uow.investigations.search(finding_kind="crash") == []
        top = uow.investigations.search(limit=1)[0]
    assert top.top_finding == {
        "kind": "oom_killed",
        "severity": "critical",
        "summary": "cart oom_killed",
    }
    assert top.fingerprints == ("c1",) and top.state == "firing"


def test_resolution_by_fingerprint(store: Store) -> None:
    """An investigation is resolved once every alert it covers has resolved, at the latest time."""
    grouped = _add(store, "cart", "KubePodCrashLooping", ["a1", "a2"], T0, "crash_loop")
    other = _add(store, "search", "KubePodNotReady", ["b1"], T0, "degraded")
    with store.unit_of_work() as uow:
        assert uow.investigations.resolve("a1", at=T0 + timedelta(minutes=5)) == [grouped]
        uow.commit()
    with store.unit_of_work() as uow:
        record = uow.investigations.record(grouped)
        assert record is not None and record.state == "firing"
        assert uow.investigations.resolve("a2", at=T0 + timedelta(minutes=9)) == [grouped]
        assert uow.investigations.resolve("unknown", at=T0) == []
        uow.commit()
    with store.unit_of_work() as uow:
        record = uow.investigations.record(grouped)
        assert record is not None and record.resolved_at == T0 + timedelta(minutes=9)
        assert [r.id for r in uow.investigations.search(state="resolved")] == [grouped]
        assert [r.id for r in uow.investigations.search(state="firing")] == [other]
        # Resolving again changes nothing: the alert is no longer firing anywhere.
        assert uow.investigations.resolve("a2", at=T0 + timedelta(hours=1)) == []


def test_reports_stored_before_the_list_columns_are_backfilled(database_url: str) -> None:
    """A report stored at migration 0003 had no alert name or finding kinds once upgraded, so
    the list's filters never found it; 0004 fills them from the report itself."""
    import json

    from alembic import command
    from sqlalchemy import text

    from belay.store import _alembic_config

    store = Store(database_url)
    config = _alembic_config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003_attestations")
    report = {"alert": {"name": "KubePodCrashLooping"}, "findings": [{"kind": "crash_loop"}]}
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO investigations (id, created_at, alert, report) "
                "VALUES ('old-1', :at, :alert, :report)"
            ),
            {"at": "2026-01-01 00:00:00", "alert": "{}", "report": json.dumps(report)},
        )
    store.upgrade()
    with store.unit_of_work() as uow:
        found = uow.investigations.search(
            alert_name="KubePodCrashLooping", finding_kind="crash_loop"
        )
    assert [r.id for r in found] == ["old-1"]
    store.dispose()
