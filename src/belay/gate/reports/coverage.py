"""Coverage reports: lcov tracefiles, Cobertura XML and Clover XML (the formats gatecheck reads).

Each gives line, function and branch fractions where the format carries them. XML is parsed with
defusedxml (no entity expansion, no external entities).
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from belay.gate.errors import ReportError
from belay.gate.reports.model import Coverage, Report, ReportKind

__all__ = ["looks_like_lcov", "parse_lcov", "parse_xml"]


def looks_like_lcov(text: str) -> bool:
    """Tell whether ``text`` has the shape of an lcov tracefile."""
    return "end_of_record" in text and ("\nSF:" in text or text.startswith(("SF:", "TN:")))


def _fraction(hit: int, found: int) -> float | None:
    return hit / found if found > 0 else None


def parse_lcov(data: bytes, name: str) -> Report:
    """Parse an lcov tracefile (sums of LF/LH, FNF/FNH, BRF/BRH over all records)."""
    totals = {"LF": 0, "LH": 0, "FNF": 0, "FNH": 0, "BRF": 0, "BRH": 0}
    text = data.decode("utf-8", errors="replace")
    for raw in text.splitlines():
        key, sep, value = raw.strip().partition(":")
        if sep and key in totals:
            try:
                totals[key] += int(value)
            except ValueError:
                raise ReportError(name, f"lcov line {raw.strip()[:40]!r} has no number") from None
    coverage = Coverage(
        line=_fraction(totals["LH"], totals["LF"]),
        function=_fraction(totals["FNH"], totals["FNF"]),
        branch=_fraction(totals["BRH"], totals["BRF"]),
    )
    return Report(kind=ReportKind.coverage, name=name, producer="lcov", coverage=coverage)


def _rate(element: Element, attribute: str) -> float | None:
    value = element.get(attribute)
    if value is None:
        return None
    try:
        rate = float(value)
    except ValueError:
        return None
    return rate if 0.0 <= rate <= 1.0 else None


def _int(element: Element, attribute: str) -> int:
    try:
        return int(element.get(attribute, "0"))
    except ValueError:
        return 0


def parse_xml(data: bytes, name: str) -> Report:
    """Parse Cobertura or Clover XML, told apart by their structure."""
    try:
        root = SafeET.fromstring(data)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as err:
        raise ReportError(name, f"not valid XML: {err}") from None
    if root.tag != "coverage":
        raise ReportError(name, f"XML root <{root.tag}> is not a coverage report")
    project = root.find("project")
    if project is not None and project.find("metrics") is not None:
        metrics = project.find("metrics")
        assert metrics is not None
        coverage = Coverage(
            line=_fraction(_int(metrics, "coveredstatements"), _int(metrics, "statements")),
            function=_fraction(_int(metrics, "coveredmethods"), _int(metrics, "methods")),
            branch=_fraction(_int(metrics, "coveredconditionals"), _int(metrics, "conditionals")),
        )
        producer = "clover"
    elif root.get("line-rate") is not None:
        coverage = Coverage(
            line=_rate(root, "line-rate"), function=None, branch=_rate(root, "branch-rate")
        )
        producer = "cobertura"
    else:
        raise ReportError(
            name, "coverage XML is neither Cobertura (line-rate) nor Clover (metrics)"
        )
    return Report(kind=ReportKind.coverage, name=name, producer=producer, coverage=coverage)
