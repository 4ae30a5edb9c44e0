"""The evidence tools (I/O): ``argocd_application_status``, ``argocd_application_diff`` and
``argocd_resource_tree``.

Each tool makes one read-only call (the tree tool two at most: the tree, then one pod's events)
through :class:`belay.argocd.ArgoCDClient` and returns typed
evidence. Errors of the client's tree are captured into the evidence (``error``), never raised,
so a report is always produced; the rules turn them into findings:

===========================================  ======================
client error                                 finding kind
===========================================  ======================
ArgoCDAuthError (401)                        ``auth_failed``
ArgoCDPermissionDenied (403)                 ``permission_denied``
  … bare ``permission denied`` without project  ``app_not_found`` (ambiguous, said so)
ArgoCDNotFound (404)                         ``app_not_found``
anything else (network, TLS, timeout, 5xx…)  ``argocd_unreachable``
===========================================  ======================
"""

from __future__ import annotations

from collections.abc import Sequence

from belay.argocd import (
    ArgoCDAuthError,
    ArgoCDClient,
    ArgoCDError,
    ArgoCDNotFound,
    ArgoCDPermissionDenied,
)
from belay.investigate.diff import build_diff_evidence
from belay.investigate.models import (
    ApplicationListEvidence,
    ApplicationStatusEvidence,
    DiffEvidence,
    EvidenceError,
    FindingKind,
    ResourceTreeEvidence,
)
from belay.investigate.pods import image_changes, needs_events, pod_causes, with_events
from belay.investigate.status import summarize_application, summarize_list_entry
from belay.redact import redact_text

__all__ = [
    "application_diff",
    "application_list",
    "application_status",
    "capture_error",
    "resource_tree",
]


def capture_error(err: ArgoCDError, *, call: str) -> EvidenceError:
    """Classify a client error into the finding it leads to (one redacted line kept)."""
    ambiguous = False
    if isinstance(err, ArgoCDAuthError):
        kind = FindingKind.auth_failed
    elif isinstance(err, ArgoCDPermissionDenied):
        ambiguous = bool(getattr(err, "maybe_not_found", False))
        kind = FindingKind.app_not_found if ambiguous else FindingKind.permission_denied
    elif isinstance(err, ArgoCDNotFound):
        kind = FindingKind.app_not_found
    else:
        kind = FindingKind.argocd_unreachable
    return EvidenceError(
        finding_kind=kind.value,
        error_type=type(err).__name__,
        message=redact_text(str(err)),
        status_code=err.status_code,
        call=call,
        ambiguous_not_found=ambiguous,
    )


def application_status(
    client: ArgoCDClient,
    name: str,
    *,
    instance: str,
    project: str | None = None,
    app_namespace: str | None = None,
    history_limit: int = 10,
) -> ApplicationStatusEvidence:
    """``argocd_application_status`` with a name: one GET of the application."""
    try:
        app = client.get_application(name, project=project, app_namespace=app_namespace)
    except ArgoCDError as err:
        return ApplicationStatusEvidence(
            instance=instance,
            application=name,
            project=project,
            app_namespace=app_namespace,
            error=capture_error(err, call="get_application"),
        )
    return summarize_application(app.raw, instance=instance, history_limit=history_limit)


def application_list(
    client: ArgoCDClient,
    *,
    instance: str,
    projects: Sequence[str] = (),
    app_namespace: str | None = None,
    limit: int = 50,
) -> ApplicationListEvidence:
    """``argocd_application_status`` without a name: the visible apps, scoped by project."""
    try:
        apps = client.list_applications(projects=projects, app_namespace=app_namespace)
    except ArgoCDError as err:
        return ApplicationListEvidence(
            instance=instance,
            projects=tuple(projects),
            error=capture_error(err, call="list_applications"),
        )
    rows = [summarize_list_entry(app.raw) for app in apps]
    return ApplicationListEvidence(
        instance=instance,
        projects=tuple(projects),
        count=len(rows),
        applications=tuple(rows[:limit]),
        truncated=len(rows) > limit,
    )


def application_diff(
    client: ArgoCDClient,
    name: str,
    *,
    instance: str,
    project: str | None = None,
    app_namespace: str | None = None,
    max_chars: int = 10_000,
) -> DiffEvidence:
    """``argocd_application_diff``: one GET of managed-resources, diffed and sanitized."""
    try:
        items = client.managed_resources(name, project=project, app_namespace=app_namespace)
    except ArgoCDError as err:
        return DiffEvidence(
            instance=instance,
            application=name,
            error=capture_error(err, call="managed_resources"),
        )
    return build_diff_evidence(items, instance=instance, application=name, max_chars=max_chars)


def resource_tree(
    client: ArgoCDClient,
    name: str,
    *,
    instance: str,
    project: str | None = None,
    app_namespace: str | None = None,
) -> ResourceTreeEvidence:
    """``argocd_resource_tree``: the unhealthy pods and the images the last rollout changed.

    One ``GET .../resource-tree``; when no pod's tree entry names a cause, one more call reads the
    first unhealthy pod's events (``FailedScheduling``, failed probes). A failed events call only
    leaves the events out.
    """
    try:
        tree = client.resource_tree(name, project=project, app_namespace=app_namespace)
    except ArgoCDError as err:
        return ResourceTreeEvidence(
            instance=instance, application=name, error=capture_error(err, call="resource_tree")
        )
    seen, pods = pod_causes(tree.raw)
    changes = image_changes(tree.raw)
    target = needs_events(pods)
    read_for: str | None = None
    if target is not None:
        try:
            events = client.events(
                name,
                project=project,
                app_namespace=app_namespace,
                resource_name=target.name,
                resource_namespace=target.namespace or None,
                resource_uid=target.uid or None,
            )
        except ArgoCDError:
            events = []
        else:
            read_for = target.label
        enriched = with_events(target, [e.raw for e in events])
        pods = tuple(enriched if p is target else p for p in pods)
    return ResourceTreeEvidence(
        instance=instance,
        application=name,
        pods_seen=seen,
        unhealthy_pods=pods,
        image_changes=changes,
        events_read_for=read_for,
    )
