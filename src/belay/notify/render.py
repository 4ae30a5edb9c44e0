"""Rendering of an :class:`~belay.notify.model.OutgoingAlert` for each channel: pure functions.

Every message carries the same facts: application, revision, decision id, what happened, Argo
CD's operation message, the failed resources and the link to the submission's page. Each
rendering is passed through :mod:`belay.redact` once more at the end, so a secret that reached an
alert by an unexpected path still never leaves Belay.
"""

from __future__ import annotations

from typing import Any

from belay.notify.model import OutgoingAlert
from belay.redact import redact_data, redact_text

__all__ = [
    "MAX_FAILED_RESOURCES",
    "MAX_MESSAGE_CHARS",
    "email_subject",
    "facts",
    "render_markdown",
    "render_slack",
    "render_text",
    "render_webhook",
]

MAX_FAILED_RESOURCES = 20
"""More failed resources than this are summarised as "and N more" (chat messages stay short)."""
MAX_MESSAGE_CHARS = 1000
"""Argo CD's operation message is cut to this many characters."""

_ICONS = {"error": ":red_circle:", "warning": ":warning:", "info": ":information_source:"}


def _cut(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _resources(alert: OutgoingAlert) -> list[str]:
    shown = list(alert.failed_resources[:MAX_FAILED_RESOURCES])
    extra = len(alert.failed_resources) - len(shown)
    if extra > 0:
        shown.append(f"and {extra} more")
    return shown


def facts(alert: OutgoingAlert) -> list[tuple[str, str]]:
    """The labelled facts of an alert, in display order; absent facts are left out."""
    rows: list[tuple[str, str]] = []
    pairs = (
        ("Application", alert.application),
        ("Instance", alert.instance),
        ("Argo CD project", alert.project),
        ("Revision", alert.revision),
        ("Decision", alert.decision_id),
        ("Job", alert.job_id),
        ("Argo CD message", _cut(alert.operation_message) if alert.operation_message else None),
    )
    rows.extend((label, value) for label, value in pairs if value)
    if alert.failed_resources:
        rows.append(("Failed resources", ", ".join(_resources(alert))))
    if alert.link:
        rows.append(("Details", alert.link))
    return rows


def email_subject(alert: OutgoingAlert) -> str:
    """The subject line of an alert e-mail (one line, never longer than 200 characters)."""
    return _cut(redact_text(f"[Belay] {alert.title}").replace("\n", " "), 200)


def render_text(alert: OutgoingAlert) -> str:
    """The plain-text body (e-mail and the generic webhook's ``text``)."""
    lines = [alert.title, "", alert.what_happened, ""]
    lines += [f"{label}: {value}" for label, value in facts(alert)]
    lines += ["", f"Event: {alert.event.value} at {alert.occurred_at.isoformat()}"]
    return redact_text("\n".join(lines))


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(alert: OutgoingAlert) -> str:
    """Mattermost's Markdown: a bold title, the explanation and a two-column table of facts."""
    lines = [f"#### {alert.title}", "", alert.what_happened, ""]
    rows = facts(alert)
    if rows:
        lines += ["| | |", "|:--|:--|"]
        for label, value in rows:
            shown = f"[{value}]({value})" if label == "Details" else f"`{value}`"
            if label in ("Argo CD message", "Failed resources"):
                shown = _md_escape(value)
            lines.append(f"| {label} | {shown} |")
    return redact_text("\n".join(lines))


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_slack(alert: OutgoingAlert) -> dict[str, Any]:
    """A Slack incoming-webhook body: ``text`` (notifications, fallback) plus Block Kit blocks."""
    icon = _ICONS.get(alert.severity, "")
    title = _slack_escape(alert.title)
    lines = []
    for label, value in facts(alert):
        if label == "Details":
            lines.append(f"*{label}:* <{value}|open in Belay>")
        else:
            lines.append(f"*{label}:* {_slack_escape(value)}")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(alert.title, 150)}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _cut(_slack_escape(alert.what_happened), 3000)},
        },
    ]
    if lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    body = {"text": f"{icon} {title}".strip(), "blocks": blocks}
    cleaned: dict[str, Any] = redact_data(body)
    return cleaned


def render_webhook(alert: OutgoingAlert) -> dict[str, Any]:
    """The generic webhook's JSON, in Standard Webhooks' recommended ``{type, timestamp, data}``."""
    data = alert.model_dump(mode="json")
    data["text"] = render_text(alert)
    body = {
        "type": f"belay.alert.{alert.event.value}",
        "timestamp": alert.occurred_at.isoformat(),
        "data": data,
    }
    cleaned: dict[str, Any] = redact_data(body)
    return cleaned
