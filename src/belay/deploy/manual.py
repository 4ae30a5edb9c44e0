"""Manual syncs (``belay sync APP``): queued through the same engine and audited with the person."""

from __future__ import annotations

from datetime import UTC, datetime

from belay.config import BelaySettings, ConfigError, SyncSettings
from belay.deploy.permit import GateOverride
from belay.deploy.spec import SyncSpec
from belay.store import JobRecord, NewAuditEvent, Store
from belay.vocab import AuditKind

__all__ = ["queue_manual_sync"]


def queue_manual_sync(
    store: Store,
    settings: BelaySettings,
    *,
    application: str,
    revision: str | None,
    actor: str,
    instance: str | None = None,
    override: GateOverride | None = None,
) -> JobRecord:
    """Queue a sync of ``application`` (at ``revision``, or its target when ``None``).

    When a project in ``belay.yaml`` maps to the application, its instance, Argo CD project,
    namespace and sync options are used; otherwise the default instance with default options.
    An ``override`` of the gate is audited in the same transaction as the job, linked to the
    overridden decision (see :mod:`belay.deploy.permit`, which decides whether a sync may be
    queued at all). The job itself carries no decision id: it is not a gate job, so the worker's
    signed-decision check does not apply to it.
    """
    mapped = [p for p in settings.projects if p.argocd and p.argocd.application == application]
    if instance is not None:
        mapped = [p for p in mapped if p.argocd and p.argocd.instance == instance]
    if len(mapped) > 1:
        names = ", ".join(p.name for p in mapped)
        raise ConfigError(
            f"application {application!r} is mapped by several projects ({names}): give --instance"
        )
    project = mapped[0] if mapped else None
    target = project.argocd if project else None
    sync = project.sync if project else SyncSettings()
    if revision is None:
        spec = SyncSpec.from_settings(
            sync.model_copy(update={"revision": "HEAD"}), commit=None, branch=None
        )
        spec = spec.model_copy(update={"revision": None, "revision_mode": "HEAD"})
    else:
        spec = SyncSpec.from_settings(
            sync.model_copy(update={"revision": "commit"}), commit=revision, branch=None
        )
    now = datetime.now(UTC)
    with store.unit_of_work() as uow:
        job = uow.jobs.enqueue(
            instance=(target.instance if target else None) or instance or "default",
            application=application,
            argocd_project=target.project if target else None,
            app_namespace=target.app_namespace if target else None,
            revision=revision,
            spec=spec.model_dump(mode="json"),
            actor=f"manual:{actor}",
            now=now,
        )
        uow.audit.append(
            NewAuditEvent(
                kind=AuditKind.sync_manual_requested,
                actor=f"manual:{actor}",
                project=project.name if project else None,
                instance=job.instance,
                application=application,
                revision=revision,
                job_id=job.id,
                data={"sync": spec.model_dump(mode="json")},
            ),
            now=now,
        )
        if override is not None:
            event = override.audit_event(job, project=project.name if project else None)
            uow.audit.append(event, now=now)
        uow.commit()
    return job
