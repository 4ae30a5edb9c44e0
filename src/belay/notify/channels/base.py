"""What every notification channel offers, and how a delivery fails.

A channel turns an :class:`~belay.notify.model.OutgoingAlert` into one request (an HTTP POST or an
e-mail) and raises :class:`DeliveryError` when it did not get through; the error says whether
trying again later can help (``retryable``), and may carry the receiver's ``Retry-After``.
Channels never retry themselves: :mod:`belay.notify.delivery` does, in the background.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import httpx

from belay.errors import BelayError
from belay.jsonio import dumps
from belay.notify.model import AlertEvent, OutgoingAlert
from belay.redact import redact_text

__all__ = [
    "DEFAULT_DELIVERY_TIMEOUT",
    "Channel",
    "ChannelBase",
    "DeliveryError",
    "HTTPChannel",
    "post_json",
]

DEFAULT_DELIVERY_TIMEOUT = 15.0
"""Seconds per delivery attempt: the low end of Standard Webhooks' recommended 15-30 s."""


class DeliveryError(BelayError):
    """A delivery did not get through; ``retryable`` says whether waiting can fix it."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(redact_text(message))
        self.retryable = retryable
        self.retry_after = retry_after


@runtime_checkable
class Channel(Protocol):
    """A place alerts go to. ``name`` is safe to log (never the URL, which may be a secret)."""

    @property
    def name(self) -> str:
        """``<type>#<index>``, e.g. ``slack#1``."""
        ...

    @property
    def events(self) -> frozenset[AlertEvent]:
        """The events this channel subscribes to."""
        ...

    def send(self, alert: OutgoingAlert) -> None:
        """Deliver one alert; raise :class:`DeliveryError` when it did not get through."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        return float(value)
    return None


def post_json(
    client: httpx.Client,
    url: str,
    *,
    channel: str,
    content: bytes,
    headers: dict[str, str] | None = None,
) -> None:
    """POST ``content`` (JSON bytes) and classify the answer as Standard Webhooks does.

    2xx delivered; 3xx is a failure (redirects are not followed); 410 Gone is permanent; 408,
    429 and 5xx are retried (honouring ``Retry-After``); any other 4xx is permanent. Network
    errors and timeouts are retried. The URL never appears in the error (it may hold a secret).
    """
    sent_headers = {"Content-Type": "application/json", **(headers or {})}
    try:
        response = client.post(url, content=content, headers=sent_headers)
    except httpx.TimeoutException as err:
        raise DeliveryError(
            f"{channel}: timed out ({type(err).__name__})", retryable=True
        ) from None
    except httpx.TransportError as err:
        raise DeliveryError(
            f"{channel}: cannot reach the receiver ({type(err).__name__})", retryable=True
        ) from None
    status = response.status_code
    if 200 <= status < 300:
        return
    retryable = status in (408, 425, 429) or status >= 500
    snippet = " ".join(response.text[:160].split())
    raise DeliveryError(
        f"{channel}: the receiver answered HTTP {status}" + (f": {snippet}" if snippet else ""),
        retryable=retryable,
        retry_after=_retry_after(response) if retryable else None,
    )


class ChannelBase:
    """What every channel shares: its name (``<type>#<index>``) and subscribed events."""

    def __init__(self, *, name: str, events: frozenset[AlertEvent]) -> None:
        self._name = name
        self._events = events

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self._name!r})"

    @property
    def name(self) -> str:
        """``<type>#<index>``, as in belay.yaml's ``notifications`` list."""
        return self._name

    @property
    def events(self) -> frozenset[AlertEvent]:
        """The subscribed events."""
        return self._events

    def close(self) -> None:
        """Release resources (nothing by default)."""


class HTTPChannel(ChannelBase):
    """A channel that POSTs JSON to a URL (the URL itself is the secret); subclasses render."""

    def __init__(
        self,
        *,
        name: str,
        url: str,
        events: frozenset[AlertEvent],
        timeout: float = DEFAULT_DELIVERY_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(name=name, events=events)
        self._url = url
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, transport=transport)

    def body(self, alert: OutgoingAlert) -> Any:
        """The JSON document to post for ``alert``."""
        raise NotImplementedError

    def send(self, alert: OutgoingAlert) -> None:
        """POST the rendering of ``alert``."""
        post_json(self._client, self._url, channel=self._name, content=dumps(self.body(alert)))

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
