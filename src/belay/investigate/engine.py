"""The investigation engine: the one entry point the CLI and the HTTP API call.

``investigate_alerts(alerts, resolution, settings=..., now=...)`` takes every alert of a
notification, works out which application each is about, investigates every distinct
application once and returns one :class:`InvestigationReport` per application (plus one for the
alerts about no application). ``investigate(alert, ...)`` is the one-alert form. Neither raises
for Argo CD trouble: unreachable servers, refused credentials and missing apps become findings.

Calls (Argo CD's API, all GETs; a username/password instance adds one session login):

* per application, at most :data:`CALLS_PER_APPLICATION`: ``GET /applications/{name}``, then
  ``GET .../managed-resources``; for an unhealthy app ``GET .../resource-tree`` and, when no
  pod's tree entry names a cause, one pod's ``GET .../events``. ``project`` and ``appNamespace``
  go with every call when known, so a missing app is a real 404 and apps outside the control
  plane's namespace are found;
* per instance, at most one list call, shared by the alerts that name no application: to find the
  one app deploying to the alert's ``namespace``, the apps that run or ran the alert's revision,
  or (GitOps words or a project only) the apps to list;
* no GitOps context at all and no ``namespace`` label: no call.

A notification's budget therefore grows with its applications: at most
``CALLS_PER_APPLICATION x apps + 1 list call per instance`` (and one login per instance), and
at most :data:`MAX_APPLICATIONS` applications are investigated (the rest are named in a note).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from belay.argocd import ArgoCDClient, InstanceClientFactory
from belay.config import ArgoCDInstance, ArgoCDResolution
from belay.errors import BadInput
from belay.investigate import evidence as tools
from belay.investigate.models import (
    Alert,
    ApplicationListEvidence,
    ApplicationStatusEvidence,
    AppListEntry,
    DiffEvidence,
    GateDecision,
    InvestigationFinding,
    InvestigationReport,
    InvestigationSettings,
    ResourceTreeEvidence,
)
from belay.investigate.rollback import UNHEALTHY, previous_revision, rollback_candidate
from belay.investigate.rules import GATE, TREE, RuleContext, evaluate, revision_matches
from belay.logs import get_logger
from belay.redact import redact_text

__all__ = [
    "CALLS_PER_APPLICATION",
    "MAX_APPLICATIONS",
    "GateLookup",
    "InstanceClientFactory",
    "investigate",
    "investigate_alerts",
    "select_instance",
]

MAX_APPLICATIONS = 10
"""A notification about more applications than this investigates the first ten (a note names the
rest): a storm of alerts must not become a storm of Argo CD calls."""
CALLS_PER_APPLICATION = 4
"""Status, diff, resource tree, one pod's events."""

GateLookup = Callable[[str, str], list[GateDecision]]
"""Belay's decisions about ``(application, revision)``, newest first."""

STATUS = "argocd_application_status"
DIFF = "argocd_application_diff"

_log = get_logger(__name__)


def select_instance(
    alert: Alert, resolution: ArgoCDResolution
) -> tuple[ArgoCDInstance | None, str]:
    """Pick the instance for an alert; return it (or ``None``) and why.

    Order: the alert's ``argocd_instance``; else the instance whose tags match the most alert
    labels (``key=value`` tags match that label, plain tags match any label value); else the
    default (the first usable instance).
    """
    if alert.instance:
        chosen = resolution.get(alert.instance)
        if chosen is not None:
            return chosen, f"named by the alert (argocd_instance={alert.instance})"
        return None, _unknown_instance(alert.instance, resolution)
    best: tuple[int, ArgoCDInstance] | None = None
    for inst in resolution.instances:
        score = _tag_score(inst.tags, alert.labels)
        if score and (best is None or score > best[0]):
            best = (score, inst)
    if best is not None:
        return best[1], "its tags match the alert's labels"
    if resolution.default is not None:
        return resolution.default, "the default instance"
    return None, _nothing_configured(resolution)


def _tag_score(tags: tuple[str, ...], labels: Mapping[str, str]) -> int:
    score = 0
    values = set(labels.values())
    for tag in tags:
        if "=" in tag:
            key, _, value = tag.partition("=")
            score += int(labels.get(key.strip()) == value.strip())
        else:
            score += int(tag in values)
    return score


def _unknown_instance(name: str, resolution: ArgoCDResolution) -> str:
    rejected = [r for r in resolution.rejected if r.name == name]
    if rejected:
        return f"the alert's instance {name!r} was rejected: {rejected[0].reason}"
    known = ", ".join(i.name for i in resolution.instances) or "none"
    return f"the alert names instance {name!r}, which is not configured (configured: {known})"


def _nothing_configured(resolution: ArgoCDResolution) -> str:
    if resolution.rejected:
        reasons = "; ".join(f"{r.name} ({r.source}): {r.reason}" for r in resolution.rejected)
        return f"every configured instance was rejected: {reasons}"
    return (
        "no instance is configured (set ARGOCD_BASE_URL with ARGOCD_AUTH_TOKEN or "
        "ARGOCD_USERNAME/ARGOCD_PASSWORD, ARGOCD_INSTANCES, or run `belay integrations add argocd`)"
    )


def investigate(
    alert: Alert,
    resolution: ArgoCDResolution,
    *,
    settings: InvestigationSettings | None = None,
    now: datetime | None = None,
    client_factory: InstanceClientFactory | None = None,
    gate_decisions: GateLookup | None = None,
) -> InvestigationReport:
    """Investigate one alert against Argo CD; always returns a report.

    ``gate_decisions(application, revision)`` returns Belay's own decisions about a revision,
    newest first; given, the deployed revisions are checked against them (``unapproved_revision``)
    and the rollback candidate says whether it passed the gate.
    """
    return investigate_alerts(
        [alert],
        resolution,
        settings=settings,
        now=now,
        client_factory=client_factory,
        gate_decisions=gate_decisions,
    )[0]


@dataclass
class _Target:
    """What one report is about: an app, a listing, or nothing Argo CD could be asked about."""

    alerts: list[Alert]
    instance: ArgoCDInstance | None = None
    client: ArgoCDClient | None = None
    not_configured: str | None = None
    name: str | None = None
    project: str | None = None
    app_namespace: str | None = None
    listing: ApplicationListEvidence | None = None
    fleet: bool = False
    """The listing's findings are fleet context (the alert points at no app of it)."""
    lookup: str | None = None
    notes: list[str] = field(default_factory=list)
    configuration: dict[str, object] | None = None
    """``argocd_configuration`` evidence when no instance could be used."""
    refused: BadInput | None = None
    """Why Argo CD was not asked about this target's name (not a name it could hold)."""


class _Session:
    """The clients and listings of one notification, shared by its alerts (closed at the end)."""

    def __init__(
        self,
        resolution: ArgoCDResolution,
        settings: InvestigationSettings,
        factory: InstanceClientFactory,
        stack: contextlib.ExitStack,
    ) -> None:
        self.resolution = resolution
        self.settings = settings
        self.factory = factory
        self.stack = stack
        self.clients: dict[str, ArgoCDClient | str] = {}
        self.listings: dict[tuple[str, str | None, str | None], ApplicationListEvidence] = {}

    def client(self, instance: ArgoCDInstance) -> ArgoCDClient | str:
        """The instance's client, or why none could be built."""
        if instance.name not in self.clients:
            try:
                client = self.factory(instance)
            except BadInput as err:
                self.clients[instance.name] = str(err)
            else:
                self.clients[instance.name] = self.stack.enter_context(client)
        return self.clients[instance.name]

    def listing(
        self,
        client: ArgoCDClient,
        instance: ArgoCDInstance,
        project: str | None,
        app_namespace: str | None,
    ) -> ApplicationListEvidence:
        """The visible apps (one list call per instance and scope)."""
        key = (instance.name, project, app_namespace)
        if key not in self.listings:
            self.listings[key] = tools.application_list(
                client,
                instance=instance.name,
                projects=[project] if project else [],
                app_namespace=app_namespace,
                limit=self.settings.list_limit,
            )
        return self.listings[key]


_NAMES_IN_NOTE = 20
"""At most this many skipped applications are named in a report's note (then a count)."""


def investigate_alerts(
    alerts: Sequence[Alert],
    resolution: ArgoCDResolution,
    *,
    settings: InvestigationSettings | None = None,
    now: datetime | None = None,
    client_factory: InstanceClientFactory | None = None,
    gate_decisions: GateLookup | None = None,
    refuse_bad_names: bool = False,
) -> tuple[InvestigationReport, ...]:
    """Investigate a notification: one report per distinct application, in the alerts' order.

    Only firing alerts are investigated (all of them when none fires). Alerts about the same
    application share one report, which lists their fingerprints and names. A name Argo CD could
    never hold gets a report that says Argo CD was not asked; with ``refuse_bad_names`` (the CLI,
    where the operator can fix the file) a notification whose every report is such a one raises
    that :class:`BadInput` instead.
    """
    if not alerts:
        raise ValueError("investigate_alerts needs at least one alert")
    settings = settings or InvestigationSettings()
    now = now or datetime.now(UTC)
    firing = [a for a in alerts if not a.resolved] or list(alerts)
    with contextlib.ExitStack() as stack:
        session = _Session(
            resolution, settings, client_factory or ArgoCDClient.from_instance, stack
        )
        targets: dict[tuple[str, ...], _Target] = {}
        by_name: dict[tuple[str, str], list[tuple[str, ...]]] = {}
        for alert in firing:
            for key, target in _targets_for(alert, session):
                key = _same_app(targets, by_name, key, target)
                if key in targets:
                    targets[key].alerts.append(alert)
                else:
                    targets[key] = target
                    if key[0] == "app":
                        by_name.setdefault((key[1], key[3]), []).append(key)
        apps = [t for t in targets.values() if t.name is not None]
        skipped = apps[MAX_APPLICATIONS:]
        skipped_ids = {id(t) for t in skipped}
        names = [str(t.name) for t in skipped[:_NAMES_IN_NOTE]]
        if len(skipped) > _NAMES_IN_NOTE:
            names.append(f"and {len(skipped) - _NAMES_IN_NOTE} more")
        reports: list[InvestigationReport] = []
        for target in targets.values():
            if id(target) in skipped_ids:
                continue
            if skipped:
                target.notes.append(
                    f"The notification names {len(apps)} applications; {MAX_APPLICATIONS} were "
                    "investigated, not: " + ", ".join(names)
                )
            if len(alerts) > 1:
                target.notes.append(
                    f"The notification held {len(alerts)} alerts ({len(firing)} firing); "
                    f"{len(target.alerts)} of them are covered by this report."
                )
            reports.append(_report(target, settings, now, gate_decisions))
    refused = [t.refused for t in targets.values() if id(t) not in skipped_ids]
    if refuse_bad_names and refused and refused[0] is not None and all(refused):
        raise refused[0]
    return tuple(reports)


def _same_app(
    targets: Mapping[tuple[str, ...], _Target],
    by_name: Mapping[tuple[str, str], list[tuple[str, ...]]],
    key: tuple[str, ...],
    target: _Target,
) -> tuple[str, ...]:
    """The key of an app already targeted under another route (a label names it without its
    namespace, a namespace lookup found it with one), else ``key``. ``by_name`` indexes the
    app keys by instance and name, so a storm of alerts costs one lookup each."""
    if key[0] != "app":
        return key
    _, instance, namespace, name = key
    for known in by_name.get((instance, name), ()):
        if not namespace or not known[2] or known[2] == namespace:
            other = targets[known]
            other.app_namespace = other.app_namespace or target.app_namespace
            return known
    return key


def _targets_for(alert: Alert, session: _Session) -> list[tuple[tuple[str, ...], _Target]]:
    """Where one alert leads: keys (same key, same report) and the targets they name."""
    resolution = session.resolution
    # A namespace label alone is worth one list call when an instance exists: if exactly one
    # app deploys there, the alert is about it.
    wanted = alert.has_gitops_context or (
        alert.namespace is not None and bool(resolution.instances)
    )
    if not wanted:
        return [(("none",), _Target(alerts=[alert]))]
    instance, why = select_instance(alert, resolution)
    if instance is None:
        target = _Target(
            alerts=[alert], not_configured=why, configuration=_configuration(why, resolution)
        )
        return [(("not-configured", why), target)]
    client = session.client(instance)
    note = f"Argo CD instance {instance.name!r}: {why}."
    if isinstance(client, str):
        target = _Target(
            alerts=[alert],
            instance=instance,
            not_configured=client,
            notes=[note],
            configuration=_configuration(client, resolution),
        )
        return [(("not-configured", instance.name), target)]
    project = alert.project or instance.project
    app_ns = alert.app_namespace or instance.app_namespace
    if alert.application:
        key = ("app", instance.name, app_ns or "", alert.application)
        target = _Target(
            alerts=[alert],
            instance=instance,
            client=client,
            name=alert.application,
            project=project,
            app_namespace=app_ns,
            notes=[note],
        )
        return [(key, target)]
    listing = session.listing(client, instance, project, app_ns)
    base = _Target(alerts=[alert], instance=instance, client=client, listing=listing, notes=[note])
    if listing.error is not None:
        return [(("list", instance.name, project or ""), base)]
    entries, lookup = _lookup_apps(alert, listing)
    if entries:
        found: list[tuple[tuple[str, ...], _Target]] = []
        for entry in entries[:MAX_APPLICATIONS]:
            key = ("app", instance.name, entry.app_namespace, entry.name)
            found.append(
                (
                    key,
                    _Target(
                        alerts=[alert],
                        instance=instance,
                        client=client,
                        name=entry.name,
                        project=project or entry.project or None,
                        app_namespace=entry.app_namespace or app_ns,
                        notes=[note, lookup],
                    ),
                )
            )
        return found
    if not alert.has_gitops_context:
        # A namespace label that maps to no single app: the listing was only a lookup.
        base.lookup = lookup
        base.notes.append(lookup[:1].upper() + lookup[1:] + ".")
        return [(("lookup", instance.name, alert.namespace or ""), base)]
    # GitOps words only (or a revision nobody runs): the listing is fleet context; a project
    # alert points at the apps of that project.
    base.fleet = not alert.project
    if alert.revision:
        base.notes.append(lookup[:1].upper() + lookup[1:] + ".")
    return [(("list", instance.name, alert.project or "", alert.revision or ""), base)]


def _lookup_apps(alert: Alert, listing: ApplicationListEvidence) -> tuple[list[AppListEntry], str]:
    """The listed apps an app-less alert points at, and a sentence saying how they were found."""
    apps = list(listing.applications)
    if alert.revision:
        running = [a for a in apps if any(revision_matches(alert.revision, r) for r in _revs(a))]
        ran = [
            a
            for a in apps
            if a not in running
            and any(revision_matches(alert.revision, r) for r in a.history_revisions)
        ]
        if running or ran:
            parts = []
            if running:
                parts.append("run it: " + ", ".join(a.name for a in running))
            if ran:
                parts.append("ran it before: " + ", ".join(a.name for a in ran))
            return running + ran, (
                f"Argo CD was asked which applications run revision {alert.revision!r} (one "
                f"list call of {listing.count} apps); these {'; '.join(parts)}"
            )
        return [], (
            f"Argo CD was asked which applications run or ran revision {alert.revision!r} (one "
            f"list call of {listing.count} apps); none does"
        )
    if alert.namespace:
        matches = [a for a in apps if a.destination_namespace == alert.namespace]
        asked = (
            f"Argo CD was asked which applications deploy to namespace {alert.namespace!r} "
            f"(one list call of {listing.count} apps)"
        )
        if len(matches) == 1:
            return matches, (
                f"Application {matches[0].name!r} chosen: it deploys to the alert's namespace "
                f"{alert.namespace!r}."
            )
        if matches:
            names = ", ".join(a.name for a in matches[:10])
            return [], f"{asked}; {len(matches)} do ({names}), name one with argocd_application"
        return [], f"{asked}; none does"
    return [], f"Argo CD listed {listing.count} applications"


def _revs(entry: AppListEntry) -> list[str]:
    return [r for r in entry.revision.split(",") if r]


def _report(
    target: _Target,
    settings: InvestigationSettings,
    now: datetime,
    gate_decisions: GateLookup | None,
) -> InvestigationReport:
    alert = target.alerts[0]
    evidence: dict[str, object] = {}
    status: ApplicationStatusEvidence | None = None
    diff: DiffEvidence | None = None
    tree: ResourceTreeEvidence | None = None
    if target.client is not None and target.instance is not None and target.name is not None:
        try:
            status, diff, tree = _gather(target.client, target.instance.name, target, settings)
        except BadInput as err:
            # A name the alert gives that Argo CD could never hold (not a Kubernetes name):
            # nothing was sent; this report says so, the notification's other apps go on.
            target.notes.append(f"Argo CD was not asked: {err}")
            target.refused = err
    if target.configuration is not None:
        evidence["argocd_configuration"] = target.configuration
    listing = target.listing
    if listing is not None:
        evidence[STATUS] = listing
    if status is not None:
        evidence[STATUS] = status
        listing = None
    if target.lookup is not None:
        listing = None
    if diff is not None:
        evidence[DIFF] = diff
    if tree is not None:
        evidence[TREE] = tree
    gate: dict[str, tuple[GateDecision, ...]] | None = None
    candidate_decisions: tuple[GateDecision, ...] | None = None
    if gate_decisions is not None and status is not None and status.found:
        gate = {
            rev: tuple(gate_decisions(status.application, rev)) for rev in status.deployed_revisions
        }
        evidence[GATE] = {
            rev: [d.model_dump(mode="json") for d in found] for rev, found in gate.items()
        }
        previous = previous_revision(status) if status.health_status in UNHEALTHY else None
        if previous is not None:
            candidate_decisions = tuple(gate_decisions(status.application, previous[1]))
    ctx = RuleContext(
        gate=gate,
        alert=alert,
        settings=settings,
        now=now,
        status=status,
        diff=diff,
        app_list=listing,
        not_configured=target.not_configured,
        tree=tree,
        lookup=target.lookup,
    )
    findings, ruled_out = evaluate(ctx)
    fleet: list[InvestigationFinding] = []
    if target.fleet:
        fleet = [f for f in findings if f.application is not None]
        findings = [f for f in findings if f.application is None]
        if fleet:
            target.notes.append(
                f"{len(fleet)} finding(s) about applications the alert does not name are listed "
                "as fleet context, not as findings."
            )
    rollback = None
    if status is not None and status.found:
        rollback = rollback_candidate(
            status,
            failed_sync=any(f.kind == "sync_failed" for f in findings),
            decisions=candidate_decisions if gate_decisions is not None else None,
        )
    deployed = status.deployed_revisions if status is not None and status.found else ()
    report = InvestigationReport(
        alert=alert,
        instance=target.instance.name if target.instance is not None else None,
        application=status.application
        if status is not None
        else (target.name or alert.application),
        revision=", ".join(deployed) if deployed else None,
        generated_at=now,
        evidence=evidence,
        findings=tuple(findings),
        ruled_out=tuple(ruled_out),
        ruled_out_reasons=ruled_out,
        notes=tuple(redact_text(n) for n in dict.fromkeys(target.notes)),
        fleet_context=tuple(fleet),
        rollback_candidate=rollback,
        fingerprints=tuple(dict.fromkeys(a.fingerprint for a in target.alerts if a.fingerprint)),
        alert_names=tuple(dict.fromkeys(a.name for a in target.alerts if a.name)),
    )
    _log.debug(
        "investigation",
        alert=alert.name,
        instance=report.instance,
        application=report.application,
        findings=[f.kind for f in findings],
    )
    return report


def _configuration(problem: str, resolution: ArgoCDResolution) -> dict[str, object]:
    return {
        "instances": [i.name for i in resolution.instances],
        "rejected": [r.model_dump(mode="json") for r in resolution.rejected],
        "problem": redact_text(problem),
    }


def _gather(
    client: ArgoCDClient,
    instance: str,
    target: _Target,
    settings: InvestigationSettings,
) -> tuple[ApplicationStatusEvidence, DiffEvidence | None, ResourceTreeEvidence | None]:
    name = str(target.name)
    status = tools.application_status(
        client,
        name,
        instance=instance,
        project=target.project,
        app_namespace=target.app_namespace,
        history_limit=settings.history_limit,
    )
    if not status.found:
        return status, None, None
    project = target.project or status.project
    app_ns = target.app_namespace or status.app_namespace
    diff = tools.application_diff(
        client,
        name,
        instance=instance,
        project=project,
        app_namespace=app_ns,
        max_chars=settings.diff_max_chars,
    )
    tree = None
    if status.health_status and status.health_status not in {"Healthy", "Suspended"}:
        tree = tools.resource_tree(
            client, name, instance=instance, project=project, app_namespace=app_ns
        )
    return status, diff, tree
