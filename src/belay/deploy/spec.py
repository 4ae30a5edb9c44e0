"""What a deployment job asks of Argo CD: the typed form of ``jobs.spec``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from belay.argocd import Info, RetryStrategy, SyncRequest, SyncStrategy
from belay.config import SyncSettings
from belay.deploy.decide import MARKER_NAME

__all__ = ["DECISION_INFO_NAME", "SyncSpec"]

DECISION_INFO_NAME = "belay-decision"


class SyncSpec(BaseModel):
    """A job's sync request and how to judge it, stored as JSON with the job."""

    model_config = ConfigDict(frozen=True)

    revision_mode: Literal["commit", "HEAD", "branch"] = "commit"
    revision: str | None = None
    """What is sent to Argo CD: the commit, ``HEAD`` or the branch name."""
    approved_commit: str | None = None
    """The scanned commit (shown next to the resolved SHA in HEAD/branch mode)."""
    prune: bool = False
    dry_run: bool = False
    force: bool = False
    sync_options: tuple[str, ...] = ()
    retry_limit: int | None = 5
    retry_duration: str = "5s"
    retry_factor: int = 2
    retry_max_duration: str = "3m"
    timeout_seconds: float = Field(default=600.0, gt=0)
    terminate_on_timeout: bool = False

    @property
    def pin_revision(self) -> bool:
        """In commit mode the synced revision must be the approved commit."""
        return self.revision_mode == "commit"

    @classmethod
    def from_settings(
        cls, sync: SyncSettings, *, commit: str | None, branch: str | None
    ) -> SyncSpec:
        """The spec of a project's sync settings for one scanned commit."""
        mode: Literal["commit", "HEAD", "branch"]
        if sync.revision == "commit":
            mode, revision = "commit", commit
        elif sync.revision == "HEAD":
            mode, revision = "HEAD", "HEAD"
        else:
            mode, revision = "branch", (branch if sync.revision == "branch" else sync.revision)
        retry = sync.retry
        return cls(
            revision_mode=mode,
            revision=revision,
            approved_commit=commit,
            prune=sync.prune,
            dry_run=sync.dry_run,
            force=sync.force,
            sync_options=sync.sync_options,
            retry_limit=retry.limit if retry else None,
            retry_duration=retry.duration if retry else "5s",
            retry_factor=retry.factor if retry else 2,
            retry_max_duration=retry.max_duration if retry else "3m",
            timeout_seconds=sync.timeout_seconds,
            terminate_on_timeout=sync.terminate_on_timeout,
        )

    def request(self, *, marker: str, decision_id: str | None) -> SyncRequest:
        """The ``POST .../sync`` body, tagged with our marker (and decision id) in ``infos``."""
        infos = [Info(name=MARKER_NAME, value=marker)]
        if decision_id:
            infos.append(Info(name=DECISION_INFO_NAME, value=decision_id))
        fields: dict[str, object] = {"infos": infos, "prune": self.prune, "dry_run": self.dry_run}
        if self.revision:
            fields["revision"] = self.revision
        if self.force:
            fields["strategy"] = SyncStrategy(apply={"force": True})
        if self.sync_options:
            fields["sync_options"] = list(self.sync_options)
        if self.retry_limit:
            fields["retry_strategy"] = RetryStrategy(
                limit=self.retry_limit,
                backoff={
                    "duration": self.retry_duration,
                    "factor": self.retry_factor,
                    "maxDuration": self.retry_max_duration,
                },
            )
        return SyncRequest.model_validate(fields)
