"""SBOMs besides CycloneDX: syft's native JSON (``syft -o json``) and SPDX 2.x JSON.

An SBOM carries no findings; what the gate uses is that one exists (``required.syft`` or
``required.spdx``), how many packages it lists, who made it and when. syft's native document has
``artifacts`` and a ``descriptor`` naming syft (and a ``schema`` pointing at syft's JSON schema);
it carries no timestamp, so the bundle's ``addedAt`` dates it. An SPDX document has
``spdxVersion`` (``SPDX-2.x``), ``creationInfo.created`` and ``creators`` such as
``Tool: syft-1.18.1``, from which the producer is taken.
"""

from __future__ import annotations

import msgspec

from belay.gate.errors import ReportError
from belay.gate.reports._common import decode, parse_time, undocumented
from belay.gate.reports.model import Report, ReportKind

__all__ = ["parse_spdx", "parse_syft"]


class _SyftDescriptor(msgspec.Struct):
    name: str | None = None
    version: str | None = None


class _SyftDocument(msgspec.Struct):
    artifacts: list[msgspec.Raw]
    descriptor: _SyftDescriptor | None = None


class _CreationInfo(msgspec.Struct):
    created: str | None = None
    creators: list[str] | None = None


class _SpdxDocument(msgspec.Struct):
    spdxVersion: str
    creationInfo: _CreationInfo | None = None
    packages: list[msgspec.Raw] | None = None


def _tool_name(creator: str) -> str | None:
    """``Tool: syft-1.18.1`` → ``syft`` (split, not a backtracking regex: creators are input)."""
    kind, sep, value = creator[:256].partition(":")
    if not sep or kind.strip() != "Tool":
        return None
    name = value.strip()
    head, dash, version = name.rpartition("-")
    if dash and version.removeprefix("v")[:1].isdigit():
        name = head
    return name.lower() or None


def parse_syft(data: bytes, name: str) -> Report:
    """Parse syft's native JSON SBOM."""
    doc = decode(data, _SyftDocument, name, "syft JSON")
    tool = (doc.descriptor.name or "").strip().lower() if doc.descriptor else ""
    if tool != "syft":
        raise undocumented(name, "descriptor.name", tool or None, "a syft JSON SBOM names syft")
    return Report(kind=ReportKind.syft, name=name, producer="syft", components=len(doc.artifacts))


def parse_spdx(data: bytes, name: str) -> Report:
    """Parse an SPDX 2.x JSON document."""
    doc = decode(data, _SpdxDocument, name, "SPDX JSON")
    if not doc.spdxVersion.startswith("SPDX-2."):
        raise ReportError(
            name, f"spdxVersion {doc.spdxVersion[:20]!r} is not supported (only SPDX-2.x JSON)"
        )
    producer = "spdx"
    created = None
    if doc.creationInfo is not None:
        created = parse_time(doc.creationInfo.created)
        for creator in doc.creationInfo.creators or ():
            tool = _tool_name(creator)
            if tool:
                producer = tool
                break
    return Report(
        kind=ReportKind.spdx,
        name=name,
        producer=producer,
        created_at=created,
        components=len(doc.packages or ()),
    )
