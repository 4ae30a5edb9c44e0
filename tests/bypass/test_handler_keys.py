"""The handler's bookkeeping, fed events directly on a real store: applications known by
``(appNamespace, name)`` with namespaced report keys, and every operation a replica saw while
another held the lease judged at takeover."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from belay.argocd import WatchEvent
from belay.bypass import BypassHandler
from belay.bypass.handler import KEPT_OPERATIONS
from belay.config.settings import BelaySettings
from belay.sim.sample import sample_state
from belay.store import Store

from .conftest import REPO, START, approve, commit

NOW = datetime.now(UTC).replace(microsecond=0)


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _app(
    name: str,
    namespace: str,
    *,
    history: list[tuple[str, datetime]] = (),  # type: ignore[assignment]
    operation: tuple[str, datetime, str] | None = None,
) -> dict[str, Any]:
    """The sample application as ``name`` in ``namespace``: its first entry, then ``history``
    (syncs by mallory), then ``operation`` (revision, start, phase) by mallory."""
    app = copy.deepcopy(sample_state()["applications"][0])
    app["metadata"].update(name=name, namespace=namespace, uid=f"uid-{namespace}-{name}")
    entries = app["status"]["history"][:1]
    for n, (revision, started) in enumerate(history, start=1):
        entries.append(
            {
                "id": n,
                "revision": revision,
                "deployStartedAt": _stamp(started),
                "deployedAt": _stamp(started + timedelta(seconds=1)),
                "source": {"repoURL": REPO, "path": "guestbook", "targetRevision": "HEAD"},
                "initiatedBy": {"username": "mallory"},
            }
        )
    app["status"]["history"] = entries
    if operation is not None:
        revision, started, phase = operation
        app["status"]["operationState"] = {
            "operation": {
                "sync": {"revision": revision},
                "initiatedBy": {"username": "mallory"},
            },
            "phase": phase,
            "startedAt": _stamp(started),
            "syncResult": {"revision": revision},
        }
    return app


def _event(app: dict[str, Any], kind: str = "MODIFIED") -> WatchEvent:
    return WatchEvent.model_validate({"type": kind, "application": app})


def _settings(database_url: str, *mappings: tuple[str, str, str | None]) -> BelaySettings:
    """One project per ``(project, application, appNamespace)``."""
    projects = []
    for project, application, namespace in mappings:
        argocd: dict[str, Any] = {"application": application}
        if namespace:
            argocd["appNamespace"] = namespace
        projects.append({"name": project, "match": {"remote": REPO}, "argocd": argocd})
    return BelaySettings.model_validate({"database_url": database_url, "projects": projects})


def _keys(store: Store) -> list[tuple[str, str | None, str]]:
    with store.unit_of_work() as uow:
        return sorted((r.dedup_key, r.project, r.revision) for r in uow.bypass.recent(limit=100))


def _handler(store: Store, settings: BelaySettings, **kw: Any) -> BypassHandler:
    kw.setdefault("since", NOW - timedelta(minutes=5))
    return BypassHandler(store, settings, instance="default", **kw)


def test_one_name_in_two_app_namespaces_is_two_applications(store: Store) -> None:
    """Two projects mapping ``web`` in different appNamespaces both watch theirs, and a sync
    of each is reported under a key naming its namespace; a third namespace is nobody's."""
    settings = _settings(store.url, ("a", "web", "team-a"), ("b", "web", "team-b"))
    handler = _handler(store, settings)
    started = NOW - timedelta(seconds=30)
    for namespace, n in (("team-a", 1), ("team-b", 2), ("team-c", 3)):
        handler.handle(_event(_app("web", namespace, history=[(commit(n), started)])))
    handler.flush()
    stamp = "s" + started.isoformat()
    assert _keys(store) == [
        (f"default/team-a/web@{commit(1)}#{stamp}", "a", commit(1)),
        (f"default/team-b/web@{commit(2)}#{stamp}", "b", commit(2)),
    ]
    assert handler.applications == ("team-a/web", "team-b/web")


def test_an_application_without_app_namespace_keeps_its_key(store: Store) -> None:
    """A project without appNamespace (the control-plane namespace) keys reports as before."""
    settings = _settings(store.url, ("shop", "shop", None))
    handler = _handler(store, settings)
    started = NOW - timedelta(seconds=30)
    handler.handle(_event(_app("shop", "argocd", history=[(commit(7), started)])))
    handler.flush()
    assert _keys(store) == [(f"default/shop@{commit(7)}#s{started.isoformat()}", "shop", commit(7))]


def test_a_report_under_the_key_without_namespace_is_not_repeated(store: Store) -> None:
    """A deployment a Belay before namespaced keys reported is not reported again."""
    settings = _settings(store.url, ("a", "web", "team-a"))
    started = NOW - timedelta(seconds=30)
    app = _app("web", "team-a", history=[(commit(1), started)])
    old = _handler(store, _settings(store.url, ("a", "web", None)))
    old.handle(_event(app))
    old.flush()
    handler = _handler(store, settings)
    assert handler.handle(_event(app)) == []
    handler.flush()
    assert [k for k, _, _ in _keys(store)] == [f"default/web@{commit(1)}#s{started.isoformat()}"]


class _Lease:
    """A lease held elsewhere until :attr:`mine` is set."""

    since: datetime | None = NOW - timedelta(minutes=5)

    def __init__(self) -> None:
        self.mine = False

    def held(self) -> bool:
        return self.mine


def test_takeover_judges_a_failed_sync_a_later_one_replaced(store: Store) -> None:
    """A failed sync (no history entry) replaced by an approved one while the lease was held
    elsewhere is reported when this replica takes the lease over; each operation once."""
    settings = _settings(store.url, ("shop", "shop", None))
    lease = _Lease()
    handler = _handler(store, settings, lease=lease)
    approve(store, "shop", START)
    approve(store, "shop", commit(2))
    failed, later = NOW - timedelta(seconds=40), NOW - timedelta(seconds=20)
    handler.handle(_event(_app("shop", "argocd", operation=(commit(9), failed, "Running"))))
    handler.handle(_event(_app("shop", "argocd", operation=(commit(9), failed, "Failed"))))
    handler.handle(_event(_app("shop", "argocd", operation=(commit(2), later, "Running"))))
    handler.handle(
        _event(
            _app(
                "shop",
                "argocd",
                history=[(commit(2), later)],
                operation=(commit(2), later, "Succeeded"),
            )
        )
    )
    assert _keys(store) == []
    lease.mine = True
    found = handler.resync()
    handler.flush()
    assert [(f.revision, f.initiated_by) for f in found] == [(commit(9), "mallory")]
    assert [r for _, _, r in _keys(store)] == [commit(9)]
    assert handler.resync() == []  # judged once: nothing kept any more


def test_a_replica_not_holding_keeps_the_newest_operations_only(store: Store) -> None:
    """The operations kept per application are bounded: the oldest are let go."""
    settings = _settings(store.url, ("shop", "shop", None))
    lease = _Lease()
    handler = _handler(store, settings, lease=lease)
    first = NOW - timedelta(seconds=KEPT_OPERATIONS + 30)
    for n in range(KEPT_OPERATIONS + 2):
        at = first + timedelta(seconds=n)
        handler.handle(_event(_app("shop", "argocd", operation=(commit(100 + n), at, "Failed"))))
    lease.mine = True
    found = handler.resync()
    handler.flush()
    assert len(found) == KEPT_OPERATIONS
    assert {f.revision for f in found} == {commit(100 + n) for n in range(2, KEPT_OPERATIONS + 2)}
