"""Format detection from content, and the table from format to parser.

JSON documents are first decoded into a *probe* that keeps only the top-level keys that tell
formats apart (as undecoded raw slices, so even a 40 MB report costs one fast scan); the parser
then decodes only what it needs. The file name is never used to pick a format: gatecheck's
name-based dispatch reads ``cyclonedx-grype-sbom.json`` as grype, which it is not.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from belay.gate.errors import ReportError
from belay.gate.reports import (
    clamav,
    coverage,
    cyclonedx,
    gitleaks,
    grype,
    sarif,
    sbom,
    semgrep,
    trivy,
)
from belay.gate.reports.model import Report, ReportKind

__all__ = ["PARSERS", "detect_kind", "parse_report"]

Parser = Callable[[bytes, str], Report]

PARSERS: dict[ReportKind, Parser] = {
    ReportKind.grype: grype.parse,
    ReportKind.cyclonedx: cyclonedx.parse,
    ReportKind.semgrep: semgrep.parse,
    ReportKind.gitleaks: gitleaks.parse,
    ReportKind.clamav: clamav.parse,
    ReportKind.sarif: sarif.parse,
    ReportKind.trivy: trivy.parse,
    ReportKind.syft: sbom.parse_syft,
    ReportKind.spdx: sbom.parse_spdx,
}

_EMPTY = msgspec.Raw()


class _Probe(msgspec.Struct):
    bomFormat: msgspec.Raw = _EMPTY
    matches: msgspec.Raw = _EMPTY
    descriptor: msgspec.Raw = _EMPTY
    runs: msgspec.Raw = _EMPTY
    version: msgspec.Raw = _EMPTY
    schema: msgspec.Raw = msgspec.field(default=_EMPTY, name="$schema")
    SchemaVersion: msgspec.Raw = _EMPTY
    Results: msgspec.Raw = _EMPTY
    ArtifactName: msgspec.Raw = _EMPTY
    results: msgspec.Raw = _EMPTY
    paths: msgspec.Raw = _EMPTY
    errors: msgspec.Raw = _EMPTY
    artifacts: msgspec.Raw = _EMPTY
    spdxVersion: msgspec.Raw = _EMPTY


class _LeakProbe(msgspec.Struct):
    RuleID: msgspec.Raw = _EMPTY


_probe_decoder = msgspec.json.Decoder(_Probe)
_leaks_probe_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_leak_decoder = msgspec.json.Decoder(_LeakProbe)

_KNOWN = (
    "grype, CycloneDX, syft JSON, SPDX JSON, semgrep, gitleaks, SARIF 2.1.0, trivy, ClamAV, "
    "lcov, Cobertura, Clover"
)


def _has(raw: msgspec.Raw) -> bool:
    return len(raw) > 0 and bytes(raw) != b"null"


def _raw_text(raw: msgspec.Raw) -> str:
    return bytes(raw).decode("utf-8", errors="replace")


def _start(data: bytes) -> bytes:
    head = data[:4096]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head.lstrip()


def _detect_object(data: bytes, name: str) -> ReportKind:
    try:
        probe = _probe_decoder.decode(data)
    except msgspec.ValidationError as err:
        raise ReportError(name, f"not a report: {err}") from None
    except msgspec.DecodeError as err:
        raise ReportError(name, f"not valid JSON: {err}") from None
    except RecursionError:
        raise ReportError(name, "JSON nested too deeply to be a report") from None
    markers = [
        label
        for label, present in (
            ("bomFormat (CycloneDX)", _has(probe.bomFormat)),
            ("matches (grype)", _has(probe.matches)),
            ("runs (SARIF)", _has(probe.runs)),
            ("Results (trivy)", _has(probe.Results)),
            ("results (semgrep)", _has(probe.results)),
            ("spdxVersion (SPDX)", _has(probe.spdxVersion)),
            ("artifacts (syft)", _has(probe.artifacts)),
        )
        if present
    ]
    if len(markers) > 1:
        # A document that reads as two formats would be judged as one and its other findings
        # ignored: refuse it instead.
        raise ReportError(name, f"looks like more than one report format: {', '.join(markers)}")
    if _has(probe.bomFormat):
        return ReportKind.cyclonedx
    if _has(probe.matches):
        return ReportKind.grype
    if _has(probe.runs) and (
        "2.1.0" in _raw_text(probe.version) or "sarif" in _raw_text(probe.schema).lower()
    ):
        return ReportKind.sarif
    if _has(probe.SchemaVersion) and (_has(probe.Results) or _has(probe.ArtifactName)):
        return ReportKind.trivy
    if _has(probe.results) and (_has(probe.paths) or _has(probe.errors)):
        return ReportKind.semgrep
    if _has(probe.spdxVersion):
        return ReportKind.spdx
    if _has(probe.artifacts) and _has(probe.descriptor):
        return ReportKind.syft
    raise ReportError(name, f"JSON of an unknown report format (known: {_KNOWN})")


def _detect_array(data: bytes, name: str) -> ReportKind:
    try:
        items = _leaks_probe_decoder.decode(data)
    except msgspec.DecodeError as err:
        raise ReportError(name, f"not valid JSON: {err}") from None
    except RecursionError:
        raise ReportError(name, "JSON nested too deeply to be a report") from None
    if not items:
        return ReportKind.gitleaks
    try:
        first = _leak_decoder.decode(items[0])
    except (msgspec.DecodeError, RecursionError):
        first = None
    if first is not None and _has(first.RuleID):
        return ReportKind.gitleaks
    raise ReportError(name, f"a JSON array that is not a gitleaks report (known: {_KNOWN})")


def detect_kind(data: bytes, name: str) -> ReportKind:
    """Tell the report format of ``data`` from its content; :class:`ReportError` if unknown."""
    start = _start(data)
    if not start:
        raise ReportError(name, "empty file")
    first = start[:1]
    if first == b"{":
        return _detect_object(data, name)
    if first == b"[":
        return _detect_array(data, name)
    if first == b"<":
        return ReportKind.coverage
    text = data[:65536].decode("utf-8", errors="replace")
    if coverage.looks_like_lcov(text):
        return ReportKind.coverage
    if clamav.looks_like_clamav(data):
        return ReportKind.clamav
    raise ReportError(name, f"not a report of a known format (known: {_KNOWN})")


def parse_report(data: bytes, name: str) -> Report:
    """Detect the format of ``data`` and parse it (:class:`ReportError` names ``name``)."""
    kind = detect_kind(data, name)
    if kind is ReportKind.coverage:
        if _start(data)[:1] == b"<":
            return coverage.parse_xml(data, name)
        return coverage.parse_lcov(data, name)
    return PARSERS[kind](data, name)
