"""Belay settings for tests that serve one project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from belay.config.settings import BelaySettings
from belay.intake import hash_token
from belay.policies import packaged_policy

__all__ = ["FAST_WORKER", "guestbook_settings"]

FAST_WORKER = {
    "lease_seconds": 5,
    "poll_interval_seconds": 0.02,
    "backoff_base_seconds": 0.01,
    "backoff_max_seconds": 0.05,
}
"""A worker that polls and backs off in hundredths of a second."""


def guestbook_settings(
    database_url: str, base_dir: Path, *, remote: str, token: str, **extra: Any
) -> BelaySettings:
    """One project, ``guestbook``: deliveries from ``remote`` with ``token`` (kept as its
    digest) deploy their commit to the Argo CD application ``guestbook`` (60 s to sync);
    the packaged policy, no rate limit, :data:`FAST_WORKER`. ``extra`` adds top-level keys."""
    return BelaySettings.model_validate(
        {
            "database_url": database_url,
            "public_url": "http://belay.test",
            "policies": {"default": str(packaged_policy())},
            "intake": {"rate_limit_per_minute": 0},
            "worker": FAST_WORKER,
            "projects": [
                {
                    "name": "guestbook",
                    "match": {"remote": remote},
                    "token_sha256": [hash_token(token)],
                    "argocd": {"application": "guestbook"},
                    "sync": {"revision": "commit", "timeoutSeconds": 60},
                }
            ],
            "base_dir": str(base_dir),
            **extra,
        }
    )
