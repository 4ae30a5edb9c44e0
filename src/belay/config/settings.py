"""``belay.yaml``: the gate's settings (store, public URL, notifications, policies, projects).

The keys of DESIGN §3a are a contract; unknown keys are errors so a typo never silently turns a
check off. :func:`load_settings` reads the file, resolves secrets named by ``*_env`` keys from the
environment (registering each with the redaction module), and returns frozen, typed settings.
Every problem is one :class:`ConfigError` line naming the file and the key path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from belay.argocd.names import InvalidArgoCDName, NameKind, check_name
from belay.config.env import process_environ
from belay.config.errors import ConfigError
from belay.errors import cannot_read
from belay.redact import register_secret

__all__ = [
    "DEFAULT_SETTINGS_FILE",
    "AlertSettings",
    "ArgoCDTarget",
    "BelaySettings",
    "BypassSettings",
    "IntakeSettings",
    "InvestigationSettings",
    "NotificationChannel",
    "ProjectMatch",
    "ProjectSettings",
    "RetiredSigningKey",
    "RetrySettings",
    "SyncSettings",
    "ThrottleSettings",
    "WebSettings",
    "WorkerSettings",
    "load_settings",
    "normalize_remote",
]

DEFAULT_SETTINGS_FILE = Path("belay.yaml")
ALERT_EVENTS = (
    "sync_failed",
    "deploy_failed",
    "auth_failed",
    "repeated_failures",
    "token_expiry",
    "verdict_fail",
    "gate_override",
    "deployment_unapproved",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


StrList = Annotated[tuple[str, ...], Field(default=())]


def _as_tuple(value: Any) -> Any:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return value


class ProjectMatch(_Strict):
    """Which bundles belong to a project: by git remote and, optionally, branch."""

    remote: str | None = None
    branch: str | None = None


_NAME_KINDS: dict[str, NameKind] = {
    "application": "application",
    "project": "project",
    "app_namespace": "namespace",
}


class ArgoCDTarget(_Strict):
    """The Argo CD application a project deploys to."""

    instance: str = "default"
    application: str
    project: str | None = None
    app_namespace: str | None = Field(default=None, alias="appNamespace")

    @field_validator("application", "project", "app_namespace")
    @classmethod
    def _kubernetes_name(cls, value: str | None, info: ValidationInfo) -> str | None:
        # The Argo CD client refuses such names at the first call; say so at start instead.
        if value is None:
            return None
        try:
            return check_name(value, _NAME_KINDS[str(info.field_name)])
        except InvalidArgoCDName as err:
            raise ValueError(str(err)) from None


class RetrySettings(_Strict):
    """Argo CD's own retry of a failing sync (the guide's 5 attempts, 5 s to 3 min)."""

    limit: int = Field(default=5, ge=0, le=100)
    duration: str = "5s"
    factor: int = Field(default=2, ge=1, le=10)
    max_duration: str = Field(default="3m", alias="maxDuration")


class SyncSettings(_Strict):
    """How a project's application is synced."""

    revision: str = "commit"
    """``commit`` (the scanned commit, the default), ``HEAD``, or a branch name."""
    prune: bool = False
    dry_run: bool = Field(default=False, alias="dryRun")
    force: bool = False
    sync_options: StrList = Field(default=(), alias="syncOptions")
    retry: RetrySettings | None = RetrySettings()
    timeout_seconds: float = Field(default=600.0, gt=0, alias="timeoutSeconds")
    terminate_on_timeout: bool = Field(default=False, alias="terminateOnTimeout")


class ProjectSettings(_Strict):
    """One gated project: how to recognise it, who may submit, its policy and its target."""

    name: str = Field(min_length=1)
    match: ProjectMatch = ProjectMatch()
    token_env: StrList = ()
    token_sha256: StrList = ()
    webhook_secret_env: StrList = ()
    gitlab_token_env: StrList = ()
    policy: str = "default"
    argocd: ArgoCDTarget | None = None
    sync: SyncSettings = SyncSettings()
    on_unapproved: Literal["alert", "revert"] = "alert"
    """What the bypass watch does when the application is deployed at a revision without a
    passing decision: ``alert`` (audit, alert, badge, metric) or also ``revert`` (queue a sync
    back to the last approved revision; docs/bypass.md lists the risks)."""

    _tuples = field_validator(
        "token_env", "token_sha256", "webhook_secret_env", "gitlab_token_env", mode="before"
    )(_as_tuple)

    @field_validator("token_sha256")
    @classmethod
    def _hex_digests(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for digest in value:
            if not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
                raise ValueError("must be a SHA-256 hex digest (64 hex characters)")
        return tuple(d.lower() for d in value)


class NotificationChannel(_Strict):
    """An alert channel: a generic webhook, Slack, Mattermost or SMTP."""

    type: Literal["webhook", "slack", "mattermost", "smtp"]
    url: str | None = Field(default=None, repr=False)
    """Left out of the repr: a Slack or Mattermost URL is itself the credential."""
    url_env: str | None = None
    events: tuple[str, ...] = ALERT_EVENTS
    secret_env: str | None = None
    """Generic webhooks: sign deliveries with Standard Webhooks headers using this secret."""
    host: str | None = None
    port: int | None = None
    from_: str | None = Field(default=None, alias="from")
    to: StrList = ()
    username_env: str | None = None
    password_env: str | None = None
    starttls: bool = False

    _to_tuple = field_validator("to", mode="before")(_as_tuple)

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(ALERT_EVENTS))
        if unknown:
            raise ValueError(f"unknown events {unknown}; known: {list(ALERT_EVENTS)}")
        return value


class AlertSettings(_Strict):
    """How alerts are raised and delivered (``alerts:`` in belay.yaml; every key optional)."""

    verdict_fail: bool = False
    """Also alert on a failing verdict (off by default: a failing build is routine CI feedback)."""
    token_expiry_warning_days: float = Field(default=14.0, gt=0)
    """Alert when an Argo CD token expires within this many days."""
    token_check_interval_hours: float = Field(default=24.0, gt=0)
    """How often token expiry is checked again after the check at start."""
    delivery_attempts: int = Field(default=6, ge=1, le=50)
    delivery_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    delivery_backoff_base_seconds: float = Field(default=5.0, gt=0)
    delivery_backoff_max_seconds: float = Field(default=300.0, gt=0)


class IntakeSettings(_Strict):
    """Limits of the HTTP intake."""

    max_body_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    request_timeout_seconds: float = Field(default=60.0, gt=0)
    rate_limit_per_minute: int = Field(default=120, ge=0)
    """Per token; 0 turns the limit off."""
    store_bundles: bool = True
    max_bundle_files: int = Field(default=64, ge=1, le=10_000)
    """Files one bundle may hold (tar entries, and files its manifest lists)."""
    max_inflated_bytes: int = Field(default=256 * 1024 * 1024, ge=1024, le=16 * 1024**3)
    """What a bundle may unpack to in all (the memory one delivery may take)."""
    max_entry_bytes: int = Field(default=128 * 1024 * 1024, ge=1024, le=16 * 1024**3)
    """What one file of a bundle may unpack to."""
    max_json_depth: int = Field(default=64, ge=4, le=512)
    """How deeply the manifest and Portage's configuration may nest."""

    @model_validator(mode="after")
    def _entry_within_total(self) -> IntakeSettings:
        if self.max_entry_bytes > self.max_inflated_bytes:
            raise ValueError("max_entry_bytes is larger than max_inflated_bytes")
        return self


class ThrottleSettings(_Strict):
    """Per-client failure throttle: ``max_failures`` refusals within ``window_seconds`` lock
    the client out for ``lockout_seconds`` (answered 429 with ``Retry-After``)."""

    max_failures: int = Field(default=5, ge=1, le=10_000)
    window_seconds: float = Field(default=300.0, gt=0, le=86_400)
    lockout_seconds: float = Field(default=300.0, gt=0, le=86_400)


class WebSettings(_Strict):
    """Hardening of the web page and the HTTP API (``web:`` in belay.yaml; every key optional)."""

    allowed_hosts: StrList = ()
    """Host names accepted in ``Host`` besides ``public_url``'s host and the loopback names."""
    session_idle_minutes: float = Field(default=60.0, gt=0, le=7 * 24 * 60)
    """A signed-in session unused this long ends."""
    session_max_hours: float = Field(default=12.0, gt=0, le=30 * 24)
    """A signed-in session ends this long after sign-in, used or not."""
    sign_in_throttle: ThrottleSettings = ThrottleSettings()
    """Wrong read tokens at ``/login`` (Argo CD's login defaults: 5 failures in 5 minutes)."""
    intake_throttle: ThrottleSettings = ThrottleSettings(
        max_failures=20, window_seconds=60.0, lockout_seconds=60.0
    )
    """Unauthenticated intake requests (401s) per client address."""

    _hosts_tuple = field_validator("allowed_hosts", mode="before")(_as_tuple)

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for host in value:
            if not re.fullmatch(r"\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.\-]{1,253}", host):
                raise ValueError(
                    f"{host!r} is not a host name (no scheme, port or path; IPv6 in brackets)"
                )
        return tuple(h.lower() for h in value)


class WorkerSettings(_Strict):
    """The deployment worker's timing."""

    lease_seconds: float = Field(default=60.0, gt=0)
    poll_interval_seconds: float = Field(default=0.5, gt=0)
    # Jobs run in parallel by ``belay serve``'s in-process workers (one job per application).
    # Workers run the sync step only: once Argo CD took the sync, the job is handed to the
    # process's follower (one informer per instance), so this bounds syncs being sent at once,
    # not deployments in flight (docs/flow.md).
    concurrency: int = Field(default=32, ge=1, le=64)
    backoff_base_seconds: float = Field(default=1.0, gt=0)
    backoff_max_seconds: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=8, ge=1)
    failures_in_a_row_alert: int = Field(default=3, ge=1)


class BypassSettings(_Strict):
    """The gate-bypass watch (docs/bypass.md)."""

    enabled: bool = True
    """Watch every mapped application for deployments past the gate (``belay serve``)."""
    lease_seconds: float = Field(default=15.0, ge=2.0, le=600.0)
    """How long one replica's claim on an instance's watch lasts without renewal (renewed every
    third of it): when that replica dies, another takes over within this time."""
    read_timeout_seconds: float = Field(default=30.0, gt=0, le=600.0)
    """Only for a bypass watch given no event source, which runs its own
    :class:`~belay.bypass.events.ListWatch`: a stream quiet this long is re-opened with a fresh
    list. ``belay serve`` gives every instance the shared informer
    (:meth:`belay.argocd.informer.InformerRegistry.events`), which does not read it."""


class InvestigationSettings(_Strict):
    """Tunable thresholds of the rules, with the defaults the docs name."""

    rollout_window_minutes: float = Field(default=30.0, gt=0)
    """A deployment this long (or less) before the alert started counts as a recent rollout."""
    progressing_threshold_minutes: float = Field(default=10.0, gt=0)
    """An app Progressing longer than this is reported as stuck."""
    diff_max_chars: int = Field(default=10_000, gt=0)
    """Each resource's diff is cut at this many characters, after redaction."""
    history_limit: int = Field(default=10, gt=0)
    """How many deployment-history entries (newest first) the status evidence keeps."""
    list_limit: int = Field(default=50, gt=0)
    """How many applications the name-less status evidence lists."""


def _utc_moment(value: Any) -> Any:
    """A YAML date or datetime, or the same quoted, as an aware UTC datetime (a date means its
    start, 00:00 UTC). A number is refused: pydantic would read it as seconds since 1970."""
    if isinstance(value, bool | int | float):
        raise ValueError("must be a date or date-time (2026-06-01, 2026-06-01T12:00:00Z)")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text)
        except ValueError:
            try:
                value = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"{text[:40]!r} is not a date or date-time") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class RetiredSigningKey(_Strict):
    """A public key that signed decisions before a rotation, kept so that they still verify.

    Statements it signed with a decision time after ``retired`` are refused.
    """

    public_key_file: str = Field(min_length=1)
    retired: datetime
    created: datetime | None = None

    _moments = field_validator("retired", "created", mode="before")(_utc_moment)


class BelaySettings(_Strict):
    """The whole of ``belay.yaml`` after loading, with paths made absolute."""

    database_url: str = Field(default="sqlite:///belay.db", repr=False)
    """Left out of the repr: a PostgreSQL URL carries its password."""
    public_url: str = "http://127.0.0.1:8080"
    notifications: tuple[NotificationChannel, ...] = ()
    policies: dict[str, str] = {}
    projects: tuple[ProjectSettings, ...] = ()
    intake: IntakeSettings = IntakeSettings()
    worker: WorkerSettings = WorkerSettings()
    bypass: BypassSettings = BypassSettings()
    investigate: InvestigationSettings = InvestigationSettings()
    alerts: AlertSettings = AlertSettings()
    web_token_env: str | None = None
    """Read access to the web page and read APIs: a token from this variable (or proxy auth)."""
    proxy_auth_header: str | None = None
    web: WebSettings = WebSettings()
    signing_key_file: str | None = None
    """Ed25519 private key (PKCS#8 PEM, unencrypted) that signs every decision
    (docs/attestations.md); relative to this file's folder."""
    signing_key_env: str | None = Field(default=None, min_length=1)
    """Alternatively, an environment variable holding that PEM text."""
    signing_key_created: datetime | None = None
    """When the signing key was made (shown by ``GET /api/v1/attestation-keys``)."""
    retired_signing_keys: tuple[RetiredSigningKey, ...] = ()
    verifying_key_file: str | None = None
    """The signing key's public half (PEM), for ``belay worker``: it verifies every decision
    before a sync but never signs, so it need not hold the private key."""
    verifying_key_env: str | None = None
    """Alternatively, an environment variable holding that PEM text."""
    base_dir: Path = Path()
    """Folder of the belay.yaml file; relative paths in it are resolved against it."""

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    _signing_created = field_validator("signing_key_created", mode="before")(_utc_moment)

    @model_validator(mode="after")
    def _one_signing_key(self) -> BelaySettings:
        if self.signing_key_file and self.signing_key_env:
            raise ValueError("signing_key_file and signing_key_env: give one, not both")
        if self.verifying_key_file and self.verifying_key_env:
            raise ValueError("verifying_key_file and verifying_key_env: give one, not both")
        return self

    def project(self, name: str) -> ProjectSettings | None:
        """The project called ``name``."""
        return next((p for p in self.projects if p.name == name), None)

    def policy_path(self, name: str) -> Path | None:
        """The policy file registered under ``name``, resolved against the settings' folder."""
        raw = self.policies.get(name)
        if raw is None:
            return None
        path = Path(raw)
        return path if path.is_absolute() else self.base_dir / path


def normalize_remote(url: str) -> str:
    """A git remote in a comparable form: ``host/path`` without scheme, credentials or ``.git``.

    ``https://user:tok@GitLab.com/Group/App.git\\n``, ``git@gitlab.com:Group/App`` and
    ``ssh://git@gitlab.com/Group/App.git/`` all become ``gitlab.com/Group/App``.
    """
    text = url.strip()
    scp = re.fullmatch(r"(?:[^@/\s]+@)?([^:/\s]+):(?!//)(.+)", text)
    if scp and "://" not in text:
        host, path = scp.group(1), scp.group(2)
    else:
        parts = urlsplit(text if "://" in text else f"https://{text}")
        host, path = (parts.hostname or ""), parts.path
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    return f"{host.lower()}/{path}".rstrip("/")


def load_settings(
    path: Path | None = None, *, environ: Mapping[str, str] | None = None, required: bool = False
) -> BelaySettings:
    """Load ``belay.yaml`` (default ``./belay.yaml``); a missing file gives the defaults.

    ``BELAY_DATABASE_URL`` overrides ``database_url``. With ``required=True`` a missing file is a
    :class:`ConfigError`. Secrets named by ``*_env`` keys are read by the parts that use them.
    """
    env = process_environ(environ)
    file = path or DEFAULT_SETTINGS_FILE
    data: Any = {}
    if file.exists():
        try:
            data = yaml.safe_load(file.read_bytes()) or {}
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise ConfigError(f"{file}: not valid YAML{where}") from None
        except ValueError as err:  # a date YAML reads but the calendar has not (2026-02-30)
            raise ConfigError(f"{file}: not valid YAML ({err})") from None
        except OSError as err:
            raise ConfigError(cannot_read("settings", file, err)) from None
        if not isinstance(data, dict):
            raise ConfigError(f"{file}: must be a mapping of settings, not {type(data).__name__}")
    elif required or path is not None:
        raise ConfigError(f"cannot read settings {file}: no such file")
    data = dict(data)
    if env.get("BELAY_DATABASE_URL"):
        data["database_url"] = env["BELAY_DATABASE_URL"]
    register_secret(_url_password(str(data.get("database_url", ""))))
    data["base_dir"] = file.resolve().parent
    try:
        settings = BelaySettings.model_validate(data)
    except ValidationError as err:
        raise ConfigError(f"{file}: {_first_problem(err)}") from None
    names = [p.name for p in settings.projects]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{file}: projects: duplicate names {duplicates}")
    for index, project in enumerate(settings.projects):
        if project.policy not in settings.policies and project.policy != "default":
            raise ConfigError(
                f"{file}: projects[{index}].policy: {project.policy!r} is not in policies"
            )
    return settings


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def _first_problem(err: ValidationError) -> str:
    problem = err.errors()[0]
    path = ""
    for part in problem["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    message = problem["msg"]
    if problem["type"] == "extra_forbidden":
        message = "unknown key"
    count = err.error_count()
    more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
    return f"{path or 'settings'}: {message}{more}"
