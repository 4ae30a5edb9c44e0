"""``belay integrations verify argocd``: check each configured instance with read-only calls.

Per instance: one ``GET /api/v1/applications`` (scoped to the instance's project and namespace
when set), then ``can-i applications get`` and ``can-i applications sync`` on
``<project>/*`` (``<project>/<namespace>/*`` with a namespace). The token's ``exp`` claim is read
locally. Given the applications belay.yaml maps to the instance (``targets``), it also checks
least privilege with ``can-i``: the account must be able to get and sync each mapped
application, and a warning names every extra right it holds: ``delete`` or ``update`` on a
mapped application, or ``sync`` on an application no project maps (a wildcard grant).

The outcome is one of three statuses:

* ``passed``: the list call worked (the Detail adds sync permission and token expiry);
* ``failed``: configured, but the call failed (401, 403, TLS, unreachable, timeout, ...);
* ``missing``: no usable configuration; the Detail says what to set or why one was rejected.

Nothing here writes to Argo CD.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from belay.argocd import (
    ArgoCDAuthError,
    ArgoCDClient,
    ArgoCDError,
    ArgoCDPermissionDenied,
    ArgoCDTimeout,
    ArgoCDTLSError,
    ArgoCDUnreachable,
    InstanceClientFactory,
)
from belay.config import (
    EXPIRY_WARNING_WINDOW,
    ArgoCDInstance,
    ArgoCDResolution,
    ArgoCDTarget,
    RejectedInstance,
    jwt_claims,
    token_expiry,
)
from belay.errors import BelayError
from belay.redact import redact_text

__all__ = [
    "DEFAULT_VERIFY_TIMEOUT",
    "InstanceCheck",
    "InstanceClientFactory",
    "VerifyReport",
    "VerifyStatus",
    "check_instance",
    "verify_argocd",
]

DEFAULT_VERIFY_TIMEOUT = 10.0
"""Seconds per call: a verify should answer quickly or say the host is unreachable."""

SERVICE = "argocd"

UNMAPPED_PROBE = "belay-unmapped-probe"
"""An application name no project maps: ``can-i sync`` on it reveals a wildcard grant."""

_SETUP_HINT = (
    "Set ARGOCD_BASE_URL and ARGOCD_AUTH_TOKEN (or ARGOCD_USERNAME and ARGOCD_PASSWORD), "
    "set ARGOCD_INSTANCES, or run `belay integrations add argocd`."
)


class VerifyStatus(enum.StrEnum):
    """The outcome of checking one instance."""

    passed = "passed"
    failed = "failed"
    missing = "missing"


class InstanceCheck(BaseModel):
    """The result of verifying one instance (or of finding none): what the CLI prints."""

    model_config = ConfigDict(frozen=True)

    service: str = SERVICE
    status: VerifyStatus
    detail: str
    instance: str | None = None
    source: str | None = None
    base_url: str | None = None
    applications: int | None = None
    """How many applications the list call returned (``None`` when it did not succeed)."""
    can_sync: bool | None = None
    """``can-i applications sync <project>/*`` (``None`` when not known)."""
    can_get: bool | None = None
    token_expires_at: datetime | None = None
    token_never_expires: bool = False
    warnings: tuple[str, ...] = ()
    privilege_warnings: tuple[str, ...] = ()
    """Least-privilege findings for the mapped applications (also in ``detail``)."""


class VerifyReport(BaseModel):
    """Everything ``verify`` found: one check per verified instance, plus what was rejected."""

    model_config = ConfigDict(frozen=True)

    checks: tuple[InstanceCheck, ...]
    rejected: tuple[RejectedInstance, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """True only when there is at least one check and every check passed."""
        return bool(self.checks) and all(c.status is VerifyStatus.passed for c in self.checks)


def verify_argocd(
    resolution: ArgoCDResolution,
    *,
    all_instances: bool = False,
    client_factory: InstanceClientFactory | None = None,
    now: datetime | None = None,
    targets: Sequence[ArgoCDTarget] = (),
) -> VerifyReport:
    """Verify the default instance (or, with ``all_instances``, every instance found).

    With ``all_instances`` each rejected configuration is a ``missing`` check of its own; by
    default the rejections are carried in ``rejected`` for the caller to show as warnings.
    ``targets`` are the applications belay.yaml maps (for the least-privilege checks).
    """
    factory = client_factory or _default_factory
    moment = now or datetime.now(UTC)
    checks: list[InstanceCheck]
    if all_instances:
        checks = [
            check_instance(i, client_factory=factory, now=moment, targets=targets)
            for i in resolution.instances
        ]
        checks += [_rejected_check(r) for r in resolution.rejected]
        if not checks:
            checks = [_missing_check(resolution.rejected)]
    elif resolution.default is not None:
        checks = [
            check_instance(resolution.default, client_factory=factory, now=moment, targets=targets)
        ]
    else:
        checks = [_missing_check(resolution.rejected)]
    return VerifyReport(
        checks=tuple(checks), rejected=resolution.rejected, warnings=resolution.warnings
    )


def check_instance(
    instance: ArgoCDInstance,
    *,
    client_factory: InstanceClientFactory,
    now: datetime,
    targets: Sequence[ArgoCDTarget] = (),
) -> InstanceCheck:
    """List applications on ``instance`` and ask can-i; never raises for an Argo CD failure.

    ``targets`` mapped to other instances are ignored.
    """
    base = {
        "instance": instance.name,
        "source": instance.source,
        "base_url": instance.base_url,
        "warnings": instance.warnings,
    }
    expiry = _token_expiry(instance)
    try:
        client = client_factory(instance)
    except BelayError as err:
        return InstanceCheck(
            status=VerifyStatus.failed, detail=_failure_detail(err, instance, expiry, now), **base
        )
    with client:
        try:
            apps = client.list_applications(
                projects=[instance.project] if instance.project else (),
                app_namespace=instance.app_namespace,
            )
        except BelayError as err:
            return InstanceCheck(
                status=VerifyStatus.failed,
                detail=_failure_detail(err, instance, expiry, now),
                token_expires_at=expiry[0],
                token_never_expires=expiry[1],
                **base,
            )
        scope = _scope(instance)
        can_get, get_problem = _can_i(client, "get", scope)
        can_sync, sync_problem = _can_i(client, "sync", scope)
        mine = [t for t in targets if t.instance == instance.name]
        privilege = _least_privilege(client, instance, mine) if mine else []

    sentences = [f"Connected to Argo CD and listed {len(apps)} {_plural(len(apps))}."]
    where = f"project {instance.project!r}" if instance.project else "every project"
    if instance.app_namespace:
        where += f", namespace {instance.app_namespace!r}"
    if can_sync is True:
        sentences.append(f"The account may sync applications in {where}.")
    elif can_sync is False:
        sentences.append(
            f"The account may not sync applications in {where} "
            f"(can-i applications sync {scope} said no), so the gate cannot deploy there."
        )
    else:
        sentences.append(f"Could not check whether the account may sync: {sync_problem}.")
    if can_get is False:
        sentences.append(
            f"Warning: the account may not read applications in {where}, so lists may be empty."
        )
    elif can_get is None and get_problem != sync_problem:
        sentences.append(f"Could not check read permission: {get_problem}.")
    sentences.extend(privilege)
    sentences.extend(_expiry_sentences(instance, expiry, now))
    return InstanceCheck(
        status=VerifyStatus.passed,
        privilege_warnings=tuple(redact_text(p) for p in privilege if p.startswith("Warning")),
        detail=redact_text(" ".join(sentences)),
        applications=len(apps),
        can_sync=can_sync,
        can_get=can_get,
        token_expires_at=expiry[0],
        token_never_expires=expiry[1],
        **base,
    )


def _object(project: str, namespace: str | None, app: str) -> str:
    return f"{project}/{namespace}/{app}" if namespace else f"{project}/{app}"


def _least_privilege(
    client: ArgoCDClient, instance: ArgoCDInstance, targets: Iterable[ArgoCDTarget]
) -> list[str]:
    """Sentences about the mapped applications: missing rights, then rights beyond need."""
    missing: list[str] = []
    extra: list[str] = []
    unknown: list[str] = []
    projects: set[tuple[str, str | None]] = set()
    seen: set[str] = set()
    for target in targets:
        project = target.project or instance.project or "default"
        namespace = target.app_namespace or instance.app_namespace
        obj = _object(project, namespace, target.application)
        if obj in seen:
            continue
        seen.add(obj)
        projects.add((project, namespace))
        for action in ("get", "sync"):
            allowed, problem = _can_i(client, action, obj)
            if allowed is False:
                missing.append(f"{action} {obj}")
            elif allowed is None:
                unknown.append(f"{action} {obj} ({problem})")
        for action in ("delete", "update"):
            allowed, _problem = _can_i(client, action, obj)
            if allowed:
                extra.append(f"{action} {obj}")
    probes = [_object(p, ns, UNMAPPED_PROBE) for p, ns in sorted(projects, key=str)]
    probes.append(_object(UNMAPPED_PROBE, None, UNMAPPED_PROBE))
    for obj in probes:
        allowed, _problem = _can_i(client, "sync", obj)
        if allowed:
            extra.append(f"sync {obj} (an application no project maps)")
    sentences = []
    if missing:
        sentences.append(
            "Warning: the account lacks rights the gate needs on mapped applications: "
            + "; ".join(missing)
            + " (grant `applications, get` and `applications, sync` on <project>/<app>)."
        )
    elif not unknown:
        sentences.append(f"The account may get and sync all {len(seen)} mapped applications.")
    if unknown:
        sentences.append("Could not check: " + "; ".join(unknown) + ".")
    if extra:
        sentences.append(
            "Warning: the account has more rights than the gate needs: "
            + "; ".join(extra)
            + ". Scope argocd-rbac-cm to get and sync on the mapped applications "
            "(see docs/argocd-rbac.md)."
        )
    return sentences


def _default_factory(instance: ArgoCDInstance) -> ArgoCDClient:
    return ArgoCDClient.from_instance(instance, timeout=DEFAULT_VERIFY_TIMEOUT)


def _scope(instance: ArgoCDInstance) -> str:
    project = instance.project or "*"
    if instance.app_namespace:
        return f"{project}/{instance.app_namespace}/*"
    return f"{project}/*"


def _can_i(client: ArgoCDClient, action: str, scope: str) -> tuple[bool | None, str | None]:
    try:
        return client.can_i("applications", action, scope), None
    except BelayError as err:
        return None, _one_line(err)


def _token_expiry(instance: ArgoCDInstance) -> tuple[datetime | None, bool]:
    """(exp, never_expires) for a token instance; (None, False) otherwise."""
    if instance.token is None:
        return None, False
    token = instance.token.get_secret_value()
    claims = jwt_claims(token)
    return token_expiry(token), claims is not None and "exp" not in claims


def _expiry_sentences(
    instance: ArgoCDInstance, expiry: tuple[datetime | None, bool], now: datetime
) -> list[str]:
    expires, never = expiry
    if never:
        return [
            "Warning: the token never expires (its JWT has no exp claim); prefer an expiring "
            "one (argocd account generate-token --expires-in) and rotate it."
        ]
    if expires is None:
        claims = jwt_claims(instance.token.get_secret_value()) if instance.token else None
        if claims is not None and "exp" in claims:
            return ["Warning: the token's exp claim is not a usable time."]
        return []
    left = expires - now
    when = expires.strftime("%Y-%m-%d %H:%M UTC")
    if left.total_seconds() <= 0:
        return [f"Warning: the token's exp claim says it expired on {when}."]
    if left <= EXPIRY_WARNING_WINDOW:
        days = left.days
        span = f"in {days} day{'s' if days != 1 else ''}" if days else "within a day"
        return [f"Warning: the token's expiry is {when} ({span}); rotate it soon."]
    return [f"The token's expiry is {when}."]


def _failure_detail(
    err: BelayError, instance: ArgoCDInstance, expiry: tuple[datetime | None, bool], now: datetime
) -> str:
    message = _one_line(err)
    url = instance.base_url
    if isinstance(err, ArgoCDAuthError):
        if instance.uses_token:
            hint = (
                "The token is invalid, expired or revoked; create a new one "
                "(argocd account generate-token) and configure it."
            )
            expires = expiry[0]
            if expires is not None and expires <= now:
                hint += f" Its exp claim says it expired on {expires:%Y-%m-%d %H:%M} UTC."
        else:
            hint = "Check the username and password (and that the account may log in)."
        text = f"Argo CD at {url} refused the credentials (401): {message}. {hint}"
    elif isinstance(err, ArgoCDPermissionDenied):
        text = (
            f"Argo CD at {url} denied listing applications (403): {message}. Grant the account "
            "`applications, get` in argocd-rbac-cm."
        )
    elif isinstance(err, ArgoCDTLSError):
        text = (
            f"TLS verification failed for {url}: {message}. Set ARGOCD_CA_BUNDLE to the PEM file "
            "of the CA that signed the server certificate (ARGOCD_VERIFY_SSL=false only for a "
            "test server)."
        )
    elif isinstance(err, ArgoCDTimeout):
        text = f"Timed out talking to Argo CD at {url}: {message}."
    elif isinstance(err, ArgoCDUnreachable):
        text = f"Cannot reach Argo CD at {url}: {message}. Check the URL, DNS and the network."
    elif isinstance(err, ArgoCDError):
        text = f"Argo CD at {url} answered with an error: {message}."
    else:
        text = f"The configuration of {instance.name!r} cannot be used: {message}."
    return redact_text(text)


def _missing_check(rejected: Sequence[RejectedInstance]) -> InstanceCheck:
    if not rejected:
        return InstanceCheck(
            status=VerifyStatus.missing,
            detail=f"No Argo CD configuration found. {_SETUP_HINT}",
        )
    reasons = "; ".join(f"{r.source} ({r.name}): {r.reason}" for r in rejected)
    return InstanceCheck(
        status=VerifyStatus.missing,
        detail=redact_text(f"No usable Argo CD configuration. Rejected: {reasons}."),
    )


def _rejected_check(rejected: RejectedInstance) -> InstanceCheck:
    return InstanceCheck(
        status=VerifyStatus.missing,
        detail=redact_text(f"Configuration rejected: {rejected.reason}."),
        instance=rejected.name,
        source=rejected.source,
    )


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return redact_text(text.rstrip("."))


def _plural(count: int) -> str:
    return "application" if count == 1 else "applications"
