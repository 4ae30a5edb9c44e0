"""The simulator's state file (DESIGN.md §6): typed models and a loader with precise errors.

Applications stay the JSON dicts Argo CD returns (they must round-trip exactly); they are only
checked for the minimal shape (``metadata.name``, ``spec.project``, ``spec.destination``).
Everything else is typed. Keys added by the simulator beyond DESIGN.md §6 (all optional):

* ``syncBehavior.<app>``: ``seconds``, ``phase``, ``health``, ``message``, ``byRevision`` and also
  ``failAttempts`` (the first N attempts fail, then ``phase`` applies), ``retrySeconds`` (the wait
  before a retry; default ``seconds``), ``healthSeconds`` (how long health stays Progressing
  after the sync; default 0), ``images`` (``status.summary.images`` after a successful sync).
* ``faults``: ``errorRate``, ``latencyMs``, ``statusCodes`` and also ``dropConnections`` (a rate),
  ``dropWatchAfterEvents`` (cut every watch stream after N events), ``expiredAccounts`` (their
  tokens answer ``token is expired``), ``paths`` (glob patterns the error/latency/drop faults apply
  to; default every ``/api/`` path), ``seed`` (makes the random choices repeatable),
  ``syncWindows`` (as below, changeable at run time).
* ``syncWindows``: ``{"<app name or glob>": [{"kind": "deny"|"allow", "from"?: T, "until"?: T}]}``
  with T an epoch number or an ISO 8601 string. An active deny window, or allow windows none of
  which is active, refuses syncs with 403 ``cannot sync: blocked by sync window``.
* ``syncBehavior.<app>.reconcileSeconds``: the wait between an operation's end and the
  controller's refresh that updates sync status and sets health Progressing (default 0).
* ``repositories`` (DESIGN.md §6): ``{"<repoURL>": {"refs": {"HEAD": sha, "main": sha},
  "commits": [sha, ...]}}``; see :mod:`belay.sim.repos`.
* ``timeScale`` (DESIGN.md §6): divides every simulated wait (operation time, retry backoff,
  reconcile and health delays); 10 makes a 5 s backoff last 0.5 s.
* ``faults.repoErrors`` (the next N syncs answer a transient repo-server error, 400 code 9),
  ``faults.repoErrorRate`` (the same, at random), ``faults.watchErrorAfterEvents`` (a watch
  stream sends a grpc-gateway stream error after N events and ends), ``faults.expireWatchVersions``
  (a watch resuming from a ``resourceVersion`` other than ``0`` is refused with 410 ``too old
  resource version``, as a Kubernetes API server or a proxy in front of Argo CD answers; Argo CD
  itself never does).
* ``projects`` (``{"<name>": <AppProject>}``; ``default`` is made when absent), ``clusters``
  (``[<Cluster>]``; the in-cluster one when absent), ``settings`` (merged over defaults),
  ``resourceActions`` (``{"<group>/<Kind>": [<ResourceAction>]}``), ``logs``
  (``{"<app>": [{"podName", "content", "timeStamp"?}]}``).
* ``managedResources``, ``resourceTrees``, ``events`` (``{"<app>": [...]}``),
  ``revisionMetadata`` (``{"<revision>": {...}}``), ``namespace`` (the control-plane namespace,
  default ``argocd``), ``sessionDurationSeconds`` (default 86400).
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from belay import jsonio
from belay.errors import BadInput
from belay.sim.wire import parse_time

__all__ = [
    "Account",
    "Behavior",
    "Faults",
    "Repository",
    "SimState",
    "StateFileError",
    "SyncWindow",
    "load_state",
    "parse_state",
    "sync_blocked",
]

_POLICY = re.compile(
    r"^\s*p\s*,\s*[^,]+,\s*[^,]+,\s*[^,]+,\s*[^,]+,\s*(allow|deny)\s*$",
)


class StateFileError(BadInput):
    """A state file that cannot be used; the message names the file and the JSON path."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class Account(_Model):
    """A simulated Argo CD account: a fixed API token and/or a login password, and RBAC lines."""

    name: str = Field(min_length=1, max_length=64)
    token: str | None = None
    password: str | None = None
    policies: tuple[str, ...] = ()
    enabled: bool = True

    @field_validator("policies")
    @classmethod
    def _check_policies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for index, line in enumerate(value):
            if not _POLICY.match(line):
                raise ValueError(
                    f"policy {index} is not 'p, <subject>, <resource>, <action>, <object>, "
                    f"allow|deny': {line!r}"
                )
        return value


class BehaviorOutcome(_Model):
    """How one sync attempt ends (the per-revision override of :class:`Behavior`)."""

    seconds: float | None = Field(default=None, ge=0)
    phase: Literal["Succeeded", "Failed", "Error"] | None = None
    health: str | None = None
    message: str | None = None
    fail_attempts: int | None = Field(default=None, ge=0, alias="failAttempts")
    retry_seconds: float | None = Field(default=None, ge=0, alias="retrySeconds")
    health_seconds: float | None = Field(default=None, ge=0, alias="healthSeconds")
    reconcile_seconds: float | None = Field(default=None, ge=0, alias="reconcileSeconds")
    images: tuple[str, ...] | None = None


class Behavior(_Model):
    """What the simulated controller does with a sync of one application."""

    seconds: float = Field(default=1.0, ge=0)
    phase: Literal["Succeeded", "Failed", "Error"] = "Succeeded"
    health: str | None = None
    message: str | None = None
    fail_attempts: int = Field(default=0, ge=0, alias="failAttempts")
    retry_seconds: float | None = Field(default=None, ge=0, alias="retrySeconds")
    health_seconds: float = Field(default=0.0, ge=0, alias="healthSeconds")
    reconcile_seconds: float = Field(default=0.0, ge=0, alias="reconcileSeconds")
    images: tuple[str, ...] | None = None
    by_revision: dict[str, BehaviorOutcome] = Field(default_factory=dict, alias="byRevision")

    def for_revision(self, revision: str) -> Behavior:
        """This behaviour with the ``byRevision`` entry for ``revision`` applied."""
        override = self.by_revision.get(revision)
        if override is None:
            return self
        changes = {k: v for k, v in override.model_dump().items() if v is not None}
        return self.model_copy(update=changes)


class SyncWindow(_Model):
    """A window during which syncs are denied (``deny``) or the only time allowed (``allow``)."""

    kind: Literal["deny", "allow"] = "deny"
    start: float | None = Field(default=None, alias="from")
    until: float | None = None

    @field_validator("start", "until", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        if value is None or isinstance(value, int | float):
            return value
        if isinstance(value, str):
            try:
                return parse_time(value)
            except ValueError as err:
                raise ValueError(f"not an epoch number or ISO 8601 time: {value!r}") from err
        return value

    def active(self, now: float) -> bool:
        """Whether ``now`` lies inside the window."""
        return (self.start is None or self.start <= now) and (
            self.until is None or now < self.until
        )


def sync_blocked(windows: dict[str, tuple[SyncWindow, ...]], app: str, now: float) -> bool:
    """Whether the windows whose key matches ``app`` refuse a sync at ``now``."""
    matching = [w for key, ws in windows.items() if fnmatch.fnmatchcase(app, key) for w in ws]
    if any(w.kind == "deny" and w.active(now) for w in matching):
        return True
    allows = [w for w in matching if w.kind == "allow"]
    return bool(allows) and not any(w.active(now) for w in allows)


class Faults(_Model):
    """Injected failures; see the module docstring for each key."""

    error_rate: float = Field(default=0.0, ge=0, le=1, alias="errorRate")
    latency_ms: float = Field(default=0.0, ge=0, alias="latencyMs")
    status_codes: tuple[int, ...] = Field(default=(503,), alias="statusCodes", min_length=1)
    drop_connections: float = Field(default=0.0, ge=0, le=1, alias="dropConnections")
    drop_watch_after_events: int | None = Field(default=None, ge=0, alias="dropWatchAfterEvents")
    expired_accounts: tuple[str, ...] = Field(default=(), alias="expiredAccounts")
    paths: tuple[str, ...] = ("/api/*",)
    seed: int | None = None
    sync_windows: dict[str, tuple[SyncWindow, ...]] = Field(
        default_factory=dict, alias="syncWindows"
    )
    repo_errors: int = Field(default=0, ge=0, alias="repoErrors")
    repo_error_rate: float = Field(default=0.0, ge=0, le=1, alias="repoErrorRate")
    watch_error_after_events: int | None = Field(default=None, ge=0, alias="watchErrorAfterEvents")
    expire_watch_versions: bool = Field(default=False, alias="expireWatchVersions")

    @field_validator("status_codes")
    @classmethod
    def _codes(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        for code in value:
            if not 400 <= code <= 599:
                raise ValueError(f"status code {code} is not an HTTP error status (400-599)")
        return value

    def applies_to(self, path: str) -> bool:
        """Whether the error, latency and drop faults apply to ``path``."""
        return any(fnmatch.fnmatchcase(path, pattern) for pattern in self.paths)


class Repository(_Model):
    """A Git repository as the repo server sees it: refs (branches, tags, ``HEAD``) and commits."""

    refs: dict[str, str] = Field(default_factory=dict)
    commits: tuple[str, ...] = ()


class _Metadata(_Model):
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=253)
    namespace: str | None = None


class _Spec(_Model):
    project: str = Field(min_length=1)
    destination: dict[str, Any]
    source: dict[str, Any] | None = None
    sources: list[dict[str, Any]] | None = None


class _ApplicationShape(_Model):
    metadata: _Metadata
    spec: _Spec
    status: dict[str, Any] | None = None
    operation: dict[str, Any] | None = None


class _StateShape(_Model):
    version: str = "v3.5.1"
    namespace: str = "argocd"
    session_duration_seconds: float = Field(default=86400.0, gt=0, alias="sessionDurationSeconds")
    accounts: tuple[Account, ...] | None = None
    applications: list[_ApplicationShape]
    managed_resources: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, alias="managedResources"
    )
    resource_trees: dict[str, dict[str, Any]] = Field(default_factory=dict, alias="resourceTrees")
    events: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    revision_metadata: dict[str, dict[str, Any]] = Field(
        default_factory=dict, alias="revisionMetadata"
    )
    sync_behavior: dict[str, Behavior] = Field(default_factory=dict, alias="syncBehavior")
    faults: Faults = Field(default_factory=Faults)
    sync_windows: dict[str, tuple[SyncWindow, ...]] = Field(
        default_factory=dict, alias="syncWindows"
    )
    repositories: dict[str, Repository] = Field(default_factory=dict)
    time_scale: float = Field(default=1.0, gt=0, alias="timeScale")
    projects: dict[str, dict[str, Any]] = Field(default_factory=dict)
    clusters: list[dict[str, Any]] | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    resource_actions: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, alias="resourceActions"
    )
    logs: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)


class SimState(_Model):
    """A validated state: the typed parts plus the applications as Argo CD's JSON dicts."""

    version: str = "v3.5.1"
    namespace: str = "argocd"
    session_duration_seconds: float = 86400.0
    accounts: tuple[Account, ...]
    applications: tuple[dict[str, Any], ...]
    managed_resources: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    resource_trees: dict[str, dict[str, Any]] = Field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    revision_metadata: dict[str, dict[str, Any]] = Field(default_factory=dict)
    sync_behavior: dict[str, Behavior] = Field(default_factory=dict)
    faults: Faults = Field(default_factory=Faults)
    sync_windows: dict[str, tuple[SyncWindow, ...]] = Field(default_factory=dict)
    repositories: dict[str, Repository] = Field(default_factory=dict)
    time_scale: float = 1.0
    projects: dict[str, dict[str, Any]] = Field(default_factory=dict)
    clusters: list[dict[str, Any]] | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    resource_actions: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    logs: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)

    def behavior(self, app: str) -> Behavior:
        """The sync behaviour of ``app`` (defaults: 1 s, Succeeded)."""
        return self.sync_behavior.get(app) or Behavior()


DEFAULT_ADMIN = Account(name="admin", password="admin")


def json_path(loc: tuple[str | int, ...]) -> str:
    """``('applications', 0, 'metadata')`` → ``applications[0].metadata``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def parse_state(data: Any, *, source: str = "state") -> SimState:
    """Validate decoded state data; errors name ``source`` and the JSON path of the problem."""
    if not isinstance(data, dict):
        raise StateFileError(
            f"{source}: (top level): expected an object, got {type(data).__name__}"
        )
    try:
        shape = _StateShape.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(
            p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function"))
        )
        message = first["msg"]
        if first["type"] == "missing":
            message = "field required"
        raise StateFileError(
            f"{source}: {json_path(loc)}: {message} ({len(err.errors())} problem(s) in all)"
        ) from None
    seen: set[tuple[str, str | None]] = set()
    for index, app in enumerate(shape.applications):
        key = (app.metadata.name, app.metadata.namespace)
        if key in seen:
            raise StateFileError(
                f"{source}: applications[{index}].metadata.name: duplicate application "
                f"{app.metadata.name!r}"
            )
        seen.add(key)
    accounts = shape.accounts if shape.accounts else (DEFAULT_ADMIN,)
    names = [a.name for a in accounts]
    if len(set(names)) != len(names):
        raise StateFileError(f"{source}: accounts: duplicate account names")
    return SimState(
        version=shape.version,
        namespace=shape.namespace,
        session_duration_seconds=shape.session_duration_seconds,
        accounts=accounts,
        applications=tuple(data["applications"]),
        managed_resources=shape.managed_resources,
        resource_trees=shape.resource_trees,
        events=shape.events,
        revision_metadata=shape.revision_metadata,
        sync_behavior=shape.sync_behavior,
        faults=shape.faults,
        sync_windows=shape.sync_windows,
        repositories=shape.repositories,
        time_scale=shape.time_scale,
        projects=shape.projects,
        clusters=shape.clusters,
        settings=shape.settings,
        resource_actions=shape.resource_actions,
        logs=shape.logs,
    )


def load_state(path: Path | str) -> SimState:
    """Read a JSON or YAML state file (by extension; otherwise JSON, then YAML)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise StateFileError(f"{path}: cannot read: {err.strerror or err}") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            data = jsonio.loads(raw)
        elif suffix in {".yaml", ".yml"}:
            data = yaml.safe_load(raw)
        else:
            try:
                data = jsonio.loads(raw)
            except jsonio.JSONDecodeError:
                data = yaml.safe_load(raw)
    except (jsonio.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise StateFileError(f"{path}: not valid JSON/YAML: {detail}") from None
    return parse_state(data, source=str(path))
