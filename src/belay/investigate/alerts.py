"""Alert parsing (pure): raw JSON of any supported shape → one typed :class:`Alert`.

Supported shapes:

* **documented**: one flat alert object with ``alert_name`` (or ``alertname``/``title``),
  ``annotations`` and top-level fields such as ``argocd_application`` or ``revision``;
* **alertmanager**: Alertmanager's webhook (``alerts[]`` with ``labels``, ``annotations``,
  ``startsAt``, plus ``commonLabels``/``commonAnnotations``);
* **grafana**: Grafana's unified-alerting webhook (Alertmanager-like, with ``orgId``, ``title``,
  ``state``) and its legacy webhook (``ruleName``, ``evalMatches``, ``tags``).

:func:`parse_notification` returns every alert of a payload (Alertmanager groups them), each with
the group's common labels merged under its own; :func:`parse_alert` returns the first firing one
(the first one when none fires). Anything else raises :class:`AlertParseError` (a
:class:`BadInput`, CLI exit 2) whose message is one line naming the problem.

Labels that name the application (the first present wins; Prometheus label names cannot hold
dots or slashes, so kube-state-metrics and recording rules rewrite Argo CD's tracking label):
:data:`APP_LABELS`. Alerts on Argo CD's own metrics (``argocd_app_info`` and kin) carry the app
as ``name``, the control plane's namespace as ``namespace`` and the destination as
``dest_namespace``; they are recognised by :data:`METRIC_LABELS` or an ``argocd`` job.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from belay.errors import BadInput
from belay.investigate.models import Alert
from belay.jsonio import JSONDecodeError, loads

__all__ = [
    "APP_LABELS",
    "GITOPS_HINTS",
    "METRIC_LABELS",
    "AlertParseError",
    "parse_alert",
    "parse_alert_bytes",
    "parse_notification",
    "parse_notification_bytes",
    "parse_time",
]

GITOPS_HINTS: tuple[str, ...] = ("argocd", "argo cd", "argo-cd", "gitops", "outofsync")
"""Words (case-insensitive substrings) that tie an alert to GitOps; ``outofsync`` covers
``outofsynced``."""

_APP_KEYS = ("argocd_application", "argocd_app")
_REVISION_KEYS = ("argocd_revision", "revision")
APP_LABELS: tuple[str, ...] = (
    "argocd_argoproj_io_instance",
    "label_argocd_argoproj_io_instance",
    "argocd.argoproj.io/instance",
    "app_kubernetes_io_instance",
    "label_app_kubernetes_io_instance",
    "app.kubernetes.io/instance",
)
"""Labels whose value is the application's name under Argo CD's tracking label: the recording-rule
form, kube-state-metrics' ``label_`` form (``kube_pod_labels``), and the Kubernetes label itself
(only possible in the documented JSON shape, not in a Prometheus label)."""
METRIC_LABELS: tuple[str, ...] = (
    "dest_namespace",
    "dest_server",
    "sync_status",
    "health_status",
    "autosync_enabled",
)
"""Labels only Argo CD's application metrics carry: with one of them, ``name`` is the app."""
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")


class AlertParseError(BadInput):
    """The alert payload is empty, not JSON, or none of the known shapes."""


def parse_alert_bytes(data: bytes | str, *, origin: str = "alert") -> Alert:
    """Parse an alert from raw bytes (a file or a request body); ``origin`` names it in errors."""
    return parse_alert(_decode(data, origin), origin=origin)


def _decode(data: bytes | str, origin: str) -> Any:
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    if not text.strip():
        raise AlertParseError(f"{origin}: the alert is empty")
    if "\x00" in text or "\\u0000" in text:
        # No label or annotation holds one, and PostgreSQL refuses it in the stored report.
        raise AlertParseError(f"{origin}: the alert holds a NUL character")
    try:
        return loads(text)
    except JSONDecodeError as err:
        raise AlertParseError(f"{origin}: not valid JSON ({_first_line(str(err))})") from None


def parse_notification_bytes(data: bytes | str, *, origin: str = "alert") -> tuple[Alert, ...]:
    """Every alert of a payload in raw bytes (see :func:`parse_notification`)."""
    return parse_notification(_decode(data, origin), origin=origin)


def parse_notification(raw: Any, *, origin: str = "alert") -> tuple[Alert, ...]:
    """Every alert of decoded alert JSON, in payload order (one for the single-alert shapes)."""
    _check_object(raw, origin)
    if isinstance(raw.get("alerts"), list):
        return _webhook_alerts(raw, origin)
    return (parse_alert(raw, origin=origin),)


def _check_object(raw: Any, origin: str) -> None:
    if not isinstance(raw, Mapping):
        raise AlertParseError(
            f"{origin}: expected a JSON object, got {_json_type(raw)}"
            " (known shapes: alert_name + annotations, Alertmanager or Grafana webhook)"
        )


def parse_alert(raw: Any, *, origin: str = "alert") -> Alert:
    """Turn decoded alert JSON into an :class:`Alert`, or raise :class:`AlertParseError`."""
    _check_object(raw, origin)
    if isinstance(raw.get("alerts"), list):
        return _from_webhook(raw, origin)
    if "ruleName" in raw or "evalMatches" in raw:
        return _from_grafana_legacy(raw)
    if _looks_documented(raw):
        return _from_documented(raw)
    raise AlertParseError(
        f"{origin}: not a known alert shape (expected alert_name/annotations, "
        "Alertmanager's alerts[] or Grafana's webhook)"
    )


def _looks_documented(raw: Mapping[str, Any]) -> bool:
    keys = {"alert_name", "alertname", "annotations", "argocd_application", "argocd_app"}
    return bool(keys & set(raw)) or ("title" in raw and ("message" in raw or "labels" in raw))


def _from_documented(raw: Mapping[str, Any]) -> Alert:
    labels = _str_map(raw.get("labels"))
    annotations = _str_map(raw.get("annotations"))
    name = _first_str(raw, ("alert_name", "alertname", "title", "name")) or labels.get(
        "alertname", ""
    )
    return _build(
        source="documented",
        name=name,
        status=_first_str(raw, ("status", "state")),
        severity=_first_str(raw, ("severity",)) or labels.get("severity", ""),
        summary=_first_str(raw, ("summary", "message")) or annotations.get("summary", ""),
        description=_first_str(raw, ("description",)) or annotations.get("description", ""),
        labels=labels,
        annotations=annotations,
        starts_at=_first_time(raw, ("startsAt", "starts_at", "fired_at", "timestamp")),
        top=raw,
        count=1,
    )


def _from_webhook(raw: Mapping[str, Any], origin: str) -> Alert:
    alerts = _webhook_alerts(raw, origin)
    firing = [a for a in alerts if not a.resolved]
    return (firing or list(alerts))[0]


def _webhook_alerts(raw: Mapping[str, Any], origin: str) -> tuple[Alert, ...]:
    alerts = [a for a in raw["alerts"] if isinstance(a, Mapping)]
    if not alerts:
        raise AlertParseError(f"{origin}: the webhook's alerts[] holds no alert")
    return tuple(_webhook_alert(raw, chosen, len(alerts)) for chosen in alerts)


def _webhook_alert(raw: Mapping[str, Any], chosen: Mapping[str, Any], count: int) -> Alert:
    is_grafana = (
        "orgId" in raw
        or "state" in raw
        or any(k in chosen for k in ("valueString", "dashboardURL", "panelURL", "values"))
    )
    labels = {**_str_map(raw.get("commonLabels")), **_str_map(chosen.get("labels"))}
    annotations = {
        **_str_map(raw.get("commonAnnotations")),
        **_str_map(chosen.get("annotations")),
    }
    return _build(
        source="grafana" if is_grafana else "alertmanager",
        name=labels.get("alertname", "") or _first_str(raw, ("title",)),
        status=_first_str(chosen, ("status",)) or _first_str(raw, ("status",)),
        severity=labels.get("severity", ""),
        summary=annotations.get("summary", "") or _first_str(raw, ("message",)),
        description=annotations.get("description", ""),
        labels=labels,
        annotations=annotations,
        starts_at=_first_time(chosen, ("startsAt",)),
        top=raw,
        count=count,
        fingerprint=_first_str(chosen, ("fingerprint",)),
        ends_at=_first_time(chosen, ("endsAt",)),
    )


def _from_grafana_legacy(raw: Mapping[str, Any]) -> Alert:
    labels = _str_map(raw.get("tags"))
    return _build(
        source="grafana_legacy",
        name=_first_str(raw, ("ruleName", "title")),
        status=_first_str(raw, ("state",)),
        severity=labels.get("severity", ""),
        summary=_first_str(raw, ("message", "title")),
        description="",
        labels=labels,
        annotations={},
        starts_at=None,
        top=raw,
        count=1,
    )


def _build(
    *,
    source: str,
    name: str,
    status: str,
    severity: str,
    summary: str,
    description: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    starts_at: datetime | None,
    top: Mapping[str, Any],
    count: int,
    fingerprint: str = "",
    ends_at: datetime | None = None,
) -> Alert:
    """Look up the GitOps fields (top level, then annotations, then labels) and build the alert."""
    scopes: list[tuple[str, Mapping[str, Any]]] = [
        ("", top),
        ("annotations.", annotations),
        ("labels.", labels),
    ]
    app, app_from = _lookup(scopes, _APP_KEYS)
    if app is None:
        app, app_from = _lookup([("annotations.", annotations)], ("application_name",))
    metric = _is_argocd_metric(labels)
    if app is None:
        for label in APP_LABELS:
            value = labels.get(label, "").strip()
            if value and _NAME_RE.match(value):
                app, app_from = value, f"labels.{label}"
                break
    if app is None and metric:
        value = labels.get("name", "").strip()
        if value and _NAME_RE.match(value):
            app, app_from = value, "labels.name"
    revision, _ = _lookup(scopes, _REVISION_KEYS)
    project, _ = _lookup(scopes, ("argocd_project",))
    app_ns, _ = _lookup(scopes, ("argocd_app_namespace",))
    instance, _ = _lookup(scopes, ("argocd_instance",))
    namespace = labels.get("namespace") or labels.get("exported_namespace") or None
    if metric:
        # Argo CD's metrics: `namespace` is where the Application lives, `dest_namespace` where
        # it deploys, `project` its project.
        project = project or labels.get("project", "").strip() or None
        app_ns = app_ns or namespace
        namespace = labels.get("dest_namespace", "").strip() or None
    texts: list[str] = [name, summary, description, *annotations.values(), *labels.values()]
    texts.extend(f"{k}" for k in labels if k.startswith("argocd."))
    texts.extend(v for v in (top.get("message"), top.get("title")) if isinstance(v, str))
    hints = _hints(texts)
    if project is None and hints and labels.get("project", "").strip():
        # `project` is too common a label name to trust alone; with GitOps words it is Argo CD's.
        project = labels["project"].strip()
    return Alert(
        source=source,
        name=name,
        status=status,
        severity=severity,
        summary=summary,
        description=description,
        labels=labels,
        annotations=annotations,
        starts_at=starts_at,
        application=app,
        application_from=app_from,
        revision=revision,
        project=project,
        app_namespace=app_ns,
        instance=instance,
        namespace=namespace,
        gitops_hints=hints,
        alert_count=count,
        fingerprint=fingerprint or _fingerprint(labels, name),
        ends_at=ends_at,
        argocd_metric=metric,
    )


def _is_argocd_metric(labels: Mapping[str, str]) -> bool:
    """Labels of Argo CD's application metrics (``argocd_app_info``, ``argocd_app_sync_total``)."""
    if any(key in labels for key in METRIC_LABELS):
        return True
    job = " ".join(labels.get(k, "") for k in ("job", "service", "container")).lower()
    return "argocd" in job and "name" in labels


def _fingerprint(labels: Mapping[str, str], name: str) -> str:
    """A stable stand-in for Alertmanager's fingerprint: a hash of the sorted labels."""
    pairs = sorted({**labels, "alertname": labels.get("alertname", name)}.items())
    text = "\x00".join(f"{k}\x01{v}" for k, v in pairs)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _lookup(
    scopes: Iterable[tuple[str, Mapping[str, Any]]], keys: Iterable[str]
) -> tuple[str | None, str | None]:
    keys = tuple(keys)
    for prefix, mapping in scopes:
        for key in keys:
            value = mapping.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool):
                # Names are at most 253 characters and revisions far less: a megabyte of
                # "revision" would otherwise be copied into every line of the report.
                text = str(value).strip()[:_MAX_FIELD]
                if text:
                    return text, f"{prefix}{key}"
    return None, None


_MAX_FIELD = 512


def _hints(texts: Iterable[str]) -> tuple[str, ...]:
    blob = " ".join(t for t in texts if t).lower()
    return tuple(h for h in GITOPS_HINTS if h in blob)


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {
        str(k): str(v)
        for k, v in value.items()
        if isinstance(v, str | int | float) and not isinstance(v, bool)
    }


def _first_str(raw: Mapping[str, Any], keys: Iterable[str]) -> str:
    for key in keys:
        value = raw.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _first_time(raw: Mapping[str, Any], keys: Iterable[str]) -> datetime | None:
    for key in keys:
        value = raw.get(key)
        parsed = parse_time(value)
        if parsed is not None:
            return parsed
    return None


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 string (or epoch seconds) as an aware datetime; ``None`` when unusable.

    Alertmanager sends ``0001-01-01T00:00:00Z`` for "no time": that is treated as missing.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python 3.11 accepts up to 6 fractional digits; Go sends up to 9.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.year <= 1:
        return None
    return parsed


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "null"
    return type(value).__name__


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else "decode error"
