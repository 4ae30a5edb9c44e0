"""A generic JSON webhook, optionally signed with Standard Webhooks headers.

The body is ``{type: "belay.alert.<event>", timestamp, data}``. With a secret (``whsec_...``)
every attempt carries ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of id.timestamp.body>``). The ``webhook-id`` is the same on every
retry of one alert to one channel, so the receiver can use it as its idempotency key.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import httpx

from belay.jsonio import dumps
from belay.notify.channels.base import DEFAULT_DELIVERY_TIMEOUT, HTTPChannel, post_json
from belay.notify.model import AlertEvent, OutgoingAlert
from belay.notify.render import render_webhook
from belay.webhooks import sign_standard_webhook

__all__ = ["WebhookChannel", "delivery_id"]


def delivery_id(alert: OutgoingAlert, channel: str) -> str:
    """The ``webhook-id`` of an alert on a channel: stable across retries, no ``.`` in it."""
    digest = hashlib.sha256(f"{alert.dedup_key}\n{channel}".encode()).hexdigest()
    return f"msg_{digest[:32]}"


class WebhookChannel(HTTPChannel):
    """Posts the alert's JSON to a URL, signed (Standard Webhooks) when a key is given."""

    def __init__(
        self,
        *,
        name: str,
        url: str,
        events: frozenset[AlertEvent],
        signing_key: bytes | None = None,
        timeout: float = DEFAULT_DELIVERY_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name=name, url=url, events=events, timeout=timeout, transport=transport)
        self._key = signing_key
        self._clock = clock

    def __repr__(self) -> str:
        return f"WebhookChannel(name={self._name!r}, signed={self._key is not None})"

    def body(self, alert: OutgoingAlert) -> Any:
        """The generic JSON rendering."""
        return render_webhook(alert)

    def send(self, alert: OutgoingAlert) -> None:
        """POST the alert; sign it (with this attempt's timestamp) when a key is set."""
        body = dumps(self.body(alert))
        headers = {"webhook-id": delivery_id(alert, self._name)}
        if self._key is not None:
            timestamp = int(self._clock())
            headers["webhook-timestamp"] = str(timestamp)
            headers["webhook-signature"] = sign_standard_webhook(
                self._key, headers["webhook-id"], timestamp, body
            )
        post_json(self._client, self._url, channel=self._name, content=body, headers=headers)
