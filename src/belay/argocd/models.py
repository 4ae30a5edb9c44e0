"""Typed, lenient models of what Belay reads from (and sends to) the Argo CD API.

Argo CD encodes its Go structs with ``encoding/json``: empty fields are omitted, empty structs
come back as ``{}``, times are RFC3339 strings. So every field here is optional with a harmless
default, unknown fields are kept (``extra="allow"``), and attributes are snake_case with the
camelCase wire names as aliases (``app.status.operation_state.phase``).

``Application.raw`` (and every model built by the client, through ``raw``) returns the JSON
exactly as received; ``model_dump(by_alias=True, exclude_unset=True)`` gives the same keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    model_validator,
)
from pydantic.alias_generators import to_camel, to_pascal

__all__ = [
    "Application",
    "ApplicationCondition",
    "ApplicationDestination",
    "ApplicationSource",
    "ApplicationSpec",
    "ApplicationStatus",
    "ApplicationSummary",
    "ApplicationTree",
    "ArgoModel",
    "HealthStatus",
    "Info",
    "KubeEvent",
    "ObjectMeta",
    "ObjectReference",
    "Operation",
    "OperationInitiator",
    "OperationState",
    "ResourceDiff",
    "ResourceNode",
    "ResourceRef",
    "ResourceResult",
    "ResourceStatus",
    "RetryStrategy",
    "RevisionHistory",
    "RevisionMetadata",
    "SyncOperation",
    "SyncOperationResult",
    "SyncPolicy",
    "SyncPolicyAutomated",
    "SyncRequest",
    "SyncResource",
    "SyncStatus",
    "SyncStrategy",
    "UserInfo",
    "VersionInfo",
    "WatchEvent",
]


class ArgoModel(BaseModel):
    """Base of the Argo CD models: camelCase aliases, extra fields kept, raw JSON remembered."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        alias_generator=to_camel,
        arbitrary_types_allowed=False,
    )

    _raw: Any = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_raw(cls, data: Any, handler: Any) -> Any:
        model = handler(data)
        if isinstance(data, dict) and isinstance(model, ArgoModel):
            model._raw = data
        return model

    @property
    def raw(self) -> dict[str, Any]:
        """The JSON object this model was parsed from (or its alias dump when built in code)."""
        if isinstance(self._raw, dict):
            return self._raw
        dumped: dict[str, Any] = self.model_dump(by_alias=True, exclude_unset=True, mode="json")
        return dumped


def _lenient_time(value: Any) -> Any:
    """Accept RFC3339 strings (and datetimes); an empty or unparseable value becomes ``None``."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


Time = Annotated[datetime | None, BeforeValidator(_lenient_time)]
"""An RFC3339 time; ``None`` when absent, null, empty or unparseable (``raw`` keeps the text)."""


class Info(ArgoModel):
    """A ``{name, value}`` pair (operation infos, resource node infos, spec info)."""

    name: str = ""
    value: str = ""


class ObjectMeta(ArgoModel):
    """Kubernetes object metadata (only the fields Belay reads are typed)."""

    name: str = ""
    namespace: str = ""
    uid: str = ""
    resource_version: str = ""
    generation: int | None = None
    creation_timestamp: Time = None
    deletion_timestamp: Time = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    finalizers: list[str] = Field(default_factory=list)


class ApplicationSource(ArgoModel):
    """Where manifests come from: a Git path, a Helm chart, a plugin, ..."""

    repo_url: str = Field(default="", alias="repoURL")
    path: str = ""
    target_revision: str = ""
    chart: str = ""
    ref: str = ""
    name: str = ""


class ApplicationDestination(ArgoModel):
    """The cluster (by ``server`` URL or ``name``) and namespace an application deploys to."""

    server: str = ""
    name: str = ""
    namespace: str = ""


class RetryStrategy(ArgoModel):
    """Sync retry settings: ``limit`` and ``backoff`` ``{duration, factor, maxDuration}``."""

    limit: int | None = None
    backoff: dict[str, Any] | None = None
    refresh: bool | None = None


class SyncPolicyAutomated(ArgoModel):
    """Auto-sync settings; present (even as ``{}``) when auto-sync is on."""

    prune: bool = False
    self_heal: bool = False
    allow_empty: bool = False
    enabled: bool | None = None


class SyncPolicy(ArgoModel):
    """``spec.syncPolicy``."""

    automated: SyncPolicyAutomated | None = None
    sync_options: list[str] = Field(default_factory=list)
    retry: RetryStrategy | None = None


class ApplicationSpec(ArgoModel):
    """``spec``: project, destination, source(s) and sync policy."""

    project: str = ""
    destination: ApplicationDestination = Field(default_factory=ApplicationDestination)
    source: ApplicationSource | None = None
    sources: list[ApplicationSource] = Field(default_factory=list)
    sync_policy: SyncPolicy | None = None
    ignore_differences: list[dict[str, Any]] = Field(default_factory=list)
    info: list[Info] = Field(default_factory=list)
    revision_history_limit: int | None = None

    @property
    def auto_sync(self) -> bool:
        """True when ``syncPolicy.automated`` is set and not explicitly disabled."""
        automated = self.sync_policy.automated if self.sync_policy else None
        return automated is not None and automated.enabled is not False


class SyncStatus(ArgoModel):
    """``status.sync``: ``Synced | OutOfSync | Unknown`` (``""`` before the first comparison)."""

    status: str = ""
    revision: str = ""
    revisions: list[str] = Field(default_factory=list)
    compared_to: dict[str, Any] = Field(default_factory=dict)


class HealthStatus(ArgoModel):
    """Health: ``Healthy | Progressing | Degraded | Suspended | Missing | Unknown`` or ``""``."""

    status: str = ""
    message: str = ""
    last_transition_time: Time = None


class ApplicationSummary(ArgoModel):
    """``status.summary``: images and external URLs of the live resources."""

    images: list[str] = Field(default_factory=list)
    external_urls: list[str] = Field(default_factory=list, alias="externalURLs")
    is_app_of_apps: bool | None = None


class ApplicationCondition(ArgoModel):
    """``status.conditions[]``: ``ComparisonError``, ``SyncError``, ... with a message."""

    type: str = ""
    message: str = ""
    last_transition_time: Time = None


class ResourceStatus(ArgoModel):
    """``status.resources[]``: one managed resource's sync status and (on Get) health."""

    group: str = ""
    version: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    status: str = ""
    health: HealthStatus | None = None
    hook: bool = False
    requires_pruning: bool = False
    sync_wave: int | None = None
    requires_deletion_confirmation: bool = False


class OperationInitiator(ArgoModel):
    """Who started an operation: a ``username`` or ``automated: true``."""

    username: str = ""
    automated: bool = False


class SyncStrategy(ArgoModel):
    """``{"apply": {"force": bool}}`` or ``{"hook": {"force": bool}}``."""

    apply: dict[str, Any] | None = None
    hook: dict[str, Any] | None = None


class SyncResource(ArgoModel):
    """A resource selected for a partial sync; ``group`` is ``""`` for the core group."""

    group: str = ""
    kind: str
    name: str
    namespace: str = ""


class SyncOperation(ArgoModel):
    """``operation.sync``: what a sync was asked to do."""

    revision: str = ""
    revisions: list[str] = Field(default_factory=list)
    prune: bool = False
    dry_run: bool = False
    sync_strategy: SyncStrategy | None = None
    resources: list[SyncResource] = Field(default_factory=list)
    source: ApplicationSource | None = None
    sources: list[ApplicationSource] = Field(default_factory=list)
    sync_options: list[str] = Field(default_factory=list)
    manifests: list[str] = Field(default_factory=list)


class Operation(ArgoModel):
    """The top-level ``operation`` (pending or running) and ``operationState.operation``."""

    sync: SyncOperation | None = None
    initiated_by: OperationInitiator = Field(default_factory=OperationInitiator)
    info: list[Info] = Field(default_factory=list)
    retry: RetryStrategy = Field(default_factory=RetryStrategy)

    def info_value(self, name: str) -> str | None:
        """The value of the ``info`` entry called ``name`` (our correlation id), or ``None``."""
        return next((item.value for item in self.info if item.name == name), None)


class ResourceResult(ArgoModel):
    """``syncResult.resources[]``: what happened to one resource (or hook) during a sync."""

    group: str = ""
    version: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    status: str = ""
    message: str = ""
    hook_type: str = ""
    hook_phase: str = ""
    sync_phase: str = ""
    images: list[str] = Field(default_factory=list)


class SyncOperationResult(ArgoModel):
    """``operationState.syncResult``: the revision synced and per-resource results."""

    revision: str = ""
    revisions: list[str] = Field(default_factory=list)
    source: ApplicationSource | None = None
    sources: list[ApplicationSource] = Field(default_factory=list)
    resources: list[ResourceResult] = Field(default_factory=list)


class OperationState(ArgoModel):
    """``status.operationState``: ``Running | Terminating | Failed | Error | Succeeded``."""

    operation: Operation = Field(default_factory=Operation)
    phase: str = ""
    message: str = ""
    sync_result: SyncOperationResult | None = None
    started_at: Time = None
    finished_at: Time = None
    retry_count: int = 0

    @property
    def completed(self) -> bool:
        """True when the phase is final (``Succeeded``, ``Failed`` or ``Error``)."""
        return self.phase in ("Succeeded", "Failed", "Error")


class RevisionHistory(ArgoModel):
    """``status.history[]``: one successful full sync (oldest first)."""

    id: int = 0
    revision: str = ""
    revisions: list[str] = Field(default_factory=list)
    deployed_at: Time = None
    deploy_started_at: Time = None
    source: ApplicationSource | None = None
    sources: list[ApplicationSource] = Field(default_factory=list)
    initiated_by: OperationInitiator | None = None


class ApplicationStatus(ArgoModel):
    """``status``: sync, health, operation state, history, conditions, resources, summary."""

    sync: SyncStatus = Field(default_factory=SyncStatus)
    health: HealthStatus = Field(default_factory=HealthStatus)
    operation_state: OperationState | None = None
    history: list[RevisionHistory] = Field(default_factory=list)
    conditions: list[ApplicationCondition] = Field(default_factory=list)
    resources: list[ResourceStatus] = Field(default_factory=list)
    summary: ApplicationSummary = Field(default_factory=ApplicationSummary)
    reconciled_at: Time = None
    observed_at: Time = None
    source_type: str = ""
    source_types: list[str] = Field(default_factory=list)
    controller_namespace: str = ""
    resource_health_source: str = ""


class Application(ArgoModel):
    """An Argo CD Application as the API returns it."""

    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ApplicationSpec = Field(default_factory=ApplicationSpec)
    status: ApplicationStatus = Field(default_factory=ApplicationStatus)
    operation: Operation | None = None

    @property
    def name(self) -> str:
        """``metadata.name``."""
        return self.metadata.name

    @property
    def project(self) -> str:
        """``spec.project``."""
        return self.spec.project


class ResourceDiff(ArgoModel):
    """One item of ``managed-resources``; the states are JSON strings, ``"null"`` when absent."""

    group: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    target_state: str = ""
    live_state: str = ""
    normalized_live_state: str = ""
    predicted_live_state: str = ""
    diff: str = ""
    modified: bool = False
    hook: bool = False
    resource_version: str = ""


class ResourceRef(ArgoModel):
    """``{group, version, kind, namespace, name, uid}``."""

    group: str = ""
    version: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    uid: str = ""


class ResourceNode(ResourceRef):
    """A node of the resource tree: a ref plus parents, health, images, infos."""

    parent_refs: list[ResourceRef] = Field(default_factory=list)
    info: list[Info] = Field(default_factory=list)
    networking_info: dict[str, Any] | None = None
    resource_version: str = ""
    images: list[str] = Field(default_factory=list)
    health: HealthStatus | None = None
    created_at: Time = None


class ApplicationTree(ArgoModel):
    """``resource-tree``: the live resources of an application and their children."""

    nodes: list[ResourceNode] = Field(default_factory=list)
    orphaned_nodes: list[ResourceNode] = Field(default_factory=list)
    hosts: list[dict[str, Any]] = Field(default_factory=list)
    shards_count: int | None = None


class RevisionMetadata(ArgoModel):
    """Commit metadata of a revision: author, date, tags, message."""

    author: str = ""
    date: Time = None
    tags: list[str] = Field(default_factory=list)
    message: str = ""
    signature_info: str = ""
    references: list[dict[str, Any]] = Field(default_factory=list)


class ObjectReference(ArgoModel):
    """``involvedObject`` of a Kubernetes event."""

    kind: str = ""
    name: str = ""
    namespace: str = ""
    uid: str = ""
    api_version: str = ""
    resource_version: str = ""
    field_path: str = ""


class KubeEvent(ArgoModel):
    """A Kubernetes Event about the application (``OperationStarted``, ``ResourceUpdated``...)."""

    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    involved_object: ObjectReference = Field(default_factory=ObjectReference)
    reason: str = ""
    message: str = ""
    source: dict[str, Any] = Field(default_factory=dict)
    first_timestamp: Time = None
    last_timestamp: Time = None
    event_time: Time = None
    count: int = 0
    type: str = ""
    action: str = ""
    reporting_component: str = ""
    reporting_instance: str = ""


class WatchEvent(ArgoModel):
    """One event of the watch stream: ``ADDED``, ``MODIFIED`` or ``DELETED`` and the app."""

    type: str = ""
    application: Application = Field(default_factory=Application)


class VersionInfo(ArgoModel):
    """``/api/version`` (capitalised keys on the wire; only ``Version`` without a session)."""

    model_config = ConfigDict(alias_generator=to_pascal)

    version: str = ""
    build_date: str = ""
    git_commit: str = ""
    git_tag: str = ""
    git_tree_state: str = ""
    go_version: str = ""
    compiler: str = ""
    platform: str = ""
    kustomize_version: str = ""
    helm_version: str = ""
    jsonnet_version: str = ""
    kubectl_version: str = ""
    extra_build_info: str = ""


class UserInfo(ArgoModel):
    """``/api/v1/session/userinfo``: ``{}`` (not logged in) or ``loggedIn``, ``username``..."""

    logged_in: bool = False
    username: str = ""
    iss: str = ""
    groups: list[str] = Field(default_factory=list)


class SyncRequest(ArgoModel):
    """The body of ``POST .../sync``; :meth:`to_wire` renders it with Argo CD's field names.

    ``sync_options`` is a list here and ``{"items": [...]}`` on the wire; ``infos`` are
    ``{name, value}`` pairs echoed back in the operation (use one to correlate your sync).
    """

    revision: str | None = None
    revisions: list[str] | None = None
    source_positions: list[int] | None = None
    prune: bool | None = None
    dry_run: bool | None = None
    strategy: SyncStrategy | None = None
    sync_options: list[str] | None = None
    resources: list[SyncResource] | None = None
    infos: list[Info] | None = Field(default=None, validation_alias=AliasChoices("infos", "info"))
    retry_strategy: RetryStrategy | None = None

    @classmethod
    def hook(cls, *, force: bool = False, **fields: Any) -> SyncRequest:
        """A request with the hook strategy (what the Argo CD CLI sends by default)."""
        return cls(strategy=SyncStrategy(hook={"force": True} if force else {}), **fields)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body with Argo CD's names, omitting unset fields."""
        body: dict[str, Any] = self.model_dump(
            by_alias=True, exclude_none=True, exclude_unset=True, mode="json"
        )
        if "syncOptions" in body:
            body["syncOptions"] = {"items": body["syncOptions"]}
        return body
