"""Deploy: sync the approved commit in Argo CD, follow it to its end, and record the outcome."""

from belay.deploy.credentials import ReloadingClients, install_sighup
from belay.deploy.decide import (
    MARKER_NAME,
    Assessment,
    Progress,
    SyncAction,
    SyncDecision,
    assess,
    decide_sync,
)
from belay.deploy.follower import Follower
from belay.deploy.manual import queue_manual_sync
from belay.deploy.outcome import DeployOutcome
from belay.deploy.permit import GateOverride, SyncPermit, check_manual_sync
from belay.deploy.revision import MIN_PREFIX, is_full_sha, is_short_sha, revision_matches
from belay.deploy.spec import SyncSpec
from belay.deploy.worker import Doorbell, Worker

__all__ = [
    "MARKER_NAME",
    "MIN_PREFIX",
    "Assessment",
    "DeployOutcome",
    "Doorbell",
    "Follower",
    "GateOverride",
    "Progress",
    "ReloadingClients",
    "SyncAction",
    "SyncDecision",
    "SyncPermit",
    "SyncSpec",
    "Worker",
    "assess",
    "check_manual_sync",
    "decide_sync",
    "install_sighup",
    "is_full_sha",
    "is_short_sha",
    "queue_manual_sync",
    "revision_matches",
]
