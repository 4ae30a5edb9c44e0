"""The gate's verdict (DESIGN §5): a decision, a summary and one reason per rule.

``Verdict.document()`` is the JSON body (``{"verdict": {...}}``) that Portage CD prints;
``Verdict.for_http()`` cuts it to what Portage shows (50 reasons of 300 characters) while the
full list stays on the original object (``gate evaluate --output json``, ``detailsUrl``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from belay.redact import redact_text

__all__ = ["HTTP_MAX_REASONS", "HTTP_MAX_REASON_CHARS", "Reason", "Verdict", "make_verdict"]

HTTP_MAX_REASONS = 50
HTTP_MAX_REASON_CHARS = 300

Status = Literal["pass", "fail", "accepted"]


class Reason(BaseModel):
    """The outcome of one rule (``rule`` is ``<report>.<check>``, e.g. ``grype.critical``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    status: Status
    message: str


class Verdict(BaseModel):
    """A decision with its reasons; ``details_url`` is serialised as ``detailsUrl`` (and
    ``attestation_url`` as ``attestationUrl``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    decision: Literal["pass", "fail"]
    summary: str
    reasons: tuple[Reason, ...] = ()
    details_url: str | None = Field(default=None, alias="detailsUrl")
    attestation_url: str | None = Field(default=None, alias="attestationUrl")
    """Where the signed statement of this decision is served (docs/attestations.md)."""

    def failed(self) -> tuple[Reason, ...]:
        """The failing reasons."""
        return tuple(r for r in self.reasons if r.status == "fail")

    def for_http(
        self, *, max_reasons: int = HTTP_MAX_REASONS, max_chars: int = HTTP_MAX_REASON_CHARS
    ) -> Verdict:
        """A copy cut to ``max_reasons`` reasons of at most ``max_chars`` characters.

        Failing reasons come first so that a cut never hides why a build failed.
        """
        ordered = sorted(
            self.reasons, key=lambda r: {"fail": 0, "accepted": 1, "pass": 2}[r.status]
        )
        kept = []
        for reason in ordered[:max_reasons]:
            message = reason.message
            if len(message) > max_chars:
                message = message[: max_chars - 1] + "…"
            kept.append(reason.model_copy(update={"message": message}))
        return self.model_copy(update={"reasons": tuple(kept)})

    def document(self) -> dict[str, Any]:
        """The JSON body ``{"verdict": {...}}`` (the URLs only when set)."""
        body = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return {"verdict": body}


def make_verdict(reasons: list[Reason], *, details_url: str | None = None) -> Verdict:
    """Build a verdict from reasons: ``fail`` if any reason fails or there is none at all."""
    cleaned = tuple(r.model_copy(update={"message": redact_text(r.message)}) for r in reasons)
    failed = [r.rule for r in cleaned if r.status == "fail"]
    accepted = sum(1 for r in cleaned if r.status == "accepted")
    if not cleaned:
        return Verdict(decision="fail", summary="fail: no rule could be judged", reasons=())
    extra = f"; {accepted} accepted by exception" if accepted else ""
    if failed:
        names = ", ".join(dict.fromkeys(failed))
        summary = f"fail: {len(failed)} of {len(cleaned)} rules failed ({names}){extra}"
        return Verdict(decision="fail", summary=summary, reasons=cleaned, details_url=details_url)
    summary = f"pass: {len(cleaned)} rules passed{extra}"
    return Verdict(decision="pass", summary=summary, reasons=cleaned, details_url=details_url)
