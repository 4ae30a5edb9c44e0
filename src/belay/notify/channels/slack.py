"""Slack incoming webhooks: a JSON body with ``text`` and Block Kit ``blocks``."""

from __future__ import annotations

from typing import Any

from belay.notify.channels.base import HTTPChannel
from belay.notify.model import OutgoingAlert
from belay.notify.render import render_slack

__all__ = ["SlackChannel"]


class SlackChannel(HTTPChannel):
    """Posts alerts to a Slack incoming-webhook URL (the URL itself is the secret)."""

    def body(self, alert: OutgoingAlert) -> Any:
        """The Slack rendering (text and blocks)."""
        return render_slack(alert)
