"""A door (the sign-in form, the intake): its failure throttle and its audit, used together."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from belay.web.refusals import RefusalAudit
from belay.web.throttle import FailureOutcome, FailureThrottle

__all__ = ["Doorkeeper"]

LOCKED_REASON = "locked out after repeated failures"


@dataclass(frozen=True)
class Doorkeeper:
    """Counts a door's failures per client, locks clients out, and audits both."""

    throttle: FailureThrottle
    audit: RefusalAudit

    async def locked(self, client: str) -> int | None:
        """Seconds left of ``client``'s lockout (this refusal is audited), or ``None``."""
        seconds = self.throttle.retry_after(client)
        if seconds is not None:
            await run_in_threadpool(self.audit.refused, client, reason=LOCKED_REASON, status=429)
        return seconds

    async def failed(self, client: str, reason: str) -> FailureOutcome:
        """Count and audit one failure (401); a lockout it starts is audited too."""
        outcome = self.throttle.fail(client)
        await run_in_threadpool(self.audit.refused, client, reason=reason, status=401)
        if outcome.locked:
            await run_in_threadpool(
                self.audit.locked_out,
                client,
                failures=outcome.failures,
                seconds=outcome.retry_after,
            )
        return outcome

    def succeeded(self, client: str) -> None:
        """Forget ``client``'s failures."""
        self.throttle.succeed(client)
