"""Turn inputs into a :class:`~belay.gate.evaluate.Submission`: a bundle or loose report files.

In a bundle, an entry that cannot be parsed is a failing ``bundle.report`` check (the build is
judged, and fails); loose files that cannot be parsed raise :class:`ReportError` (bad input).
"""

from __future__ import annotations

from collections.abc import Sequence

from belay.gate.bundle import Bundle
from belay.gate.errors import ReportError
from belay.gate.evaluate import BundleFacts, Submission
from belay.gate.reports import Report, parse_report
from belay.gate.reports._common import parse_time
from belay.gate.verdict import Reason

__all__ = ["submission_from_bundle", "submission_from_reports"]


def submission_from_bundle(bundle: Bundle) -> Submission:
    """Parse every report entry of ``bundle`` and collect the bundle's facts and checks."""
    reports: list[Report] = []
    checks = list(bundle.checks)
    for label, data in bundle.report_entries():
        try:
            reports.append(parse_report(data, label))
        except ReportError as err:
            checks.append(
                Reason(rule="bundle.report", status="fail", message=f"{bundle.name}: {err}")
            )
    manifest = bundle.manifest
    facts = BundleFacts(name=bundle.name)
    if manifest is not None:
        added = {}
        for label, entry in manifest.files.items():
            when = parse_time(entry.added_at)
            if when is not None:
                added[label] = when
        context = manifest.context
        facts = BundleFacts(
            name=bundle.name,
            created_at=parse_time(manifest.created_at),
            added_at=added,
            commit=(context.commit_hash or None) if context else None,
            branch=(context.branch or None) if context else None,
            remote=(context.remote or "").strip() or None if context else None,
        )
    return Submission(reports=tuple(reports), bundle=facts, checks=tuple(checks))


def submission_from_reports(files: Sequence[tuple[str, bytes]]) -> Submission:
    """Parse loose report files; the first unreadable one raises :class:`ReportError`."""
    return Submission(reports=tuple(parse_report(data, name) for name, data in files))
