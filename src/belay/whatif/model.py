"""The typed result of a policy replay (``belay policy whatif``), in the JSON contract's shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Flip", "RuleChange", "Skip", "WhatIfResult"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class RuleChange(_Model):
    """One rule whose status differs: ``pass``, ``fail``, ``accepted``, or ``absent``."""

    rule: str
    before: str
    after: str


class Flip(_Model):
    """A stored submission whose decision the candidate policy changes."""

    submission: str
    project: str | None
    commit: str | None
    decided_at: datetime = Field(alias="decidedAt")
    before: str
    after: str
    rules: tuple[RuleChange, ...]
    note: str | None = None
    """Set when the decision's KEV/EPSS data was gone and current data was used."""


class Skip(_Model):
    """A submission in range that could not be replayed, and why."""

    submission: str
    reason: str


class WhatIfResult(_Model):
    """``{evaluated, unchanged, flipped[], skipped[]}`` plus what was replayed under what."""

    evaluated: int
    unchanged: int
    flipped: tuple[Flip, ...]
    skipped: tuple[Skip, ...]
    candidate: str = ""
    candidate_sha256: str = Field(default="", alias="candidateSha256")
    projects: tuple[str, ...] = ()
    since: datetime | None = None
    notes: tuple[str, ...] = ()

    def document(self) -> dict[str, Any]:
        """The JSON document (camelCase keys, as the contract names them)."""
        return self.model_dump(mode="json", by_alias=True)
