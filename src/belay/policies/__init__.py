"""The policies Belay ships: ``default.yaml`` (Portage's defaults plus Belay's checks) and
``strict.yaml``. Copy one next to your ``belay.yaml`` to make it your own server-side policy."""

from __future__ import annotations

from pathlib import Path

__all__ = ["PACKAGED_POLICIES", "packaged_policy"]

PACKAGED_POLICIES = Path(__file__).resolve().parent


def packaged_policy(name: str = "default") -> Path:
    """The path of a shipped policy file (``default`` or ``strict``)."""
    return PACKAGED_POLICIES / f"{name}.yaml"
