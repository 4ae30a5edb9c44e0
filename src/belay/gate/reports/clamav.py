"""ClamAV ``clamscan`` text output: ``path: Signature FOUND`` lines and the scan summary.

The ``----------- SCAN SUMMARY -----------`` block with ``Infected files: N`` is required: without
it the scan did not finish (or the file was cut), and a partial scan is not a clean scan.
The infection count is the larger of the summary's number and the FOUND lines counted. Files
clamscan could not scan (``ERROR`` lines, ``Total errors: N``) are findings too: unscanned is
not clean; a summary saying no file was scanned or no signature was loaded is no scan at all.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from belay.gate.errors import ReportError
from belay.gate.reports.model import Finding, Report, ReportKind

__all__ = ["looks_like_clamav", "parse"]

_SUMMARY = b"----------- SCAN SUMMARY -----------"
_MAX_FIELD = 1024
_DATE = re.compile(rb"^(\d{4}):(\d\d):(\d\d) (\d\d):(\d\d):(\d\d)$")


def looks_like_clamav(data: bytes) -> bool:
    """Tell whether ``data`` has the shape of clamscan output (searched as bytes, not decoded)."""
    return _SUMMARY in data or b"\nInfected files:" in data or data.startswith(b"Infected files:")


def _text(raw: bytes) -> str:
    return raw[:_MAX_FIELD].decode("utf-8", errors="replace")


def _count(value: bytes) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 19 else None


class _Scan:
    """What one pass over clamscan's lines found (no regex over a whole line: no backtracking)."""

    def __init__(self) -> None:
        self.found: list[Finding] = []
        self.errors: list[Finding] = []
        self.summary: dict[bytes, int | None] = {}
        self.date: bytes | None = None
        self.has_summary = False

    def line(self, raw: bytes) -> None:
        line = raw.rstrip(b"\r\n \t")
        if line == _SUMMARY:
            self.has_summary = True
        elif line.endswith(b" FOUND"):
            path, sep, signature = line[:-6].rpartition(b": ")
            if sep and path and signature:
                name = _text(signature)
                self.found.append(
                    Finding(id=name, severity="infected", path=_text(path), rule=name)
                )
        elif line.endswith(b" ERROR"):
            path, sep, problem = line[:-6].rpartition(b": ")
            if sep and path:
                self.errors.append(
                    Finding(
                        id=f"not scanned: {_text(problem)}",
                        severity="scan-error",
                        path=_text(path),
                    )
                )
        else:
            key, sep, value = line.partition(b":")
            if not sep:
                return
            if key in (b"Infected files", b"Total errors", b"Scanned files", b"Known viruses"):
                self.summary[key] = _count(value)
            elif key in (b"End Date", b"Start Date"):
                self.date = value.strip()


def parse(data: bytes, name: str) -> Report:
    """Parse clamscan output, line by line over the bytes (only the lines that matter are
    decoded, so a large report costs no decoded copy of itself)."""
    scan = _Scan()
    for raw in io.BytesIO(data):
        scan.line(raw)
    infected = scan.summary.get(b"Infected files")
    if not scan.has_summary or infected is None:
        raise ReportError(name, "ClamAV report has no scan summary with 'Infected files: N'")
    for key, what in (
        (b"Scanned files", "no file was scanned"),
        (b"Known viruses", "no signature was loaded"),
    ):
        if scan.summary.get(key, 1) == 0:
            raise ReportError(name, f"ClamAV summary says '{key.decode()}: 0': {what}")
    errors = scan.errors
    counted = scan.summary.get(b"Total errors") or 0
    if counted > len(errors):
        errors = [
            *errors,
            Finding(id="not scanned: counted in 'Total errors'", severity="scan-error"),
        ]
    created = None
    match = _DATE.match(scan.date or b"")
    if match:
        year, month, day, hour, minute, second = (int(x) for x in match.groups())
        try:
            created = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            created = None
    return Report(
        kind=ReportKind.clamav,
        name=name,
        producer="clamav",
        findings=tuple(scan.found + errors),
        infected=max(infected, len(scan.found)),
        created_at=created,
    )
