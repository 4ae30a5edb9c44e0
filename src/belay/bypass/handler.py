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

With a :class:`~belay.bypass.lease.Lease`, only the replica holding it judges; the others keep
the newest state of every application, and :meth:`resync` judges all of them when the lease
passes to this replica, so nothing that happened while the old holder was dying is missed.

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

__all__ = ["UNAPPROVED_KIND", "BypassHandler"]

UNAPPROVED_KIND = AuditKind.deployment_unapproved
"""The audit event of a reported bypass."""
REPORT_THREADS = 8
"""Reports written at once: they share COMMITs (group commit), so a burst of bypasses is not
written one fsync after another on the event thread."""
REVERT_ACTOR = "bypass-watch"
"""Who the audit trail says asked for a revert (``manual:bypass-watch``)."""

_log = get_logger("belay.bypass")


def _utcnow() -> datetime:
    return datetime.now(UTC)


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
        self._projects: dict[str, ProjectSettings] = {
            p.argocd.application: p
            for p in settings.projects
            if p.argocd is not None and p.argocd.instance == instance
        }
        self._latest: dict[str, Application] = {}
        self._settled: dict[str, set[str]] = {}
        self._lock = threading.RLock()
        self._writers = ThreadPoolExecutor(REPORT_THREADS, thread_name_prefix="belay-bypass")
        self._pending: set[Future[bool]] = set()

    @property
    def applications(self) -> tuple[str, ...]:
        """The mapped applications it watches."""
        return tuple(sorted(self._projects))

    def __call__(self, event: WatchEvent, *, from_list: bool = False) -> None:
        """An event handler (:class:`belay.argocd.informer.EventHandler`): :meth:`handle`."""
        self.handle(event)

    def handle(self, event: WatchEvent) -> list[Unapproved]:
        """Judge one event; the unapproved deployments it found new. Each is written in the
        background (:meth:`flush` waits); a replica or restart that reported it first wins."""
        app = event.application
        project = self._projects.get(app.name)
        if project is None or (project.argocd and not self._same_namespace(app, project)):
            return []
        with self._lock:
            if event.type == "DELETED":
                self._latest.pop(app.name, None)
                self._settled.pop(app.name, None)
                return []
            self._latest[app.name] = app
            if self.lease is not None and not self.lease.held():
                return []
            return self._evaluate(app, project)

    def resync(self) -> list[Unapproved]:
        """Judge the newest state of every application (after taking the lease over)."""
        with self._lock:
            reported: list[Unapproved] = []
            for name, app in sorted(self._latest.items()):
                reported.extend(self._evaluate(app, self._projects[name]))
            return reported

    @staticmethod
    def _same_namespace(app: Application, project: ProjectSettings) -> bool:
        wanted = project.argocd.app_namespace if project.argocd else None
        return not wanted or not app.metadata.namespace or app.metadata.namespace == wanted

    def _since(self) -> datetime | None:
        if self.lease is not None and self.lease.since is not None:
            return self.lease.since
        return self.since

    def _evaluate(self, app: Application, project: ProjectSettings) -> list[Unapproved]:
        base = Known(
            instance=self.instance,
            application=app.name,
            project=project.name,
            gated_remote=project.match.remote,
            since=self._since(),
        )
        found = deployments(app)
        keyed = [(report_key(base, d), d) for d in found]
        settled = self._settled.setdefault(app.name, set())
        settled &= {key for key, _ in keyed}  # forget deployments the history no longer shows
        new = [(key, d) for key, d in keyed if key not in settled]
        if not new:
            return []
        with self.store.unit_of_work() as uow:
            passing = uow.bypass.passing(app.name, candidate_revisions(found), project=project.name)
            jobs = uow.bypass.belay_jobs(markers(d for _, d in new))
            own = uow.bypass.belay_revisions(
                self.instance, app.name, candidate_revisions(d for _, d in new)
            )
            already = uow.bypass.reported(key for key, _ in new)
        known = dataclasses.replace(
            base, passing=frozenset(passing), jobs=jobs, belay_revisions=frozenset(own)
        )
        reported: list[Unapproved] = []
        for key, deployment in new:
            if key in already:
                settled.add(key)
                continue
            verdict = judge(deployment, known, history=found)
            if verdict is None:
                if judgeable(deployment, known):
                    settled.add(key)
                continue
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
