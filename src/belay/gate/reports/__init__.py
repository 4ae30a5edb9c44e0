"""Report parsers: one module per format, a detector that picks the format from content.

:func:`parse_report` takes the bytes and a name (for messages) and returns a typed
:class:`Report`, or raises :class:`~belay.gate.errors.ReportError` naming the file.
"""

from __future__ import annotations

from belay.gate.reports.detect import PARSERS, detect_kind, parse_report
from belay.gate.reports.model import Coverage, Finding, Report, ReportKind

__all__ = ["PARSERS", "Coverage", "Finding", "Report", "ReportKind", "detect_kind", "parse_report"]
