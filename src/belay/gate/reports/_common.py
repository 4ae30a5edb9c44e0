"""Helpers shared by the parsers: typed JSON decoding with one-line errors, timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

import msgspec

from belay.gate.errors import ReportError

T = TypeVar("T")

_DECODERS: dict[object, msgspec.json.Decoder[object]] = {}


def decode(data: bytes, schema: type[T], name: str, what: str) -> T:
    """Decode ``data`` into ``schema``, turning every decoding error into a :class:`ReportError`."""
    decoder = _DECODERS.get(schema)
    if decoder is None:
        decoder = msgspec.json.Decoder(schema)
        _DECODERS[schema] = decoder
    try:
        return decoder.decode(data)  # type: ignore[return-value]
    except msgspec.ValidationError as err:
        raise ReportError(name, f"not a valid {what} report: {err}") from None
    except msgspec.DecodeError as err:
        raise ReportError(name, f"not valid JSON: {err}") from None


def parse_time(value: str | None) -> datetime | None:
    """Parse an RFC 3339 / ISO 8601 timestamp; ``None`` when absent or unreadable.

    A timestamp without a zone is taken as UTC.
    """
    if not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


_SEVERITY = {
    "critical": "critical",
    "high": "high",
    "medium": "medium",
    "moderate": "medium",
    "low": "low",
    "negligible": "negligible",
    "none": "none",
    "info": "info",
    "informational": "info",
    "unknown": "unknown",
}


def vuln_severity(value: str | None) -> str:
    """Normalise a vulnerability severity to lower-case canonical strings (shared objects)."""
    if not value:
        return "unknown"
    return _SEVERITY.get(value.lower(), "unknown")
