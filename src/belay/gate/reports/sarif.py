"""SARIF 2.1.0 from any producer: results with ``level`` and GitHub's ``security-severity``.

The level comes from the result, else the rule's ``defaultConfiguration``, else ``warning`` (the
SARIF default). ``security-severity`` (a CVSS-like number as a string, on the result's or the
rule's ``properties``) maps to critical >= 9.0, high >= 7.0, medium >= 4.0, low > 0.
Suppressions in the file are not honoured: they are written by the repository being judged.
"""

from __future__ import annotations

import msgspec

from belay.gate.errors import ReportError
from belay.gate.reports._common import (
    cvss_band,
    decode,
    parse_time,
    severity_from,
    undocumented,
)
from belay.gate.reports.model import Finding, Report, ReportKind

__all__ = ["parse", "security_severity"]

_LEVELS = {"error": "error", "warning": "warning", "note": "note", "none": "none"}


class _Properties(msgspec.Struct):
    security_severity: str | float | None = msgspec.field(default=None, name="security-severity")


class _Configuration(msgspec.Struct):
    level: str | None = None


class _Rule(msgspec.Struct):
    id: str | None = None
    defaultConfiguration: _Configuration | None = None
    properties: _Properties | None = None


class _Driver(msgspec.Struct):
    name: str | None = None
    rules: list[_Rule] | None = None


class _Tool(msgspec.Struct):
    driver: _Driver | None = None


class _ArtifactLocation(msgspec.Struct):
    uri: str | None = None


class _Region(msgspec.Struct):
    startLine: int | None = None


class _PhysicalLocation(msgspec.Struct):
    artifactLocation: _ArtifactLocation | None = None
    region: _Region | None = None


class _Location(msgspec.Struct):
    physicalLocation: _PhysicalLocation | None = None


class _Result(msgspec.Struct):
    ruleId: str | None = None
    ruleIndex: int | None = None
    level: str | None = None
    locations: list[_Location] | None = None
    fingerprints: dict[str, str] | None = None
    partialFingerprints: dict[str, str] | None = None
    properties: _Properties | None = None


class _Invocation(msgspec.Struct):
    endTimeUtc: str | None = None
    startTimeUtc: str | None = None
    executionSuccessful: bool | None = None


class _Run(msgspec.Struct):
    tool: _Tool | None = None
    results: list[_Result] | None = None
    invocations: list[_Invocation] | None = None


class _Document(msgspec.Struct):
    version: str
    runs: list[_Run]


def security_severity(value: str | float | None) -> str | None:
    """Map a ``security-severity`` score to ``critical/high/medium/low`` (``None`` if absent).

    :class:`ValueError` for a value that is not a number (the caller names the field).
    """
    if value is None:
        return None
    score = float(value)
    if score != score or score in (float("inf"), float("-inf")):
        raise ValueError(value)
    band = cvss_band(score)
    return None if band == "none" else band


def _fingerprint(result: _Result) -> str | None:
    for table in (result.fingerprints, result.partialFingerprints):
        if table:
            key = sorted(table)[0]
            return f"{key}:{table[key]}"
    return None


def parse(data: bytes, name: str) -> Report:
    """Parse a SARIF 2.1.0 log."""
    doc = decode(data, _Document, name, "SARIF")
    if doc.version != "2.1.0":
        raise ReportError(name, f"SARIF version {doc.version!r} is not supported (only 2.1.0)")
    findings = []
    producer = "sarif"
    created = None
    if not doc.runs:
        raise ReportError(name, "runs is empty: no tool run is recorded, so nothing was scanned")
    for run_index, run in enumerate(doc.runs):
        # An absent results array means the run computed none (SARIF 2.1.0, 3.14.23): that is an
        # incomplete scan, not a clean one; so is an invocation that says it did not succeed.
        if run.results is None:
            raise ReportError(
                name, f"runs[{run_index}].results is absent: the run computed no results"
            )
        for n, invocation in enumerate(run.invocations or ()):
            if invocation.executionSuccessful is False:
                raise ReportError(
                    name,
                    f"runs[{run_index}].invocations[{n}].executionSuccessful is false: "
                    "the scan did not complete",
                )
        driver = run.tool.driver if run.tool is not None else None
        rules = (driver.rules if driver is not None else None) or []
        by_id = {rule.id: rule for rule in rules if rule.id}
        if driver is not None and driver.name and producer == "sarif":
            producer = driver.name.lower()
        for invocation in run.invocations or ():
            created = created or parse_time(invocation.endTimeUtc or invocation.startTimeUtc)
        for index, result in enumerate(run.results or ()):
            where = f"runs[{run_index}].results[{index}]"
            rule = by_id.get(result.ruleId) if result.ruleId else None
            if rule is None and result.ruleIndex is not None and 0 <= result.ruleIndex < len(rules):
                rule = rules[result.ruleIndex]
            rule_id = result.ruleId or (rule.id if rule is not None else None) or "unknown-rule"
            level = result.level
            if level is None and rule is not None and rule.defaultConfiguration is not None:
                level = rule.defaultConfiguration.level
            raw_score = result.properties.security_severity if result.properties else None
            if raw_score is None and rule is not None and rule.properties is not None:
                raw_score = rule.properties.security_severity
            path = line = None
            if result.locations:
                physical = result.locations[0].physicalLocation
                if physical is not None:
                    if physical.artifactLocation is not None:
                        path = physical.artifactLocation.uri
                    if physical.region is not None:
                        line = physical.region.startLine
            try:
                graded = security_severity(raw_score)
            except ValueError:
                raise undocumented(
                    name, f"{where} security-severity", raw_score, "a number is required"
                ) from None
            findings.append(
                Finding(
                    id=rule_id,
                    severity=severity_from(
                        _LEVELS, level, name, f"{where}.level", missing="warning"
                    ),
                    path=path,
                    line=line,
                    rule=rule_id,
                    fingerprint=_fingerprint(result),
                    security_severity=graded,
                )
            )
    return Report(
        kind=ReportKind.sarif,
        name=name,
        producer=producer,
        findings=tuple(findings),
        created_at=created,
    )
