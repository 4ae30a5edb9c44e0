"""Application status evidence (pure): Argo CD's Application JSON → typed, redacted evidence.

The input is the Application exactly as ``GET /api/v1/applications/{name}`` returns it (the
client's ``Application.raw``), so this module needs no client and is tested on fixtures. Every
free-text message (health, operation, conditions, per-resource) passes through
:func:`belay.redact.redact_text`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from belay.investigate.alerts import parse_time
from belay.investigate.models import (
    ApplicationStatusEvidence,
    AppListEntry,
    Condition,
    HistoryEntry,
    OperationSummary,
    ResourceRef,
    SourceSummary,
)
from belay.redact import redact_data, redact_text

__all__ = ["summarize_application", "summarize_list_entry"]

_DONE_PHASES = frozenset({"Succeeded", "Failed", "Error"})
_FAILED_RESULT = frozenset({"SyncFailed"})


def summarize_application(
    app: Mapping[str, Any], *, instance: str, history_limit: int = 10
) -> ApplicationStatusEvidence:
    """Summarise one Application into ``argocd_application_status`` evidence."""
    metadata = _map(app.get("metadata"))
    spec = _map(app.get("spec"))
    status = _map(app.get("status"))
    sync = _map(status.get("sync"))
    health = _map(status.get("health"))
    sources = _sources(spec)
    history = [_history_entry(_map(h)) for h in _list(status.get("history"))]
    history.sort(key=lambda h: h.id if h.id is not None else -1, reverse=True)
    automated = _map(_map(spec.get("syncPolicy")).get("automated"))
    return ApplicationStatusEvidence(
        instance=instance,
        application=_str(metadata.get("name")),
        project=_str(spec.get("project")) or None,
        app_namespace=_str(metadata.get("namespace")) or None,
        found=True,
        sync_status=_str(sync.get("status")),
        sync_revision=_str(sync.get("revision")),
        sync_revisions=tuple(_strs(sync.get("revisions"))),
        health_status=_str(health.get("status")),
        health_message=redact_text(_str(health.get("message"))),
        health_since=parse_time(health.get("lastTransitionTime")),
        operation=_operation(app, status),
        destination={
            k: _str(v) for k, v in _map(spec.get("destination")).items() if isinstance(v, str)
        },
        sources=tuple(sources),
        multi_source=bool(_list(spec.get("sources"))),
        images=tuple(_strs(_map(status.get("summary")).get("images"))),
        history=tuple(history[:history_limit]),
        conditions=tuple(
            Condition(
                type=_str(c.get("type")) or "Unknown",
                message=redact_text(_str(c.get("message"))),
                last_transition_time=parse_time(c.get("lastTransitionTime")),
            )
            for c in map(_map, _list(status.get("conditions")))
        ),
        unhealthy_resources=tuple(_unhealthy(status)),
        out_of_sync_resources=tuple(_out_of_sync(status)),
        ignore_differences=tuple(
            redact_data(dict(d)) for d in map(_map, _list(spec.get("ignoreDifferences")))
        ),
        reconciled_at=parse_time(status.get("reconciledAt")),
        auto_sync=bool(automated) and automated.get("enabled") is not False,
    )


def summarize_list_entry(app: Mapping[str, Any]) -> AppListEntry:
    """One row of the name-less status evidence."""
    metadata = _map(app.get("metadata"))
    spec = _map(app.get("spec"))
    status = _map(app.get("status"))
    sync = _map(status.get("sync"))
    return AppListEntry(
        name=_str(metadata.get("name")),
        project=_str(spec.get("project")),
        app_namespace=_str(metadata.get("namespace")),
        sync_status=_str(sync.get("status")),
        health_status=_str(_map(status.get("health")).get("status")),
        revision=_str(sync.get("revision")) or ",".join(_strs(sync.get("revisions"))),
        destination_namespace=_str(_map(spec.get("destination")).get("namespace")),
        history_revisions=tuple(
            dict.fromkeys(
                rev
                for h in reversed(_list(status.get("history")))
                for rev in [_str(_map(h).get("revision")), *_strs(_map(h).get("revisions"))]
                if rev
            )
        ),
    )


def _sources(spec: Mapping[str, Any]) -> list[SourceSummary]:
    raw = _list(spec.get("sources")) or ([spec["source"]] if _map(spec.get("source")) else [])
    return [
        SourceSummary(
            repo_url=redact_text(_str(s.get("repoURL"))),
            path=_str(s.get("path")),
            chart=_str(s.get("chart")),
            target_revision=_str(s.get("targetRevision")),
        )
        for s in map(_map, raw)
    ]


def _history_entry(h: Mapping[str, Any]) -> HistoryEntry:
    initiated = _map(h.get("initiatedBy"))
    raw_id = h.get("id")
    return HistoryEntry(
        id=raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None,
        revision=_str(h.get("revision")),
        revisions=tuple(_strs(h.get("revisions"))),
        deployed_at=parse_time(h.get("deployedAt")),
        deploy_started_at=parse_time(h.get("deployStartedAt")),
        initiated_by=_initiator(initiated),
    )


def _operation(app: Mapping[str, Any], status: Mapping[str, Any]) -> OperationSummary | None:
    state = _map(status.get("operationState"))
    pending = _map(app.get("operation"))
    if not state and not pending:
        return None
    op = _map(state.get("operation")) or pending
    result = _map(state.get("syncResult"))
    phase = _str(state.get("phase"))
    failed = [
        _resource_ref(r, status=_str(r.get("status")), message=_str(r.get("message")))
        for r in map(_map, _list(result.get("resources")))
        if _str(r.get("status")) in _FAILED_RESULT
        or _str(r.get("hookPhase")) in {"Failed", "Error"}
    ]
    sync_req = _map(op.get("sync"))
    return OperationSummary(
        phase=phase,
        message=redact_text(_str(state.get("message"))),
        started_at=parse_time(state.get("startedAt")),
        finished_at=parse_time(state.get("finishedAt")),
        revision=_str(result.get("revision")) or _str(sync_req.get("revision")),
        revisions=tuple(_strs(result.get("revisions")) or _strs(sync_req.get("revisions"))),
        initiated_by=_initiator(_map(op.get("initiatedBy"))),
        in_progress=bool(pending) or (bool(phase) and phase not in _DONE_PHASES),
        failed_resources=tuple(failed),
    )


def _unhealthy(status: Mapping[str, Any]) -> list[ResourceRef]:
    found = []
    for r in map(_map, _list(status.get("resources"))):
        health = _map(r.get("health"))
        state = _str(health.get("status"))
        if state and state != "Healthy":
            found.append(
                _resource_ref(
                    r,
                    status=_str(r.get("status")),
                    health=state,
                    message=_str(health.get("message")),
                )
            )
    return found


def _out_of_sync(status: Mapping[str, Any]) -> list[ResourceRef]:
    return [
        _resource_ref(
            r,
            status=_str(r.get("status")),
            health=_str(_map(r.get("health")).get("status")),
            requires_pruning=bool(r.get("requiresPruning")),
        )
        for r in map(_map, _list(status.get("resources")))
        if _str(r.get("status")) == "OutOfSync" or r.get("requiresPruning") is True
    ]


def _resource_ref(
    r: Mapping[str, Any],
    *,
    status: str = "",
    health: str = "",
    message: str = "",
    requires_pruning: bool = False,
) -> ResourceRef:
    return ResourceRef(
        group=_str(r.get("group")),
        kind=_str(r.get("kind")),
        namespace=_str(r.get("namespace")),
        name=_str(r.get("name")),
        status=status,
        health=health,
        message=redact_text(message),
        requires_pruning=requires_pruning,
    )


def _initiator(initiated: Mapping[str, Any]) -> str:
    if initiated.get("automated") is True:
        return "automated"
    return redact_text(_str(initiated.get("username")))


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _strs(value: Any) -> list[str]:
    return [v for v in _list(value) if isinstance(v, str) and v]
