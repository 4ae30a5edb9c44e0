"""The findings behind a rule, as the submission page orders them (``?sort=``)."""

from __future__ import annotations

import pytest

from belay.web.views import FINDING_SORTS, _grouped

VERDICT = {
    "reasons": [
        {
            "rule": "grype.high",
            "status": "fail",
            "message": "3 high vulnerabilities",
            "findings_total": 3,
            "findings": [
                {"id": "CVE-3", "severity": "low", "package": "zlib", "epss": 0.2, "path": "b"},
                {"id": "CVE-1", "severity": "critical", "package": "openssl", "epss": None},
                {"id": "CVE-2", "severity": "high", "package": "bash", "epss": 0.9, "path": "a"},
            ],
        }
    ]
}


@pytest.mark.parametrize(
    ("order", "ids"),
    [
        (None, ["CVE-3", "CVE-1", "CVE-2"]),
        ("severity", ["CVE-1", "CVE-2", "CVE-3"]),
        ("epss", ["CVE-2", "CVE-3", "CVE-1"]),
        ("package", ["CVE-2", "CVE-1", "CVE-3"]),
        ("id", ["CVE-1", "CVE-2", "CVE-3"]),
        ("path", ["CVE-2", "CVE-3", "CVE-1"]),
        ("bogus", ["CVE-3", "CVE-1", "CVE-2"]),
    ],
)
def test_rows_sort_by_the_chosen_column(order: str | None, ids: list[str]) -> None:
    """Severity worst first, EPSS highest first (no score last), text columns alphabetically;
    an unknown order leaves the stored order."""
    [reason] = _grouped(VERDICT, order)["fail"]
    assert [row["id"] for row in reason["findings"]] == ids
    assert reason["findings_total"] == 3


def test_every_offered_sort_is_tested() -> None:
    """Each order the page links to has a case above (a new one must be given its expectation)."""

    tested = {"severity", "epss", "package", "id", "path"}
    assert set(FINDING_SORTS) == tested
