"""What every notification channel offers, and how a delivery fails.

A channel turns an :class:`~belay.notify.model.Alert` into one request (an HTTP POST or an
e-mail) and raises :class:`DeliveryError` when it did not get through; the error says whether
trying again later can help (``retryable``), and may carry the receiver's ``Retry-After``.
Channels never retry themselves: :mod:`belay.notify.delivery` does, in the background.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import httpx

from belay.errors import BelayError
from belay.notify.model import Alert, AlertEvent
from belay.redact import redact_text

__all__ = [
    "DEFAULT_DELIVERY_TIMEOUT",
    "Channel",
    "DeliveryError",
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

    def send(self, alert: Alert) -> None:
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
