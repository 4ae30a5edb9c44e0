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
    return decode_guarded(decoder, data, name, what)  # type: ignore[return-value]


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


def undocumented(name: str, field: str, value: object, known: str) -> ReportError:
    """The error for a value the format does not document: it names the file, field and value.

    Unknown values fail closed: a severity Belay cannot place could hide a critical finding.
    """
    text = repr(value)
    if len(text) > 60:
        text = text[:60] + "..."
    return ReportError(name, f"{field} is {text}, which the format does not document ({known})")


def decode_guarded(
    decoder: msgspec.json.Decoder[T], data: bytes | msgspec.Raw, name: str, what: str
) -> T:
    """Decode with ``decoder``; malformed, mistyped or too deeply nested JSON is a ReportError."""
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as err:
        raise ReportError(name, f"not a valid {what} report: {err}") from None
    except msgspec.DecodeError as err:
        raise ReportError(name, f"not valid JSON: {err}") from None
    except RecursionError:
        raise ReportError(name, "JSON nested too deeply to be a report") from None


def severity_from(
    table: dict[str, str], value: str | None, name: str, field: str, *, missing: str | None = None
) -> str:
    """Map a report's severity word through ``table`` (lower-case keys) or fail closed.

    ``missing`` is what an absent or empty value means, when the format says so; ``None`` makes
    an absent value an error too.
    """
    if not value:
        if missing is None:
            raise undocumented(name, field, value, "the field is required")
        return missing
    mapped = table.get(value.lower())
    if mapped is None:
        raise undocumented(name, field, value, "known: " + ", ".join(sorted(table)))
    return mapped


def cvss_band(score: float) -> str:
    """The CVSS v3 qualitative band of a score: critical, high, medium, low or none."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low" if score > 0.0 else "none"
