"""Drift (pure): Argo CD's managed-resources items → sanitized diff records.

A resource differs the way ``argocd app diff`` decides it: when Argo CD marks it ``modified``,
or when exactly one side exists — in git but not live (``missing``), or live but not in git
(``extraneous``, which Argo CD reports with ``modified: false``). Hooks and extraneous objects
annotated ``argocd.argoproj.io/compare-options: IgnoreExtraneous`` are skipped, as the CLI does.

The readable diff compares ``normalizedLiveState`` (ignoreDifferences and defaults applied) with
``predictedLiveState`` (the target applied), both already normalized by Argo CD, so a field under
``ignoreDifferences`` (a replica count managed by an HPA) never shows as drift.

Redaction is by value, not by resource: a ``Secret`` (any kind whose name contains "secret")
has its whole diff withheld; any other object keeps its diff with secret-looking values masked
(keys that name a secret, ``env`` entries whose name does, known secrets and secret shapes).
References such as ``secretKeyRef`` or ``secretName`` stay visible. Each diff is cut at
``max_chars`` after redaction.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field

from belay.investigate.models import DiffEvidence, DiffRecord
from belay.investigate.sanitize import Masker, redact_diff_text, sanitize_object
from belay.jsonio import JSONDecodeError, loads
from belay.redact import REDACTED

__all__ = [
    "SECRET_DIFF_PLACEHOLDER",
    "ManagedResource",
    "ResourceDiffLike",
    "build_diff_evidence",
]

SECRET_DIFF_PLACEHOLDER = f"{REDACTED} (a {{kind}}'s diff is never shown; only that it differs)"

_COMPARE_OPTIONS = "argocd.argoproj.io/compare-options"


class ResourceDiffLike(Protocol):
    """What the diff needs of one managed-resources item (the client's ``ResourceDiff`` fits)."""

    @property
    def group(self) -> str | None: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def namespace(self) -> str | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def target_state(self) -> str | None: ...
    @property
    def live_state(self) -> str | None: ...
    @property
    def normalized_live_state(self) -> str | None: ...
    @property
    def predicted_live_state(self) -> str | None: ...
    @property
    def modified(self) -> bool | None: ...
    @property
    def hook(self) -> bool | None: ...


class ManagedResource(BaseModel):
    """A managed-resources item read from Argo CD's wire JSON (for tests and fixtures)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    group: str | None = ""
    kind: str | None = ""
    namespace: str | None = ""
    name: str | None = ""
    target_state: str | None = Field(default=None, alias="targetState")
    live_state: str | None = Field(default=None, alias="liveState")
    normalized_live_state: str | None = Field(default=None, alias="normalizedLiveState")
    predicted_live_state: str | None = Field(default=None, alias="predictedLiveState")
    modified: bool | None = False
    hook: bool | None = False


def build_diff_evidence(
    items: Iterable[ResourceDiffLike],
    *,
    instance: str,
    application: str,
    max_chars: int = 10_000,
) -> DiffEvidence:
    """Compare each item's normalized live and predicted state; keep the drifted ones."""
    records: list[DiffRecord] = []
    compared = 0
    for item in items:
        if item.hook:
            continue
        compared += 1
        record = _diff_one(item, max_chars=max_chars)
        if record is not None:
            records.append(record)
    records.sort(key=lambda r: (r.group, r.kind, r.namespace, r.name))
    return DiffEvidence(
        instance=instance,
        application=application,
        drift_detected=bool(records),
        diff_count=len(records),
        diffs=tuple(records),
        resources_compared=compared,
    )


def _diff_one(item: ResourceDiffLike, *, max_chars: int) -> DiffRecord | None:
    target = _state(item.target_state)
    live = _state(item.normalized_live_state)
    if live is None:
        live = _state(item.live_state)
    predicted = _state(item.predicted_live_state)
    if target is None and live is None:
        return None
    if target is not None and live is None:
        change = "missing"
    elif target is None:
        if _ignores_extraneous(live):
            return None
        change = "extraneous"
    elif item.modified:
        change = "modified"
    else:
        return None
    kind = item.kind or ""
    base = DiffRecord(
        group=item.group or "",
        kind=kind,
        namespace=item.namespace or "",
        name=item.name or "",
        change=change,
    )
    if "secret" in kind.lower():
        return base.model_copy(
            update={"diff": SECRET_DIFF_PLACEHOLDER.format(kind=kind), "redacted": True}
        )
    desired = predicted if predicted is not None else target
    text = _unified(live, desired if change != "extraneous" else None, base)
    text = redact_diff_text(text)
    truncated = len(text) > max_chars
    if truncated:
        text = text[:max_chars] + f"\n... (diff cut at {max_chars} characters)"
    return base.model_copy(update={"diff": text, "truncated": truncated})


def _unified(live: Any, desired: Any, record: DiffRecord) -> str:
    key = f"{record.group}/{record.kind}" if record.group else record.kind
    where = f"{record.namespace}/{record.name}" if record.namespace else record.name
    masker = Masker()  # one for both sides: a changed secret shows as changed, never its value
    before = _dump(sanitize_object(live, masker)) if live is not None else []
    after = _dump(sanitize_object(desired, masker)) if desired is not None else []
    lines = difflib.unified_diff(
        before, after, fromfile=f"live {key} {where}", tofile=f"desired {key} {where}", n=3
    )
    return "".join(lines)


def _dump(obj: Any) -> list[str]:
    text = yaml.safe_dump(obj, sort_keys=True, default_flow_style=False, allow_unicode=True)
    return text.splitlines(keepends=True)


def _ignores_extraneous(live: Any) -> bool:
    if not isinstance(live, Mapping):
        return False
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    if not isinstance(annotations, Mapping):
        return False
    options = str(annotations.get(_COMPARE_OPTIONS, ""))
    return "IgnoreExtraneous" in options


def _state(raw: str | None) -> Any:
    """Parse a JSON-string state; Argo CD's literal ``"null"`` (and junk) means absent."""
    if raw is None or not raw.strip():
        return None
    try:
        value = loads(raw)
    except JSONDecodeError:
        return None
    return value if isinstance(value, Mapping) else None
