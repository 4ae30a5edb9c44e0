"""Investigations: an alert in, Argo CD evidence and deterministic findings out.

Ports and adapters: :mod:`~belay.investigate.alerts` (pure parsing), :mod:`~.status` and
:mod:`~.diff` (pure evidence shaping), :mod:`~.evidence` (the two evidence tools over the Argo CD
client), :mod:`~.rules` (pure rule table), :mod:`~.render` (text, Markdown, JSON) and
:mod:`~.engine` (the one entry point the CLI and the HTTP API call).
"""

from __future__ import annotations

from belay.investigate.alerts import (
    AlertParseError,
    parse_alert,
    parse_alert_bytes,
    parse_notification,
    parse_notification_bytes,
)
from belay.investigate.engine import (
    InstanceClientFactory,
    investigate,
    investigate_alerts,
    select_instance,
)
from belay.investigate.gate_records import store_gate_lookup
from belay.investigate.models import (
    FINDING_KINDS,
    Alert,
    FindingKind,
    InvestigationFinding,
    InvestigationReport,
    InvestigationSettings,
    Severity,
)
from belay.investigate.render import (
    render,
    render_json,
    render_many,
    render_markdown,
    render_text,
)

__all__ = [
    "FINDING_KINDS",
    "Alert",
    "AlertParseError",
    "FindingKind",
    "InstanceClientFactory",
    "InvestigationFinding",
    "InvestigationReport",
    "InvestigationSettings",
    "Severity",
    "investigate",
    "investigate_alerts",
    "parse_alert",
    "parse_alert_bytes",
    "parse_notification",
    "parse_notification_bytes",
    "render",
    "render_json",
    "render_many",
    "render_markdown",
    "render_text",
    "select_instance",
    "store_gate_lookup",
]
