"""Alerts: deployment failures, permission errors, repeated failures, token expiry, verdicts.

:func:`build_alerting` builds the :class:`Alerting` service from belay.yaml's ``notifications``
and ``alerts``; plug :meth:`Alerting.on_deploy_outcome` into the deploy worker's ``on_outcome``.
Channels: Slack and Mattermost incoming webhooks, a generic JSON webhook (optionally signed with
Standard Webhooks headers) and SMTP. Every alert is deduplicated in the store and delivered in
the background with retries; every attempt is in the audit trail.
"""

from belay.notify.alerts import Alerting, build_alerting
from belay.notify.channels import (
    Channel,
    DeliveryError,
    MattermostChannel,
    SlackChannel,
    SMTPChannel,
    WebhookChannel,
    build_channels,
)
from belay.notify.delivery import Dispatcher
from belay.notify.model import AlertEvent, OutgoingAlert
from belay.notify.render import render_markdown, render_slack, render_text, render_webhook
from belay.notify.triggers import (
    deploy_alerts,
    override_alert,
    token_alerts,
    unapproved_alert,
    verdict_alert,
)

__all__ = [
    "AlertEvent",
    "Alerting",
    "Channel",
    "DeliveryError",
    "Dispatcher",
    "MattermostChannel",
    "OutgoingAlert",
    "SMTPChannel",
    "SlackChannel",
    "WebhookChannel",
    "build_alerting",
    "build_channels",
    "deploy_alerts",
    "override_alert",
    "render_markdown",
    "render_slack",
    "render_text",
    "render_webhook",
    "token_alerts",
    "unapproved_alert",
    "verdict_alert",
]
