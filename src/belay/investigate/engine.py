"""The investigation engine: the one entry point the CLI and the HTTP API call.

``investigate(alert, resolution, settings=..., now=...)`` picks the Argo CD instance, gathers
the evidence with as few read-only calls as possible, runs the rule table and returns an
:class:`InvestigationReport`. It never raises for Argo CD trouble: unreachable servers, refused
credentials and missing apps become findings.

Calls per alert (Argo CD's API, all GETs; a username/password instance adds one session login):

* the alert names an app: ``GET /applications/{name}`` then ``GET .../managed-resources``
  (``project`` and ``appNamespace`` passed when known, so a missing app is a real 404);
* no app but a ``namespace`` label: one list call, then the two calls above for the one app
  deploying to that namespace;
* GitOps hints only: one list call (scoped by the configured project);
* no GitOps context at all: no call (one list call when the alert has a ``namespace`` label, to
  see whether exactly one app deploys there).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from belay.argocd import ArgoCDClient
from belay.config.models import ArgoCDInstance, ArgoCDResolution
from belay.errors import BadInput
from belay.investigate import evidence as tools
from belay.investigate.models import (
    Alert,
    ApplicationListEvidence,
    ApplicationStatusEvidence,
    DiffEvidence,
    GateDecision,
    InvestigationReport,
    InvestigationSettings,
)
from belay.investigate.rules import GATE, RuleContext, evaluate
from belay.logs import get_logger
from belay.redact import redact_text

__all__ = ["ClientFactory", "GateLookup", "investigate", "select_instance"]

ClientFactory = Callable[[ArgoCDInstance], ArgoCDClient]
"""Builds the client for an instance (tests may plug in a transport)."""
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
    client_factory: ClientFactory | None = None,
    gate_decisions: GateLookup | None = None,
) -> InvestigationReport:
    """Investigate one alert against Argo CD; always returns a report.

    ``gate_decisions(application, revision)`` returns Belay's own decisions about a revision,
    newest first; given, the deployed revisions are checked against them (``unapproved_revision``).
    """
    settings = settings or InvestigationSettings()
    now = now or datetime.now(UTC)
    factory = client_factory or ArgoCDClient.from_instance
    evidence: dict[str, object] = {}
    notes: list[str] = []
    status: ApplicationStatusEvidence | None = None
    diff: DiffEvidence | None = None
    listing: ApplicationListEvidence | None = None
    not_configured: str | None = None
    instance: ArgoCDInstance | None = None

    # A namespace label alone is worth one list call when an instance exists: if exactly one
    # app deploys there, the alert is about it.
    wanted = alert.has_gitops_context or (
        alert.namespace is not None and bool(resolution.instances)
    )
    if wanted:
        instance, why = select_instance(alert, resolution)
        if instance is None:
            not_configured = why
        else:
            notes.append(f"Argo CD instance {instance.name!r}: {why}.")
    if alert.alert_count > 1:
        notes.append(f"The payload held {alert.alert_count} alerts; the first firing one is used.")

    if instance is not None:
        try:
            client = factory(instance)
        except BadInput as err:
            not_configured = str(err)
        else:
            with client:
                status, diff, listing = _gather(client, instance, alert, settings, notes)

    if not_configured is not None:
        evidence["argocd_configuration"] = {
            "instances": [i.name for i in resolution.instances],
            "rejected": [r.model_dump(mode="json") for r in resolution.rejected],
            "problem": redact_text(not_configured),
        }
    if listing is not None:
        evidence[STATUS] = listing
        if not alert.has_gitops_context:
            # The namespace mapped to no single app: the listing was only a lookup.
            notes.append(f"No single application deploys to namespace {alert.namespace!r}.")
            listing = None
    if status is not None:
        evidence[STATUS] = status
    if diff is not None:
        evidence[DIFF] = diff
    gate: dict[str, tuple[GateDecision, ...]] | None = None
    if gate_decisions is not None and status is not None and status.found:
        gate = {
            rev: tuple(gate_decisions(status.application, rev)) for rev in status.deployed_revisions
        }
        evidence[GATE] = {
            rev: [d.model_dump(mode="json") for d in found] for rev, found in gate.items()
        }
    ctx = RuleContext(
        gate=gate,
        alert=alert,
        settings=settings,
        now=now,
        status=status,
        diff=diff,
        app_list=listing if status is None else None,
        not_configured=not_configured,
    )
    findings, ruled_out = evaluate(ctx)
    deployed = status.deployed_revisions if status is not None and status.found else ()
    report = InvestigationReport(
        alert=alert,
        instance=instance.name if instance is not None else None,
        application=status.application if status is not None else alert.application,
        revision=", ".join(deployed) if deployed else None,
        generated_at=now,
        evidence=evidence,
        findings=tuple(findings),
        ruled_out=tuple(ruled_out),
        ruled_out_reasons=ruled_out,
        notes=tuple(redact_text(n) for n in notes),
    )
    _log.debug(
        "investigation",
        alert=alert.name,
        instance=report.instance,
        application=report.application,
        findings=[f.kind for f in findings],
    )
    return report


def _gather(
    client: ArgoCDClient,
    instance: ArgoCDInstance,
    alert: Alert,
    settings: InvestigationSettings,
    notes: list[str],
) -> tuple[ApplicationStatusEvidence | None, DiffEvidence | None, ApplicationListEvidence | None]:
    project = alert.project or instance.project
    app_ns = alert.app_namespace or instance.app_namespace
    name = alert.application
    listing: ApplicationListEvidence | None = None
    if name is None:
        listing = tools.application_list(
            client,
            instance=instance.name,
            projects=[project] if project else [],
            app_namespace=app_ns,
            limit=settings.list_limit,
        )
        if alert.namespace and listing.error is None:
            matches = [
                a for a in listing.applications if a.destination_namespace == alert.namespace
            ]
            if len(matches) == 1:
                name = matches[0].name
                project = project or matches[0].project or None
                notes.append(
                    f"Application {name!r} chosen: it deploys to the alert's namespace "
                    f"{alert.namespace!r}."
                )
            elif matches:
                notes.append(
                    f"{len(matches)} applications deploy to namespace {alert.namespace!r} ("
                    + ", ".join(a.name for a in matches[:10])
                    + "); name one with argocd_application."
                )
        if name is None:
            return None, None, listing
    status = tools.application_status(
        client,
        name,
        instance=instance.name,
        project=project,
        app_namespace=app_ns,
        history_limit=settings.history_limit,
    )
    if not status.found:
        return status, None, None
    diff = tools.application_diff(
        client,
        name,
        instance=instance.name,
        project=project or status.project,
        app_namespace=app_ns or status.app_namespace,
        max_chars=settings.diff_max_chars,
    )
    return status, diff, None
