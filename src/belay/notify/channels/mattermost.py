"""Mattermost incoming webhooks: a JSON body whose ``text`` is Markdown."""

from __future__ import annotations

from typing import Any

from belay.notify.channels.base import HTTPChannel
from belay.notify.model import OutgoingAlert
from belay.notify.render import render_markdown

__all__ = ["MattermostChannel"]


class MattermostChannel(HTTPChannel):
    """Posts alerts to a Mattermost incoming-webhook URL (the URL itself is the secret)."""

    def body(self, alert: OutgoingAlert) -> Any:
        """``{"text": <markdown>, "username": "Belay"}``."""
        return {"text": render_markdown(alert), "username": "Belay"}
