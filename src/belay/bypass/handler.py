"""The bypass watch's handler: application events in, unapproved deployments reported once.

:meth:`BypassHandler.handle` takes each :class:`~belay.argocd.WatchEvent` of one Argo CD
instance (from :class:`~belay.bypass.events.ListWatch` or the shared informer). For an
application a belay.yaml project maps, it lists the deployments the application shows
(:func:`~belay.bypass.decide.deployments`), looks up what the store knows about the new ones
(passing decisions, Belay's own jobs, earlier reports) and judges each
(:func:`~belay.bypass.decide.judge`). An unapproved one is reported in **one transaction**: the
report row under its unique key, the audit event ``deployment.unapproved`` and the alert's
reservation. A second replica, a re-list or a restart finds the key taken and reports nothing;
a crash before the commit leaves nothing, and the next list reports it.

An application is known by its ``(appNamespace, name)``: two projects may map the same name in
different namespaces. Its report key is :func:`~belay.bypass.decide.report_key`'s
``<instance>/<application>@<revision>#<start>`` for a project without ``appNamespace`` and
``<instance>/<appNamespace>/<application>@<revision>#<start>`` for one with it
(:func:`namespaced_key`); a deployment already reported under the key without the namespace (by a
Belay from before namespaced keys) is not reported again.

With a :class:`~belay.bypass.lease.Lease`, only the replica holding it judges; the others keep
the newest state of every application and, per application, the state at each distinct sync
operation they saw (by ``startedAt``, the last :data:`KEPT_OPERATIONS`): a failed or partial sync
leaves no history entry, so once a later operation replaced it only that earlier state shows it.
:meth:`resync` judges all of them when the lease passes to this replica, so nothing that
happened while the old holder was dying is missed.

After the commit the alert is queued and, for ``on_unapproved: revert``, a sync back to the
newest earlier approved revision is queued through the manual-sync path
(:func:`belay.deploy.manual.queue_manual_sync`), so the deployment worker runs it like any other.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime

from belay.argocd import Application, WatchEvent
from belay.bypass.decide import (
    Known,
    Unapproved,
    candidate_revisions,
    deployments,
    judge,
    judgeable,
    markers,
    report_key,
)
from belay.bypass.lease import Lease
from belay.config import BelaySettings, ProjectSettings
from belay.deploy import queue_manual_sync
from belay.logs import get_logger
from belay.notify import Alerting, OutgoingAlert, unapproved_alert
from belay.store import BypassReportRecord, NewAuditEvent, Store, UnitOfWork
from belay.vocab import AuditKind

__all__ = ["KEPT_OPERATIONS", "UNAPPROVED_KIND", "BypassHandler", "namespaced_key"]

UNAPPROVED_KIND = AuditKind.deployment_unapproved
"""The audit event of a reported bypass."""
REPORT_THREADS = 8
"""Reports written at once: they share COMMITs (group commit), so a burst of bypasses is not
written one fsync after another on the event thread."""
KEPT_OPERATIONS = 50
"""Per application, how many distinct sync operations a replica not holding the lease keeps for
:meth:`BypassHandler.resync` (the newest ones)."""
REVERT_ACTOR = "bypass-watch"
"""Who the audit trail says asked for a revert (``manual:bypass-watch``)."""

_log = get_logger("belay.bypass")


def _utcnow() -> datetime:
    return datetime.now(UTC)


AppKey = tuple[str, str]
"""An application's ``(appNamespace, name)``; ``""`` for a project without ``appNamespace``."""


def namespaced_key(key: str, known: Known, app_namespace: str) -> str:
    """The report key ``key`` (:func:`~belay.bypass.decide.report_key` of ``known``) with the
    application's ``app_namespace`` put before its name; unchanged when it is empty."""
    prefix = f"{known.instance}/{known.application}@"
    if not app_namespace or not key.startswith(prefix):
        return key
    return f"{known.instance}/{app_namespace}/{known.application}@{key[len(prefix) :]}"


def _started(app: Application) -> datetime | None:
    state = app.status.operation_state
    return state.started_at if state is not None else None


class BypassHandler:
    """Judges the deployments of one instance's mapped applications; reports each bypass once."""

    def __init__(
        self,
        store: Store,
        settings: BelaySettings,
        *,
        instance: str,
        alerting: Alerting | None = None,
        lease: Lease | None = None,
        reporter: str = "belay",
        since: datetime | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store = store
        self.settings = settings
        self.instance = instance
        self.alerting = alerting
        self.lease = lease
        self.reporter = reporter
        self.since = since
        """Without a lease: deployments that started before are not judged (with one, the
        lease's ``since``: when Belay first watched the instance)."""
        self.clock = clock
        self._projects: dict[AppKey, ProjectSettings] = {
            (p.argocd.app_namespace or "", p.argocd.application): p
            for p in settings.projects
            if p.argocd is not None and p.argocd.instance == instance
        }
        self._latest: dict[AppKey, Application] = {}
        self._operations: dict[AppKey, dict[datetime, Application]] = {}
        """While the lease is held elsewhere: each application's state at every distinct
        operation seen (by ``startedAt``), judged by :meth:`resync`."""
        self._settled: dict[AppKey, set[str]] = {}
        self._lock = threading.RLock()
        self._writers = ThreadPoolExecutor(REPORT_THREADS, thread_name_prefix="belay-bypass")
        self._pending: set[Future[bool]] = set()

    @property
    def applications(self) -> tuple[str, ...]:
        """The mapped applications it watches (``namespace/name`` for a project with an
        ``appNamespace``)."""
        return tuple(sorted(f"{ns}/{name}" if ns else name for ns, name in self._projects))

    def __call__(self, event: WatchEvent, *, from_list: bool = False) -> None:
        """An event handler (:class:`belay.argocd.informer.EventHandler`): :meth:`handle`."""
        self.handle(event)

    def handle(self, event: WatchEvent) -> list[Unapproved]:
        """Judge one event; the unapproved deployments it found new. Each is written in the
        background (:meth:`flush` waits); a replica or restart that reported it first wins."""
        app = event.application
        mapped = self._mapping(app)
        if mapped is None:
            return []
        key, project = mapped
        with self._lock:
            if event.type == "DELETED":
                self._latest.pop(key, None)
                self._operations.pop(key, None)
                self._settled.pop(key, None)
                return []
            self._latest[key] = app
            if self.lease is not None and not self.lease.held():
                self._keep_operation(key, app)
                return []
            # What was kept meanwhile waits for resync (taking the lease precedes it).
            return self._evaluate(key, app, project)

    def resync(self) -> list[Unapproved]:
        """Judge every application (after taking the lease over): its state at each operation
        kept while the lease was held elsewhere, oldest first, then its newest state."""
        with self._lock:
            reported: list[Unapproved] = []
            for key, app in sorted(self._latest.items()):
                project = self._projects[key]
                kept = self._operations.get(key, {})
                for started in sorted(kept):
                    if kept[started] is not app:
                        reported.extend(self._evaluate(key, kept[started], project))
                reported.extend(self._evaluate(key, app, project))
                # Judged (a failure raises before this: the next resync judges them again).
                self._operations.pop(key, None)
            return reported

    def _mapping(self, app: Application) -> tuple[AppKey, ProjectSettings] | None:
        """The ``(appNamespace, name)`` and project mapping ``app``, if one does.

        A project with an ``appNamespace`` maps the application in that namespace; one without
        maps it in any namespace no other project names. An application shown without a
        namespace is the one project mapping its name, if only one does.
        """
        name, namespace = app.metadata.name, app.metadata.namespace or ""
        for key in ((namespace, name), ("", name)):
            project = self._projects.get(key)
            if project is not None:
                return key, project
        if not namespace:
            named = [k for k in self._projects if k[1] == name]
            if len(named) == 1:
                return named[0], self._projects[named[0]]
        return None

    def _keep_operation(self, key: AppKey, app: Application) -> None:
        started = _started(app)
        if started is None:
            return
        kept = self._operations.setdefault(key, {})
        kept[started] = app  # a later state of the same operation replaces the earlier one
        while len(kept) > KEPT_OPERATIONS:
            del kept[min(kept)]

    def _since(self) -> datetime | None:
        if self.lease is not None and self.lease.since is not None:
            return self.lease.since
        return self.since

    def _evaluate(self, at: AppKey, app: Application, project: ProjectSettings) -> list[Unapproved]:
        namespace = at[0]
        base = Known(
            instance=self.instance,
            application=app.name,
            project=project.name,
            gated_remote=project.match.remote,
            since=self._since(),
        )
        found = deployments(app)
        keyed = [(namespaced_key(report_key(base, d), base, namespace), d) for d in found]
        settled = self._settled.setdefault(at, set())
        settled &= {key for key, _ in keyed}  # forget deployments the history no longer shows
        new = [(key, d) for key, d in keyed if key not in settled]
        if not new:
            return []
        # Reported by a Belay that keyed reports without the namespace: the same deployment.
        legacy = {key: report_key(base, d) for key, d in new if namespace}
        with self.store.unit_of_work() as uow:
            passing = uow.bypass.passing(app.name, candidate_revisions(found), project=project.name)
            jobs = uow.bypass.belay_jobs(markers(d for _, d in new))
            own = uow.bypass.belay_revisions(
                self.instance, app.name, candidate_revisions(d for _, d in new)
            )
            already = uow.bypass.reported([*(key for key, _ in new), *legacy.values()])
        known = dataclasses.replace(
            base, passing=frozenset(passing), jobs=jobs, belay_revisions=frozenset(own)
        )
        reported: list[Unapproved] = []
        for key, deployment in new:
            if key in already or legacy.get(key) in already:
                settled.add(key)
                continue
            verdict = judge(deployment, known, history=found)
            if verdict is None:
                if judgeable(deployment, known):
                    settled.add(key)
                continue
            if verdict.dedup_key != key:
                verdict = dataclasses.replace(verdict, dedup_key=key)
            self._submit(verdict, project, settled)
            reported.append(verdict)
            settled.add(key)
        return reported

    def _submit(self, found: Unapproved, project: ProjectSettings, settled: set[str]) -> None:
        future = self._writers.submit(self._report, found, project)
        self._pending.add(future)

        def done(f: Future[bool]) -> None:
            with self._lock:
                self._pending.discard(f)
                if f.exception() is not None:
                    # Not reported: judged again at the application's next event or list.
                    settled.discard(found.dedup_key)
                    _log.error(
                        "bypass.report_failed",
                        application=found.application,
                        revision=found.revision,
                        error=repr(f.exception()),
                    )

        future.add_done_callback(done)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every report submitted so far is written (tests, a clean stop)."""
        with self._lock:
            pending = list(self._pending)
        wait(pending, timeout=timeout)

    def _report(self, found: Unapproved, project: ProjectSettings) -> bool:
        now = self.clock()
        action = project.on_unapproved
        record = BypassReportRecord(
            dedup_key=found.dedup_key,
            instance=found.instance,
            application=found.application,
            revision=found.revision,
            project=found.project,
            history_id=found.history_id,
            initiated_by=found.initiated_by,
            deployed_at=found.at,
            reported_at=now,
            reporter=self.reporter,
            action=action,
            details={"reason": found.reason, "revert_to": found.revert_to},
        )
        alerting = self.alerting
        alert: OutgoingAlert | None = None
        if alerting is not None:
            alert = unapproved_alert(
                report_key=found.dedup_key,
                instance=found.instance,
                application=found.application,
                project=found.project,
                revision=found.revision,
                initiated_by=found.initiated_by,
                reason=found.reason,
                now=now,
                link=f"{self.settings.public_url}/submissions?project={found.project}"
                if found.project
                else None,
            )

        def write(uow: UnitOfWork) -> tuple[bool, bool]:
            if not uow.bypass.report(record):
                return False, False
            uow.audit.append(
                NewAuditEvent(
                    kind=UNAPPROVED_KIND,
                    actor=f"argocd:{found.initiated_by}",
                    project=found.project,
                    instance=found.instance,
                    application=found.application,
                    revision=found.revision,
                    data={
                        "initiated_by": found.initiated_by,
                        "automated": found.initiated_by == "automated",
                        "at": found.at.isoformat() if found.at else None,
                        "history_id": found.history_id,
                        "reason": found.reason,
                        "action": action,
                        "revert_to": found.revert_to,
                        "reporter": self.reporter,
                    },
                ),
                now=now,
            )
            return True, alerting is not None and alert is not None and alerting.reserve(uow, alert)

        # Reports arriving together share one transaction and one COMMIT (store.group_commit).
        fresh, queued = self.store.group_commit(write)
        if not fresh:
            return False
        _log.warning(
            "bypass.unapproved",
            instance=found.instance,
            application=found.application,
            revision=found.revision,
            initiated_by=found.initiated_by,
            action=action,
        )
        if queued and alerting is not None and alert is not None:
            alerting.submit(alert)
        if action == "revert":
            self._revert(found)
        return True

    def _revert(self, found: Unapproved) -> None:
        if found.revert_to is None:
            _log.warning(
                "bypass.revert_impossible",
                application=found.application,
                detail="no earlier revision in the history passed the gate",
            )
            return
        try:
            job = queue_manual_sync(
                self.store,
                self.settings,
                application=found.application,
                revision=found.revert_to,
                actor=REVERT_ACTOR,
                instance=found.instance,
            )
        except Exception:  # noqa: BLE001 - the report stands; the failure is logged
            _log.exception("bypass.revert_failed", application=found.application)
            return
        _log.warning(
            "bypass.revert_queued",
            application=found.application,
            revision=found.revert_to,
            job_id=job.id,
        )
