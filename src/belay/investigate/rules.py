"""Findings (pure): evidence + alert + settings → findings and ruled-out kinds, from one rule table.

Each rule looks at the typed evidence and returns one of three outcomes: findings (the kind
applies), a *ruled out* reason (the evidence was there and shows the kind does not apply), or
nothing (the evidence needed to judge was not gathered, e.g. the app could not be read). Rules
never raise and never do I/O; :func:`evaluate` runs the table and orders the findings with the
most severe first (ties keep the table's order, which lists causes before symptoms).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from belay.investigate.models import (
    Alert,
    ApplicationListEvidence,
    ApplicationStatusEvidence,
    DiffEvidence,
    EvidenceError,
    FindingKind,
    GateDecision,
    InvestigationFinding,
    InvestigationSettings,
    PodCause,
    ResourceRef,
    ResourceTreeEvidence,
    Severity,
)

__all__ = ["RULES", "Rule", "RuleContext", "RuleResult", "evaluate", "revision_matches"]

STATUS = "argocd_application_status"
DIFF = "argocd_application_diff"
TREE = "argocd_resource_tree"
_COMPARISON_CONDITIONS = ("ComparisonError", "InvalidSpecError", "UnknownError")
_FAILED_PHASES = ("Failed", "Error")
_SEVERITY_ORDER = {Severity.critical: 0, Severity.warning: 1, Severity.info: 2}
_LIST_FINDINGS_LIMIT = 5
_MIN_PREFIX = 6  # a short SHA: shorter prefixes match too many commits to mean anything
_HEX = frozenset("0123456789abcdef")
_PULL_REASONS = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
)
_PULL_WORDS = ("failed to pull image", "back-off pulling image", "errimagepull")
_SCHEDULING_WORDS = ("unschedulable", "failedscheduling", "nodes are available", "didn't match")


@dataclass(frozen=True)
class RuleContext:
    """Everything a rule may look at."""

    alert: Alert
    settings: InvestigationSettings
    now: datetime
    status: ApplicationStatusEvidence | None = None
    diff: DiffEvidence | None = None
    app_list: ApplicationListEvidence | None = None
    not_configured: str | None = None
    """Why no Argo CD instance could be used (``None`` when one was)."""
    gate: dict[str, tuple[GateDecision, ...]] | None = None
    """Belay's own decisions per deployed revision (``None`` when its store was not consulted)."""
    tree: ResourceTreeEvidence | None = None
    """The unhealthy pods and image changes (read only for an unhealthy app)."""
    lookup: str | None = None
    """What Argo CD was asked to find the app when none was found (for ``no_gitops_context``)."""

    @property
    def app_found(self) -> bool:
        """True when the named app was read successfully."""
        return self.status is not None and self.status.found

    @property
    def reference_time(self) -> datetime:
        """When the alert started, else now."""
        return self.alert.starts_at or self.now


@dataclass(frozen=True)
class RuleResult:
    """A rule's outcome: findings, or a reason the kind is ruled out, or neither."""

    findings: tuple[InvestigationFinding, ...] = ()
    ruled_out: str | None = None


@dataclass(frozen=True)
class Rule:
    """One row of the table: the kind it judges and the pure function that judges it."""

    kind: FindingKind
    check: Callable[[RuleContext], RuleResult]
    doc: str = field(default="")


_NOTHING = RuleResult()


def evaluate(ctx: RuleContext) -> tuple[list[InvestigationFinding], dict[str, str]]:
    """Run every rule; return findings (most severe first) and ruled-out kinds with reasons."""
    findings: list[InvestigationFinding] = []
    ruled_out: dict[str, str] = {}
    for rule in RULES:
        result = rule.check(ctx)
        findings.extend(result.findings)
        if result.ruled_out and not result.findings:
            ruled_out[rule.kind.value] = result.ruled_out
    order = {rule.kind.value: i for i, rule in enumerate(RULES)}
    findings.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], order.get(f.kind, len(order))))
    return findings, ruled_out


def _finding(
    ctx: RuleContext,
    kind: FindingKind,
    severity: Severity,
    summary: str,
    evidence: Sequence[str],
    *,
    application: str | None = None,
) -> RuleResult:
    app = application or (ctx.status.application if ctx.status else ctx.alert.application)
    return RuleResult(
        findings=(
            InvestigationFinding(
                kind=kind.value,
                severity=severity,
                summary=summary,
                evidence=tuple(evidence),
                application=app,
            ),
        )
    )


# --- access: configuration, reachability, credentials, permissions, existence -----------------


def _not_configured(ctx: RuleContext) -> RuleResult:
    if ctx.not_configured is None:
        return _NOTHING
    return _finding(
        ctx,
        FindingKind.argocd_not_configured,
        Severity.critical,
        f"No usable Argo CD instance: {ctx.not_configured}",
        ["argocd_configuration.rejected"],
    )


def _errors(ctx: RuleContext) -> list[tuple[str, EvidenceError]]:
    found: list[tuple[str, EvidenceError]] = []
    if ctx.status is not None and ctx.status.error is not None:
        found.append((f"{STATUS}.error", ctx.status.error))
    if ctx.app_list is not None and ctx.app_list.error is not None:
        found.append((f"{STATUS}.error", ctx.app_list.error))
    if ctx.diff is not None and ctx.diff.error is not None:
        found.append((f"{DIFF}.error", ctx.diff.error))
    return found


def _access_rule(kind: FindingKind, severity: Severity) -> Callable[[RuleContext], RuleResult]:
    def check(ctx: RuleContext) -> RuleResult:
        matching = [(path, err) for path, err in _errors(ctx) if err.finding_kind == kind.value]
        if not matching:
            return _NOTHING
        path, err = matching[0]
        instance = (
            ctx.status.instance if ctx.status else (ctx.app_list.instance if ctx.app_list else "")
        )
        summary = {
            FindingKind.argocd_unreachable: f"Argo CD instance {instance!r} did not answer",
            FindingKind.auth_failed: f"Argo CD instance {instance!r} refused the credentials",
            FindingKind.permission_denied: "The Argo CD account may not read this",
            FindingKind.app_not_found: f"Application {ctx.alert.application!r} was not found",
        }[kind]
        if err.ambiguous_not_found:
            summary = (
                f"Application {ctx.alert.application!r} does not exist or this account may not "
                "read it"
            )
        return _finding(ctx, kind, severity, f"{summary}: {err.message}", [path])

    return check


def _no_gitops_context(ctx: RuleContext) -> RuleResult:
    if ctx.alert.has_gitops_context or ctx.status is not None or ctx.app_list is not None:
        return _NOTHING
    if ctx.lookup is not None:
        summary = (
            f"The alert names no Argo CD application and mentions no GitOps context; {ctx.lookup}"
            ", so no application was investigated (add argocd_application to the alert's "
            "annotations, or an app label such as argocd_argoproj_io_instance)"
        )
        return _finding(
            ctx, FindingKind.no_gitops_context, Severity.info, summary, ["alert", STATUS]
        )
    return _finding(
        ctx,
        FindingKind.no_gitops_context,
        Severity.info,
        "The alert names no Argo CD application, revision or project and mentions no GitOps "
        "context, so Argo CD was not called (add argocd_application to the alert's annotations)",
        ["alert"],
    )


# --- the application itself ---------------------------------------------------------------------


def revision_matches(wanted: str, deployed: str) -> bool:
    """Same revision: equal, or a hexadecimal prefix of at least 6 characters of the other."""
    a, b = wanted.strip().lower(), deployed.strip().lower()
    if not a or not b:
        return False
    if a == b:
        return True
    shorter, longer = sorted((a, b), key=len)
    return len(shorter) >= _MIN_PREFIX and set(shorter) <= _HEX and longer.startswith(shorter)


def _unexpected_revision(ctx: RuleContext) -> RuleResult:
    wanted = ctx.alert.revision
    status = ctx.status
    if not wanted or status is None or not status.found:
        return _NOTHING
    deployed = status.deployed_revisions
    if not deployed:
        return _NOTHING
    matched = next((rev for rev in deployed if revision_matches(wanted, rev)), None)
    if matched is not None:
        return RuleResult(ruled_out=f"the deployed revision {matched} is the alert's {wanted}")
    evidence = [f"{STATUS}.history[0].revision" if status.history else f"{STATUS}.sync_revision"]
    since = ""
    if status.history and status.history[0].deployed_at:
        since = f" (deployed {status.history[0].deployed_at.isoformat()})"
    return _finding(
        ctx,
        FindingKind.unexpected_revision,
        Severity.warning,
        f"The alert concerns revision {wanted}, but Argo CD has {', '.join(deployed)} "
        f"deployed{since}",
        [*evidence, "alert.revision"],
    )


GATE = "belay_gate_decisions"


def _unapproved_revision(ctx: RuleContext) -> RuleResult:
    if ctx.gate is None or not ctx.app_found:
        return _NOTHING
    problems: list[str] = []
    approvals: list[str] = []
    evidence: list[str] = []
    for revision, decisions in ctx.gate.items():
        passed = next((d for d in decisions if d.decision == "pass"), None)
        if passed is not None:
            approvals.append(f"{revision} passed the gate (decision {passed.id})")
            continue
        evidence.append(f"{GATE}.{revision}")
        if decisions:
            last = decisions[0]
            problems.append(
                f"{revision} failed the gate (decision {last.id}, "
                f"{last.decided_at.strftime('%Y-%m-%d %H:%M UTC')}) and was deployed anyway"
            )
        else:
            problems.append(f"{revision} has no Belay decision at all (deployed around the gate)")
    if not problems:
        if not approvals:
            return _NOTHING
        return RuleResult(ruled_out="; ".join(approvals))
    return _finding(
        ctx,
        FindingKind.unapproved_revision,
        Severity.critical,
        "Deployed revision without a passing gate decision: " + "; ".join(problems),
        [*evidence, f"{STATUS}.sync_revision"],
    )


def _recent_rollout(ctx: RuleContext) -> RuleResult:
    status = ctx.status
    if status is None or not status.found:
        return _NOTHING
    ref = ctx.reference_time
    window = timedelta(minutes=ctx.settings.rollout_window_minutes)
    what = "before the alert started" if ctx.alert.starts_at else "before now (no alert time)"
    hits: list[str] = []
    evidence: list[str] = []
    for i, entry in enumerate(status.history):
        when = entry.deployed_at
        if when is not None and ref - window <= when <= ref:
            minutes = (ref - when).total_seconds() / 60
            rev = entry.revision or ",".join(entry.revisions)
            hits.append(f"revision {rev} deployed {minutes:.0f} min {what}")
            evidence.append(f"{STATUS}.history[{i}].deployed_at")
    op = status.operation
    if (
        op is not None
        and op.in_progress
        and op.started_at is not None
        and ref - window <= op.started_at <= ref
    ):
        minutes = (ref - op.started_at).total_seconds() / 60
        hits.append(f"a sync ({op.phase or 'pending'}) started {minutes:.0f} min {what}")
        evidence.append(f"{STATUS}.operation.started_at")
    window_text = f"{ctx.settings.rollout_window_minutes:g} min"
    if not hits:
        last = status.history[0].deployed_at if status.history else None
        detail = f"; the last deployment was at {last.isoformat()}" if last else ""
        return RuleResult(ruled_out=f"no rollout in the {window_text} {what}{detail}")
    if ctx.tree is not None and ctx.tree.image_changes:
        hits.append(_image_change_text(ctx.tree))
        evidence.append(f"{TREE}.image_changes")
    return _finding(
        ctx,
        FindingKind.recent_rollout,
        Severity.warning,
        f"Rollout within {window_text} {what}: " + "; ".join(hits),
        evidence,
    )


def _image_change_text(tree: ResourceTreeEvidence) -> str:
    return "it changed " + "; ".join(
        f"{c.workload} image from {c.before or '(none)'} to {c.after}" for c in tree.image_changes
    )


# --- pod-level causes (resource tree, events) ----------------------------------------------------


def _pod_rule(
    kind: FindingKind, matches: Callable[[PodCause], bool], what: str, absent: str
) -> Callable[[RuleContext], RuleResult]:
    def check(ctx: RuleContext) -> RuleResult:
        tree = ctx.tree
        if tree is None or tree.error is not None:
            return _NOTHING
        hits = [(i, p) for i, p in enumerate(tree.unhealthy_pods) if matches(p)]
        if not hits:
            return RuleResult(ruled_out=f"{absent} ({tree.pods_seen} pod(s) in the resource tree)")
        i, pod = hits[0]
        text = f"{pod.label} {what}"
        detail = _pod_detail(kind, pod)
        if detail:
            text += f" ({detail})"
        if pod.message:
            text += f": {pod.message}"
        elif pod.events:
            text += f": {pod.events[0]}"
        if pod.images:
            text += f"; image {', '.join(pod.images)}"
        evidence = [f"{TREE}.unhealthy_pods[{i}]"]
        changed = [c for c in tree.image_changes if c.after in pod.images]
        if changed:
            text += "; the last rollout changed it from " + ", ".join(
                c.before or "(none)" for c in changed
            )
            evidence.append(f"{TREE}.image_changes")
        if len(hits) > 1:
            text += f"; {len(hits) - 1} more pod(s) alike"
        severity = (
            Severity.critical
            if ctx.status is not None and ctx.status.health_status == "Degraded"
            else Severity.warning
        )
        return _finding(ctx, kind, severity, text, evidence)

    return check


def _pod_detail(kind: FindingKind, pod: PodCause) -> str:
    parts = [pod.reason] if pod.reason else []
    if kind is FindingKind.crash_loop or pod.restarts:
        parts.append(f"restarted {pod.restarts} times")
    if pod.containers:
        parts.append(f"{pod.containers} containers ready")
    return ", ".join(parts)


def _image_pull(pod: PodCause) -> bool:
    reason = pod.reason.removeprefix("Init:")
    return reason in _PULL_REASONS or any(w in " ".join(pod.events).lower() for w in _PULL_WORDS)


def _oom(pod: PodCause) -> bool:
    return "oomkilled" in f"{pod.reason} {pod.message} {' '.join(pod.events)}".lower()


def _crash_loop(pod: PodCause) -> bool:
    if _image_pull(pod):
        return False
    return pod.reason.removeprefix("Init:") == "CrashLoopBackOff" or pod.restarts >= 3


def _unschedulable(pod: PodCause) -> bool:
    text = f"{pod.reason} {pod.message} {' '.join(pod.events)}".lower()
    return any(w in text for w in _SCHEDULING_WORDS)


def _probe_failing(pod: PodCause) -> bool:
    text = f"{pod.message} {' '.join(pod.events)}".lower()
    return "probe failed" in text or "unhealthy: readiness" in text or "unhealthy: liveness" in text


def _sync_failed(ctx: RuleContext) -> RuleResult:
    status = ctx.status
    if status is None or not status.found:
        return _NOTHING
    op = status.operation
    parts: list[str] = []
    evidence: list[str] = []
    if op is not None and op.phase in _FAILED_PHASES and not op.in_progress:
        text = f"The last sync ended {op.phase}"
        if op.revision:
            text += f" at revision {op.revision}"
        if op.message:
            text += f": {op.message}"
        parts.append(text)
        evidence += [f"{STATUS}.operation.phase", f"{STATUS}.operation.message"]
        if op.failed_resources:
            parts.append("failed: " + _refs(op.failed_resources, with_message=True))
            evidence.append(f"{STATUS}.operation.failed_resources")
    for i, cond in enumerate(status.conditions):
        if cond.type == "SyncError":
            parts.append(f"SyncError: {cond.message}")
            evidence.append(f"{STATUS}.conditions[{i}]")
    if not parts:
        phase = op.phase if op is not None and op.phase else "none recorded"
        return RuleResult(ruled_out=f"last operation: {phase}; no SyncError condition")
    return _finding(ctx, FindingKind.sync_failed, Severity.critical, "; ".join(parts), evidence)


def _degraded(ctx: RuleContext) -> RuleResult:
    status = ctx.status
    if status is not None and status.found:
        if status.health_status != "Degraded":
            return RuleResult(ruled_out=f"health is {status.health_status or 'unknown'}")
        text = f"Application {status.application} is Degraded"
        if status.health_message:
            text += f": {status.health_message}"
        evidence = [f"{STATUS}.health_status"]
        if status.unhealthy_resources:
            text += "; unhealthy: " + _refs(status.unhealthy_resources, with_message=True)
            evidence.append(f"{STATUS}.unhealthy_resources")
        return _finding(ctx, FindingKind.degraded, Severity.critical, text, evidence)
    return _from_list(ctx, FindingKind.degraded, Severity.critical, "health_status", "Degraded")


def _progressing_stuck(ctx: RuleContext) -> RuleResult:
    status = ctx.status
    if status is None or not status.found:
        return _NOTHING
    if status.health_status != "Progressing":
        return RuleResult(ruled_out=f"health is {status.health_status or 'unknown'}")
    since, path = status.health_since, f"{STATUS}.health_since"
    if since is None and status.operation is not None and status.operation.started_at:
        since, path = status.operation.started_at, f"{STATUS}.operation.started_at"
    if since is None and status.history and status.history[0].deployed_at:
        since, path = status.history[0].deployed_at, f"{STATUS}.history[0].deployed_at"
    if since is None:
        return _NOTHING
    minutes = (ctx.now - since).total_seconds() / 60
    limit = ctx.settings.progressing_threshold_minutes
    if minutes <= limit:
        return RuleResult(ruled_out=f"Progressing for {minutes:.0f} min, within {limit:g} min")
    text = f"Application {status.application} has been Progressing for {minutes:.0f} min"
    text += f" (threshold {limit:g} min)"
    evidence = [f"{STATUS}.health_status", path]
    if status.unhealthy_resources:
        text += "; not ready: " + _refs(status.unhealthy_resources, with_message=True)
        evidence.append(f"{STATUS}.unhealthy_resources")
    return _finding(ctx, FindingKind.progressing_stuck, Severity.warning, text, evidence)


def _out_of_sync(ctx: RuleContext) -> RuleResult:
    status = ctx.status
    if status is not None and status.found:
        if status.sync_status != "OutOfSync":
            return RuleResult(ruled_out=f"sync status is {status.sync_status or 'unknown'}")
        text = f"Application {status.application} is OutOfSync"
        if status.sync_revision:
            text += f" with revision {status.sync_revision}"
        evidence = [f"{STATUS}.sync_status"]
        if status.out_of_sync_resources:
            text += ": " + _refs(status.out_of_sync_resources)
            evidence.append(f"{STATUS}.out_of_sync_resources")
        return _finding(ctx, FindingKind.out_of_sync, Severity.warning, text, evidence)
    return _from_list(ctx, FindingKind.out_of_sync, Severity.warning, "sync_status", "OutOfSync")


def _drift(ctx: RuleContext) -> RuleResult:
    diff = ctx.diff
    if diff is None or diff.error is not None:
        return _NOTHING
    if not diff.drift_detected:
        return RuleResult(
            ruled_out=f"none of {diff.resources_compared} managed resources differs from git "
            "(after Argo CD's normalization and ignoreDifferences)"
        )
    labels = [
        f"{ResourceRef(group=d.group, kind=d.kind, namespace=d.namespace, name=d.name).label}"
        f" ({d.change})"
        for d in diff.diffs[:5]
    ]
    more = f" and {diff.diff_count - 5} more" if diff.diff_count > 5 else ""
    return _finding(
        ctx,
        FindingKind.drift,
        Severity.warning,
        f"{diff.diff_count} resource(s) differ from git: {', '.join(labels)}{more}",
        [f"{DIFF}.drift_detected", *(f"{DIFF}.diffs[{i}]" for i in range(min(5, diff.diff_count)))],
    )


def _missing_resources(ctx: RuleContext) -> RuleResult:
    status = ctx.status
    if status is None or not status.found:
        return _NOTHING
    missing = [r for r in status.unhealthy_resources if r.health == "Missing"]
    evidence = [f"{STATUS}.unhealthy_resources"] if missing else []
    diff_missing = []
    if ctx.diff is not None and ctx.diff.error is None:
        seen = {(r.group, r.kind, r.namespace, r.name) for r in missing}
        for i, d in enumerate(ctx.diff.diffs):
            if d.change == "missing" and (d.group, d.kind, d.namespace, d.name) not in seen:
                diff_missing.append(
                    ResourceRef(group=d.group, kind=d.kind, namespace=d.namespace, name=d.name)
                )
                evidence.append(f"{DIFF}.diffs[{i}]")
    everything = missing + diff_missing
    if not everything:
        return RuleResult(ruled_out="every resource in git exists in the cluster")
    return _finding(
        ctx,
        FindingKind.missing_resources,
        Severity.warning,
        f"{len(everything)} resource(s) in git are missing from the cluster: {_refs(everything)}",
        evidence,
    )


def _comparison_error(ctx: RuleContext) -> RuleResult:
    status = ctx.status
    if status is None or not status.found:
        return _NOTHING
    hits = [(i, c) for i, c in enumerate(status.conditions) if c.type in _COMPARISON_CONDITIONS]
    if not hits:
        return RuleResult(ruled_out="no ComparisonError, InvalidSpecError or UnknownError")
    return _finding(
        ctx,
        FindingKind.comparison_error,
        Severity.warning,
        "Argo CD cannot compare the app with git: "
        + "; ".join(f"{c.type}: {c.message}" for _, c in hits),
        [f"{STATUS}.conditions[{i}]" for i, _ in hits],
    )


def _from_list(
    ctx: RuleContext, kind: FindingKind, severity: Severity, attr: str, value: str
) -> RuleResult:
    """Name-less investigations: one finding per listed app in the given state (a few at most)."""
    listing = ctx.app_list
    if listing is None or listing.error is not None:
        return _NOTHING
    hits = [(i, a) for i, a in enumerate(listing.applications) if getattr(a, attr) == value]
    if not hits:
        return RuleResult(ruled_out=f"none of the {listing.count} visible apps is {value}")
    findings: list[InvestigationFinding] = []
    for i, app in hits[:_LIST_FINDINGS_LIMIT]:
        findings.extend(
            _finding(
                ctx,
                kind,
                severity,
                f"Application {app.name} (project {app.project or '?'}) is {value}",
                [f"{STATUS}.applications[{i}].{attr}"],
                application=app.name,
            ).findings
        )
    return RuleResult(findings=tuple(findings))


def _refs(refs: Sequence[ResourceRef], *, with_message: bool = False, limit: int = 5) -> str:
    shown = []
    for ref in refs[:limit]:
        text = ref.label
        detail = ref.health or ref.status
        if detail:
            text += f" [{detail}]"
        if with_message and ref.message:
            text += f" {ref.message}"
        shown.append(text)
    more = f" and {len(refs) - limit} more" if len(refs) > limit else ""
    return "; ".join(shown) + more


RULES: tuple[Rule, ...] = (
    Rule(FindingKind.argocd_not_configured, _not_configured, "no usable instance"),
    Rule(
        FindingKind.argocd_unreachable,
        _access_rule(FindingKind.argocd_unreachable, Severity.critical),
    ),
    Rule(FindingKind.auth_failed, _access_rule(FindingKind.auth_failed, Severity.critical)),
    Rule(
        FindingKind.permission_denied,
        _access_rule(FindingKind.permission_denied, Severity.critical),
    ),
    Rule(FindingKind.app_not_found, _access_rule(FindingKind.app_not_found, Severity.warning)),
    Rule(FindingKind.no_gitops_context, _no_gitops_context, "alert without GitOps hints"),
    Rule(FindingKind.sync_failed, _sync_failed, "last operation Failed/Error, SyncError"),
    Rule(
        FindingKind.image_pull_error,
        _pod_rule(
            FindingKind.image_pull_error,
            _image_pull,
            "cannot pull its image",
            "every pod pulled its image",
        ),
    ),
    Rule(
        FindingKind.oom_killed,
        _pod_rule(FindingKind.oom_killed, _oom, "was OOMKilled", "no pod was OOMKilled"),
    ),
    Rule(
        FindingKind.crash_loop,
        _pod_rule(FindingKind.crash_loop, _crash_loop, "keeps crashing", "no pod keeps crashing"),
    ),
    Rule(
        FindingKind.unschedulable,
        _pod_rule(
            FindingKind.unschedulable,
            _unschedulable,
            "cannot be scheduled",
            "no pod waits for a node",
        ),
    ),
    Rule(
        FindingKind.probe_failing,
        _pod_rule(
            FindingKind.probe_failing,
            _probe_failing,
            "fails its probes",
            "no pod reports a failing probe",
        ),
    ),
    Rule(FindingKind.degraded, _degraded, "health Degraded"),
    Rule(FindingKind.unexpected_revision, _unexpected_revision, "deployed ≠ alert's revision"),
    Rule(FindingKind.unapproved_revision, _unapproved_revision, "deployed without a pass"),
    Rule(FindingKind.recent_rollout, _recent_rollout, "deployment in the window before the alert"),
    Rule(FindingKind.progressing_stuck, _progressing_stuck, "Progressing beyond the threshold"),
    Rule(FindingKind.comparison_error, _comparison_error, "ComparisonError and kin"),
    Rule(FindingKind.missing_resources, _missing_resources, "in git, not in the cluster"),
    Rule(FindingKind.out_of_sync, _out_of_sync, "sync status OutOfSync"),
    Rule(FindingKind.drift, _drift, "managed resources differ from git"),
)
