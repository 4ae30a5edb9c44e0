"""Slack incoming webhooks: a JSON body with ``text`` and Block Kit ``blocks``."""

from __future__ import annotations

import httpx

from belay.jsonio import dumps
from belay.notify.channels.base import DEFAULT_DELIVERY_TIMEOUT, post_json
from belay.notify.model import Alert, AlertEvent
from belay.notify.render import render_slack

__all__ = ["SlackChannel"]


class SlackChannel:
    """Posts alerts to a Slack incoming-webhook URL (the URL itself is the secret)."""

    def __init__(
        self,
        *,
        name: str,
        url: str,
        events: frozenset[AlertEvent],
        timeout: float = DEFAULT_DELIVERY_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._name = name
        self._events = events
        self._url = url
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, transport=transport)

    def __repr__(self) -> str:
        return f"SlackChannel(name={self._name!r})"

    @property
    def name(self) -> str:
        """``slack#<index>``."""
        return self._name

    @property
    def events(self) -> frozenset[AlertEvent]:
        """The subscribed events."""
        return self._events

    def send(self, alert: Alert) -> None:
        """POST the Slack rendering of ``alert``."""
        post_json(self._client, self._url, channel=self._name, content=dumps(render_slack(alert)))

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
