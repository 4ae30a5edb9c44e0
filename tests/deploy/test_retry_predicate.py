"""The deploy steps' one retry predicate and the delay that honours Retry-After."""

from __future__ import annotations

import pytest

from belay.argocd import (
    ArgoCDAuthError,
    ArgoCDBadRequest,
    ArgoCDNotFound,
    ArgoCDRateLimited,
    ArgoCDServerError,
    ArgoCDTimeout,
    ArgoCDUnreachable,
    AutoSyncConflict,
    OperationInProgress,
    SyncWindowBlocked,
)
from belay.argocd.errors import ArgoCDError
from belay.deploy.job_run import should_retry
from belay.retry import RetryPolicy, retry_delay


@pytest.mark.parametrize(
    ("error", "grace", "retried"),
    [
        (ArgoCDUnreachable("x"), False, True),
        (ArgoCDTimeout("x"), False, True),
        (ArgoCDServerError("x"), False, True),
        (ArgoCDRateLimited("x"), False, True),
        (OperationInProgress("x"), False, True),
        (SyncWindowBlocked("x"), False, True),
        (ArgoCDNotFound("x"), True, True),
        (ArgoCDNotFound("x"), False, False),
        (ArgoCDAuthError("x"), True, False),
        (AutoSyncConflict("x"), False, False),
        (ArgoCDBadRequest("x"), False, False),
        (ValueError("not ours"), True, False),
    ],
    ids=[
        "unreachable",
        "timeout",
        "5xx",
        "429",
        "operation-in-progress",
        "sync-window",
        "404-in-grace",
        "404-after-grace",
        "401",
        "auto-sync-conflict",
        "other-4xx",
        "foreign-error",
    ],
)
def test_what_is_retried(error: BaseException, grace: bool, retried: bool) -> None:
    """One named case per class: what waiting can fix is retried, the rest is not."""
    assert should_retry(error, not_found_grace=grace) is retried


def test_retry_after_is_a_floor_for_the_delay() -> None:
    """A server's Retry-After is waited at least, whatever the jittered backoff drew."""
    policy = RetryPolicy(base_seconds=0.01, max_seconds=0.02)
    limited = ArgoCDRateLimited("slow down", retry_after=7.0)
    assert all(retry_delay(policy, n, limited) == 7.0 for n in range(5))
    assert retry_delay(policy, 0, ArgoCDError("no header")) <= 0.01
