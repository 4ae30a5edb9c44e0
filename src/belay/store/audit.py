"""The audit chain's hashing, pure: each event's hash covers its content and the previous hash.

``hash = sha256(prev_hash + "\\n" + payload)`` where ``payload`` is the canonical JSON (sorted keys)
of the event's fields. The payload text is stored as it was hashed, so verification recomputes
from exactly the bytes that were written, and a changed column, a removed event or a reordered
pair breaks the chain at that point.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from belay.jsonio import dumps_text

__all__ = ["GENESIS_HASH", "ChainBreak", "canonical_payload", "chain_hash", "verify_chain"]

GENESIS_HASH = "0" * 64


def canonical_payload(*, seq: int, event_id: str, at: datetime, fields: dict[str, Any]) -> str:
    """The canonical JSON text of one event (what is hashed and stored)."""
    return dumps_text({"seq": seq, "id": event_id, "at": at.isoformat(), **fields}, sort_keys=True)


def chain_hash(prev_hash: str, payload: str) -> str:
    """The hash of an event given its predecessor's hash."""
    return hashlib.sha256(f"{prev_hash}\n{payload}".encode()).hexdigest()


class ChainBreak(BaseModel):
    """Where and why the chain stopped verifying."""

    model_config = ConfigDict(frozen=True)

    seq: int
    reason: str


def verify_chain(links: Iterable[tuple[int, str, str, str, dict[str, Any]]]) -> ChainBreak | None:
    """Check links ``(seq, payload, prev_hash, hash, columns)`` in sequence order.

    ``columns`` are the event's stored columns; they must agree with the hashed payload, so an
    edit to a column that leaves the payload alone is caught too. Returns the first break, or
    ``None`` when the chain is intact.
    """
    from belay.jsonio import loads

    expected_prev = GENESIS_HASH
    for seq, payload, prev_hash, stored_hash, columns in links:
        if prev_hash != expected_prev:
            return ChainBreak(seq=seq, reason="previous-hash link does not match (event removed?)")
        if chain_hash(prev_hash, payload) != stored_hash:
            return ChainBreak(seq=seq, reason="hash does not match the event's content")
        try:
            hashed = loads(payload)
        except ValueError:
            return ChainBreak(seq=seq, reason="stored payload is not valid JSON")
        if hashed.get("seq") != seq:
            return ChainBreak(seq=seq, reason="sequence number differs from the hashed one")
        for name, value in columns.items():
            if hashed.get(name) != value:
                return ChainBreak(seq=seq, reason=f"column {name!r} differs from the hashed value")
        expected_prev = stored_hash
    return None
