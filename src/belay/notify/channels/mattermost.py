"""Mattermost incoming webhooks: a JSON body whose ``text`` is Markdown."""

from __future__ import annotations

import httpx

from belay.jsonio import dumps
from belay.notify.channels.base import DEFAULT_DELIVERY_TIMEOUT, post_json
from belay.notify.model import Alert, AlertEvent
from belay.notify.render import render_markdown

__all__ = ["MattermostChannel"]


class MattermostChannel:
    """Posts alerts to a Mattermost incoming-webhook URL (the URL itself is the secret)."""

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
        return f"MattermostChannel(name={self._name!r})"

    @property
    def name(self) -> str:
        """``mattermost#<index>``."""
        return self._name

    @property
    def events(self) -> frozenset[AlertEvent]:
        """The subscribed events."""
        return self._events

    def send(self, alert: Alert) -> None:
        """POST ``{"text": <markdown>, "username": "Belay"}``."""
        body = {"text": render_markdown(alert), "username": "Belay"}
        post_json(self._client, self._url, channel=self._name, content=dumps(body))

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
