"""Deploy: sync the approved commit in Argo CD, follow it to its end, and record the outcome."""

from belay.deploy.decide import (
    MARKER_NAME,
    Assessment,
    Progress,
    SyncAction,
    SyncDecision,
    assess,
    decide_sync,
)
from belay.deploy.outcome import DeployOutcome

__all__ = [
    "MARKER_NAME",
    "Assessment",
    "DeployOutcome",
    "Progress",
    "SyncAction",
    "SyncDecision",
    "assess",
    "decide_sync",
]
