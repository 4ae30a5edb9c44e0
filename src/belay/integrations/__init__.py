"""Integration checks: does a resolved Argo CD configuration actually work?

:func:`verify_argocd` makes one read-only list call per instance plus read-only ``can-i``
checks and returns a typed :class:`VerifyReport` that the CLI renders.
"""

from __future__ import annotations

from belay.integrations.verify import (
    InstanceCheck,
    InstanceClientFactory,
    VerifyReport,
    VerifyStatus,
    check_instance,
    verify_argocd,
)

__all__ = [
    "InstanceCheck",
    "InstanceClientFactory",
    "VerifyReport",
    "VerifyStatus",
    "check_instance",
    "verify_argocd",
]
