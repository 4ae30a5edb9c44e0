"""The one retry policy: exponential backoff with full jitter, bounded by attempts and a deadline.

Built on stamina's retry loop; the backoff hook computes the delay itself because the issue asks
for *full* jitter (a random delay between 0 and the exponential cap), which spreads retries of
many workers better than stamina's additive jitter. What is retryable is decided where the error
is raised (``ArgoCDError.retryable``); callers pass that predicate.

    for attempt in retrying(policy, retry_on=is_retryable, timeout=30):
        with attempt:
            client.get_application(...)
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from typing import Any

import stamina
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RetryPolicy", "backoff_delay", "is_retryable", "retry_delay", "retrying"]


class RetryPolicy(BaseModel):
    """How long to wait between attempts: ``uniform(0, min(max, base * 2**n))`` for retry n."""

    model_config = ConfigDict(frozen=True)

    base_seconds: float = Field(default=1.0, gt=0)
    max_seconds: float = Field(default=60.0, gt=0)
    attempts: int | None = Field(default=8, ge=1)


def backoff_delay(policy: RetryPolicy, retry_number: int) -> float:
    """The full-jitter delay before retry ``retry_number`` (0 for the first retry)."""
    cap = min(policy.max_seconds, policy.base_seconds * (2 ** min(retry_number, 32)))
    return random.uniform(0, cap)  # jitter, not cryptography


def retry_delay(policy: RetryPolicy, retry_number: int, exc: BaseException | None) -> float:
    """The delay before retry ``retry_number`` after ``exc``: the full-jitter backoff, but never
    less than the ``Retry-After`` the server sent with it (``exc.retry_after``, seconds)."""
    delay = backoff_delay(policy, retry_number)
    after = getattr(exc, "retry_after", None)
    if isinstance(after, int | float) and after > delay:
        return float(after)
    return delay


def is_retryable(exc: BaseException) -> bool:
    """True for errors that declare themselves retryable (``retryable = True``)."""
    return bool(getattr(exc, "retryable", False))


def retrying(
    policy: RetryPolicy,
    *,
    retry_on: Callable[[BaseException], bool] = is_retryable,
    timeout: float | None = None,
) -> Iterator[Any]:
    """Attempts (context managers) until one succeeds, an error is not retryable, or limits hit.

    The last error is re-raised when the attempts or ``timeout`` (seconds, total) run out.
    """
    counter = itertools.count()

    def hook(exc: Exception) -> bool | float:
        if not retry_on(exc):
            return False
        return retry_delay(policy, next(counter), exc)

    return iter(stamina.retry_context(on=hook, attempts=policy.attempts, timeout=timeout))
