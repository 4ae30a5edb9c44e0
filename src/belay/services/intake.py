"""Submitting a delivery: one delivery in, one durable verdict out (and a deployment job on pass).

    auth → form → bundle → project mapping → idempotency → judgement → one transaction

The judgement is pure and runs before the transaction, so the database lock is held only for
the writes: submission, decision, audit events and, for a pass, the deployment job (older queued
jobs of the same application are superseded). The response is sent only after that commit.
With a signing key (:mod:`belay.attest`), the decision's statement is signed before the
transaction too, and its envelope is stored in it; the verdict then carries ``attestationUrl``.

Idempotency: a delivery's key is its Standard Webhooks ``webhook-id`` or, for Portage (which
sends none), the project, the commit and the sorted report digests of the manifest, so a retried
GitLab job that rebuilds the bundle maps to the same key. The same key with the same content
returns the stored verdict and enqueues nothing; with different content it is refused (422).

The entry points (:mod:`belay.web.intake`) authenticate the sender and read the multipart body,
then call :func:`submit_delivery`; the pure parts (authentication, project mapping, judgement)
are :mod:`belay.intake`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from belay import __version__
from belay.attest import Attestor, SignedAttestation, decision_facts
from belay.config import BelaySettings, ConfigError, ProjectSettings, process_environ
from belay.deploy import SyncSpec
from belay.gate import (
    Bundle,
    BundleError,
    GateError,
    Intel,
    Policy,
    PolicySet,
    Verdict,
    intel_from_files,
    load_policy_set,
    read_bundle,
    read_data_files,
)
from belay.intake import (
    AuthResult,
    Credentials,
    TokenDigest,
    WebhookKey,
    bundle_limits,
    decode_webhook_secret,
    hash_token,
    judge_bundle,
    map_project,
    unmapped,
    unreadable_bundle,
)
from belay.logs import get_logger
from belay.redact import redact_text, register_secret
from belay.store import (
    AttestationRecord,
    DecisionRecord,
    DuplicateKey,
    NewAuditEvent,
    Store,
    SubmissionRecord,
    UnitOfWork,
    new_id,
)
from belay.vocab import AuditKind

__all__ = [
    "DEFAULT_BUNDLE_NAME",
    "Delivery",
    "IntakeResponse",
    "IntakeService",
    "credentials_from_settings",
    "submit_delivery",
]

_log = get_logger("belay.intake")

ALLOWED_VALIDATION = frozenset({"passed", "failed"})
ALLOWED_POLICY = frozenset({"fetched", "local"})


class IntakeResponse(BaseModel):
    """What the HTTP layer sends back: a status code and a JSON body."""

    model_config = ConfigDict(frozen=True)

    status_code: int
    body: dict[str, Any]
    submission_id: str | None = None
    duplicate: bool = False


def _error(status: int, message: str) -> IntakeResponse:
    # Messages can quote what the client sent; what goes back is redacted like everything else.
    return IntakeResponse(status_code=status, body={"error": redact_text(message)})


def _quoted(value: str, limit: int = 40) -> str:
    """A sent value as an error message quotes it: repr, cut to ``limit`` characters."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


def credentials_from_settings(
    settings: BelaySettings, environ: Mapping[str, str] | None = None
) -> Credentials:
    """Build the intake's credentials: hash tokens from the environment, decode webhook secrets.

    A variable named in ``belay.yaml`` but not set is a :class:`ConfigError` (fail closed, and
    say so at start rather than refuse every delivery later).
    """
    env = process_environ(environ)
    tokens: list[TokenDigest] = []
    gitlab: list[TokenDigest] = []
    keys: list[WebhookKey] = []
    for index, project in enumerate(settings.projects):
        where = f"projects[{index}] ({project.name})"
        for name in project.token_env:
            tokens.append(
                TokenDigest(
                    project=project.name,
                    label=f"token_env {name}",
                    sha256=_hashed(env, name, where),
                )
            )
        for n, digest in enumerate(project.token_sha256):
            tokens.append(
                TokenDigest(project=project.name, label=f"token_sha256[{n}]", sha256=digest)
            )
        for name in project.gitlab_token_env:
            gitlab.append(
                TokenDigest(
                    project=project.name,
                    label=f"gitlab_token_env {name}",
                    sha256=_hashed(env, name, where),
                )
            )
        for name in project.webhook_secret_env:
            secret = _required_env(env, name, where)
            try:
                key = decode_webhook_secret(secret)
            except ValueError as err:
                raise ConfigError(f"{where}.webhook_secret_env {name}: {err}") from None
            keys.append(
                WebhookKey(project=project.name, label=f"webhook_secret_env {name}", key=key)
            )
    return Credentials(tokens=tuple(tokens), gitlab_tokens=tuple(gitlab), webhook_keys=tuple(keys))


def _required_env(env: Mapping[str, str], name: str, where: str) -> str:
    value = env.get(name, "")
    if not value.strip():
        raise ConfigError(f"{where}: environment variable {name} is not set")
    register_secret(value)
    return value.strip()


def _hashed(env: Mapping[str, str], name: str, where: str) -> str:
    value = _required_env(env, name, where)
    scheme, _, rest = value.partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" and rest.strip() else value
    return hash_token(token)


def _file_version(path: Path | None) -> str:
    """A file's identity for caching: its path with its size and change time (or its absence)."""
    if path is None:
        return "-"
    try:
        stat = path.stat()
    except OSError:
        return f"{path}:missing"
    return f"{path}:{stat.st_size}:{stat.st_mtime_ns}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class IntakeService:
    """Judges and stores deliveries; shared by the Portage route and the native API."""

    def __init__(
        self,
        *,
        settings: BelaySettings,
        store: Store,
        credentials: Credentials,
        clock: Callable[[], datetime] = _utcnow,
        on_decision: Callable[[DecisionRecord], object] | None = None,
        attestor: Attestor | None = None,
    ) -> None:
        self.settings = settings
        self.attestor = attestor
        """Signs every decision (``None``: this Belay does not sign, docs/attestations.md)."""
        self.on_decision = on_decision
        self.store = store
        self.credentials = credentials
        self.clock = clock
        self.on_job_queued: Callable[[], None] | None = None
        """Called after a commit that queued a deployment job (wakes in-process workers)."""
        self.bundle_limits = bundle_limits(settings.intake)
        self._policies: dict[str, PolicySet] = {}
        self._intel: dict[tuple[str, str], tuple[tuple[str, str], Intel]] = {}
        """Parsed threat data by its files, with the files' versions it was read at."""
        for name in {p.policy for p in settings.projects} | set(settings.policies):
            path = settings.policy_path(name)
            if path is None:
                raise ConfigError(f"policy {name!r} is used but not listed under policies")
            try:
                self._policies[name] = load_policy_set(path)
            except GateError as err:
                raise ConfigError(str(err)) from None

    def policy_set(self, name: str) -> PolicySet:
        """A policy set loaded at start (policies are server-side files, read once)."""
        return self._policies[name]

    # --- the Portage delivery ----------------------------------------------------------------

    def submit(
        self,
        *,
        auth: AuthResult,
        form: Mapping[str, str],
        bundle_bytes: bytes,
        bundle_name: str,
    ) -> IntakeResponse:
        """Judge one authenticated delivery and store it durably; the response to send."""
        problem = _check_form(form)
        if problem:
            return _error(400, problem)
        now = self.clock()
        submission_id = new_id()
        details_url = f"{self.settings.public_url}/submissions/{submission_id}"
        bundle: Bundle | None = None
        try:
            bundle = read_bundle(bundle_bytes, bundle_name or "bundle", limits=self.bundle_limits)
        except BundleError as err:
            broken = str(err)
        else:
            broken = ""
        context = bundle.manifest.context if bundle and bundle.manifest else None
        remote = context.remote if context else None
        branch = context.branch if context else None
        commit = context.commit_hash if context else None
        too_long = _overlong_context(remote=remote, branch=branch, commit=commit)
        if too_long:
            return _error(400, too_long)
        mapping = map_project(
            self.settings.projects, allowed=auth.projects, remote=remote, branch=branch
        )
        if mapping.forbidden:
            self._record_refusal(auth, reason=mapping.reason, status=403)
            return _error(403, mapping.reason)
        project = mapping.project
        key, content = _idempotency(
            auth,
            project,
            remote=remote,
            branch=branch,
            commit=commit,
            bundle=bundle,
            bundle_bytes=bundle_bytes,
        )
        verdict, intel = self._judge(
            bundle=bundle,
            broken=broken,
            project=project,
            mapping_reason=mapping.reason,
            commit=commit,
            branch=branch,
            now=now,
            details_url=details_url,
        )
        decision_id = new_id()
        if self.attestor is not None:
            attestation_url = self.attestor.url_for(decision_id)
            verdict = verdict.model_copy(update={"attestation_url": attestation_url})
        record = SubmissionRecord(
            id=submission_id,
            received_at=now,
            idempotency_key=key,
            content_digest=content,
            webhook_id=auth.webhook_id,
            project=project.name if project else None,
            remote=redact_text(remote) if remote else None,
            branch=branch,
            commit_sha=commit,
            bundle_sha256=hashlib.sha256(bundle_bytes).hexdigest(),
            manifest=bundle.manifest.model_dump(mode="json")
            if bundle and bundle.manifest
            else None,
            auth_method=auth.method,
            credential_label=_label(auth.labels),
            state="decided",
            decision_id=decision_id,
        )
        try:
            # Only a bundle that was read can be kept: its stored copy has the configuration's
            # secrets redacted. An unreadable upload is not kept (it could hold anything).
            kept = bundle.stored_copy if bundle is not None else None
            self._store(record, kept, verdict, intel, project, auth, form, now, bundle=bundle)
        except DuplicateKey:
            # The key is stored already (a replay, or a duplicate that committed first while this
            # one was being judged): answer with the stored verdict.
            replay = self._existing(key, content)
            if replay is None:
                # Not the key (no submission holds it): a constraint Belay did not expect.
                _log.error("intake.store_conflict", submission_id=record.id, key=key)
                return _error(409, "a delivery with the same key is being processed")
            return replay
        return IntakeResponse(
            status_code=200, body=verdict.for_http().document(), submission_id=submission_id
        )

    def _existing(self, key: str, content: str) -> IntakeResponse | None:
        with self.store.unit_of_work() as uow:
            return _replay(uow, key, content)

    def _judge(
        self,
        *,
        bundle: Bundle | None,
        broken: str,
        project: ProjectSettings | None,
        mapping_reason: str,
        commit: str | None,
        branch: str | None,
        now: datetime,
        details_url: str,
    ) -> tuple[Verdict, Intel | None]:
        """The verdict, and the threat data it was judged with (``None`` when not judged)."""
        if bundle is None:
            return unreadable_bundle(broken, details_url=details_url), None
        if project is None:
            return unmapped(mapping_reason, details_url=details_url), None
        policy_set = self._policies[project.policy]
        policy = policy_set.for_branch(branch)
        intel = self._intel_for(project.policy, branch, policy_set, policy)
        verdict = judge_bundle(
            bundle,
            project=project,
            policy=policy,
            intel=intel,
            commit=commit,
            branch=branch,
            now=now,
            details_url=details_url,
        )
        return verdict, intel

    def _intel_for(
        self, policy_name: str, branch: str | None, policy_set: PolicySet, policy: Policy
    ) -> Intel:
        """KEV/EPSS data for a policy, read again when a file changes (`belay data refresh` or a
        refresh job writes them while Belay runs); each file is kept in the store by its digest
        the first time, so a later replay of a decision can use exactly what it used."""
        files = policy.belay.data
        kev_path, epss_path = policy_set.data_path(files.kev), policy_set.data_path(files.epss)
        # Keyed by the files as they are now (not by the branch a submitter names): every
        # branch shares one parsed copy, and a refreshed or newly written file is read again.
        key = (str(kev_path), str(epss_path))
        version = (_file_version(kev_path), _file_version(epss_path))
        cached = self._intel.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        read, problems = read_data_files(kev_path, epss_path)
        intel = intel_from_files(read, problems)
        kept = [f for f in read.values() if f.sha256 in intel.digests().values()]
        if kept:
            with self.store.unit_of_work() as uow:
                for data in kept:
                    uow.snapshots.keep(
                        kind=data.kind,
                        name=data.name,
                        sha256=data.sha256,
                        content=data.content,
                        now=self.clock(),
                    )
                uow.commit()
        self._intel[key] = (version, intel)
        return intel

    def _store(
        self,
        record: SubmissionRecord,
        bundle_copy: bytes | None,
        verdict: Verdict,
        intel: Intel | None,
        project: ProjectSettings | None,
        auth: AuthResult,
        form: Mapping[str, str],
        now: datetime,
        *,
        bundle: Bundle | None = None,
    ) -> None:
        """Store the submission, its decision, audit events and job atomically.

        The writes run in a transaction shared with the submissions arriving at the same moment
        (:meth:`Store.group_commit`: one commit, one fsync for all of them), and this returns
        only after that commit. A delivery whose key is already stored raises
        :class:`DuplicateKey` and writes nothing.
        """
        target = project.argocd if project else None
        assert record.decision_id is not None
        decision = DecisionRecord(
            id=record.decision_id,
            submission_id=record.id,
            decided_at=now,
            decision=verdict.decision,
            project=record.project,
            instance=target.instance if target else None,
            application=target.application if target else None,
            revision=record.commit_sha,
            branch=record.branch,
            policy=project.policy if project else None,
            verdict=verdict.model_dump(mode="json", by_alias=True),
            data_digests=intel.digests() if intel is not None else None,
        )
        deploy = verdict.decision == "pass" and project is not None and target is not None
        spec = (
            SyncSpec.from_settings(project.sync, commit=record.commit_sha, branch=record.branch)
            if deploy and project is not None
            else None
        )
        signed = self._attest(decision, record, verdict, bundle, project, spec, intel)
        common = {
            "project": record.project,
            "instance": decision.instance,
            "application": decision.application,
            "revision": record.commit_sha,
            "submission_id": record.id,
        }

        events = [
            NewAuditEvent(
                kind=AuditKind.submission_received,
                actor=_label(auth.labels, prefix=f"{auth.method}:"),
                data={
                    "bundle_sha256": record.bundle_sha256,
                    "branch": record.branch,
                    "remote": record.remote,
                    "idempotency_key": record.idempotency_key,
                    "form": {
                        k: form.get(k)
                        for k in ("action", "status", "validation", "policy")
                        if form.get(k)
                    },
                },
                **common,
            ),
            NewAuditEvent(
                kind=AuditKind.verdict_decided,
                actor="belay",
                decision_id=decision.id,
                data={
                    "decision": verdict.decision,
                    "summary": verdict.summary,
                    "reasons": [r.brief() for r in verdict.reasons],
                    "policy": decision.policy,
                    **({"attestation": signed.audit_data()} if signed is not None else {}),
                },
                **common,
            ),
        ]

        def write(uow: UnitOfWork) -> bool:
            # A replay fails the submission's unique idempotency key here, which rolls this
            # write back and is answered from the stored submission (see submit()).
            uow.submissions.add(
                record, bundle=bundle_copy if self.settings.intake.store_bundles else None
            )
            uow.decisions.add(decision)
            if signed is not None:
                uow.attestations.add(AttestationRecord.model_validate(signed.model_dump()))
            if spec is None or target is None or project is None:
                uow.audit.extend(events, now=now)
                return False
            job = uow.jobs.enqueue(
                instance=target.instance,
                application=target.application,
                argocd_project=target.project,
                app_namespace=target.app_namespace,
                revision=record.commit_sha,
                spec=spec.model_dump(mode="json"),
                actor=f"gate:{project.name}",
                decision_id=decision.id,
                now=now,
            )
            superseded = uow.jobs.supersede_queued(
                instance=target.instance,
                application=target.application,
                keep_job_id=job.id,
                now=now,
            )
            queued = NewAuditEvent(
                kind=AuditKind.job_queued,
                actor="belay",
                decision_id=decision.id,
                job_id=job.id,
                data={"sync": spec.model_dump(mode="json"), "superseded_jobs": superseded},
                **common,
            )
            uow.audit.extend([*events, queued], now=now)
            return True

        queued = self.store.group_commit(write)
        if queued and self.on_job_queued is not None:
            self.on_job_queued()
        if self.on_decision is not None:
            try:
                self.on_decision(decision)
            except Exception:  # noqa: BLE001 - an alert must never fail a stored submission
                _log.exception("intake.on_decision_failed", decision_id=decision.id)
        _log.info(
            "intake.decided",
            submission_id=record.id,
            decision_id=decision.id,
            project=record.project,
            commit=record.commit_sha,
            decision=verdict.decision,
        )

    def _attest(
        self,
        decision: DecisionRecord,
        record: SubmissionRecord,
        verdict: Verdict,
        bundle: Bundle | None,
        project: ProjectSettings | None,
        spec: SyncSpec | None,
        intel: Intel | None,
    ) -> SignedAttestation | None:
        """The decision's signed statement (docs/attestations.md), or ``None`` without a key."""
        if self.attestor is None:
            return None
        policy = None
        if project is not None and bundle is not None:
            policy = self._policies[project.policy].for_branch(record.branch)
        return self.attestor.sign(
            decision_facts(
                decision_id=decision.id,
                submission_id=record.id,
                decided_at=decision.decided_at,
                verdict=verdict,
                project=record.project,
                remote=record.remote,
                branch=record.branch,
                commit=record.commit_sha,
                bundle=bundle,
                bundle_name=bundle.name if bundle else None,
                bundle_sha256=record.bundle_sha256,
                policy_name=decision.policy,
                policy=policy,
                intel=intel,
                target=project.argocd if project else None,
                sync=spec.model_dump(mode="json") if spec is not None else None,
                belay_version=__version__,
            )
        )

    def _record_refusal(self, auth: AuthResult | None, *, reason: str, status: int) -> None:
        with self.store.unit_of_work() as uow:
            uow.audit.append(
                NewAuditEvent(
                    kind=AuditKind.intake_refused,
                    actor=_label(auth.labels, prefix=f"{auth.method}:")
                    if auth
                    else "unauthenticated",
                    data={"status": status, "reason": reason},
                ),
                now=self.clock(),
            )
            uow.commit()


def _replay(uow: UnitOfWork, key: str, content: str) -> IntakeResponse | None:
    """The answer for a delivery whose key is already stored, or ``None`` for a new key."""
    found = uow.submissions.by_idempotency_key(key)
    if found is None:
        return None
    if found.content_digest != content:
        return _error(422, "this delivery id was already used for different content")
    decision = uow.decisions.get(found.decision_id) if found.decision_id else None
    if decision is None:
        return _error(409, "a delivery with the same key is still being judged")
    verdict = Verdict.model_validate(decision.verdict)
    return IntakeResponse(
        status_code=200,
        body=verdict.for_http().document(),
        submission_id=found.id,
        duplicate=True,
    )


def _check_form(form: Mapping[str, str]) -> str | None:
    action = form.get("action")
    status = form.get("status")
    if action != "deploy":
        return (
            f"field 'action' must be 'deploy', got {_quoted(action)}"
            if action
            else "field 'action' is missing"
        )
    if status != "success":
        return (
            f"field 'status' must be 'success', got {_quoted(status)}"
            if status
            else "field 'status' is missing"
        )
    validation = form.get("validation")
    if validation is not None and validation not in ALLOWED_VALIDATION:
        return f"field 'validation' must be 'passed' or 'failed', got {_quoted(validation)}"
    policy = form.get("policy")
    if policy is not None and policy not in ALLOWED_POLICY:
        return f"field 'policy' must be 'fetched' or 'local', got {_quoted(policy)}"
    return None


def _idempotency(
    auth: AuthResult,
    project: ProjectSettings | None,
    *,
    remote: str | None,
    branch: str | None,
    commit: str | None,
    bundle: Bundle | None,
    bundle_bytes: bytes,
) -> tuple[str, str]:
    """The delivery's key and the digest of what it carries (to tell a replay from a reuse).

    Without a ``webhook-id`` the key covers everything that changes the decision: the project,
    the remote, the branch, the commit and the sorted report digests. The same reports sent for
    another branch are another delivery, not a replay of the first one's verdict.
    """
    if bundle is not None and bundle.manifest is not None:
        digests = sorted(f.digest for f in bundle.manifest.files.values())
        content = hashlib.sha256("\n".join(digests).encode()).hexdigest()
    else:
        content = hashlib.sha256(bundle_bytes).hexdigest()
    scope = project.name if project else ",".join(sorted(auth.projects))
    if auth.webhook_id:
        key = f"webhook:{scope}:{auth.webhook_id}"
    else:
        where = hashlib.sha256(f"{remote or ''}\n{branch or ''}".encode()).hexdigest()[:32]
        key = f"portage:{scope}:{where}:{commit or '-'}:{content}"
    if len(key) > _MAX_KEY:
        # Long project names or webhook ids: keep the key unique but within the column.
        key = f"{key.split(':', 1)[0]}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"
    return key, content


# Column sizes of the submissions table (belay.store.tables); longer values are refused or
# shortened here, since PostgreSQL rejects them (SQLite would not).
_MAX_KEY = 255
_MAX_LABEL = 255
_CONTEXT_LIMITS = {"remote": 1024, "branch": 255, "commitHash": 64}


def _overlong_context(*, remote: str | None, branch: str | None, commit: str | None) -> str:
    """A one-line reason when the manifest's context holds a value too long to be real."""
    for name, value in (("remote", remote), ("branch", branch), ("commitHash", commit)):
        limit = _CONTEXT_LIMITS[name]
        if value is not None and len(value) > limit:
            return f"bundle manifest context.{name} is longer than {limit} characters"
    return ""


def _label(labels: tuple[str, ...], *, prefix: str = "") -> str:
    """The credential labels for a record (submission or audit actor): each once (a token
    shared by many projects matches once per project), cut to the column's size."""
    text = prefix + ", ".join(dict.fromkeys(labels))
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 3] + "..."


# --- the use case -------------------------------------------------------------------------------

DEFAULT_BUNDLE_NAME = "gatecheck-bundle.tar.gz"
"""The bundle's name when the upload carries none (Portage's own)."""


@dataclass(frozen=True)
class Delivery:
    """One authenticated delivery, as the entry point read it."""

    auth: AuthResult
    form: Mapping[str, str]
    """``action``, ``status`` and optionally ``validation`` and ``policy`` (checked here)."""
    bundle: bytes
    bundle_name: str | None = None


def submit_delivery(delivery: Delivery, *, intake: IntakeService) -> IntakeResponse:
    """Judge and store ``delivery``; the answer to send (a verdict, or a refusal with its status).

    ``intake`` is the :class:`IntakeService` built at start (:func:`belay.bootstrap.build_services`:
    its policies read once, its threat data cached, its writes group-committed through the
    store). Blocking (it reads the bundle and commits): call it from a worker thread in async code.
    """
    return intake.submit(
        auth=delivery.auth,
        form=delivery.form,
        bundle_bytes=delivery.bundle,
        bundle_name=delivery.bundle_name or DEFAULT_BUNDLE_NAME,
    )
