"""Parsers for the formats the fixtures do not cover, and detection of bad input."""

from __future__ import annotations

import pytest

from belay import jsonio
from belay.gate import ReportError, parse_report

SARIF = {
    "version": "2.1.0",
    "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
    "runs": [
        {
            "tool": {
                "driver": {
                    "name": "CodeQL",
                    "rules": [
                        {"id": "js/sql-injection", "properties": {"security-severity": "8.8"}},
                        {"id": "js/unused", "defaultConfiguration": {"level": "note"}},
                    ],
                }
            },
            "invocations": [{"endTimeUtc": "2025-06-01T10:00:00Z", "executionSuccessful": True}],
            "results": [
                {
                    "ruleId": "js/sql-injection",
                    "level": "error",
                    "message": {"text": "x"},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": "src/db.js"},
                                "region": {"startLine": 7},
                            }
                        }
                    ],
                    "partialFingerprints": {"primaryLocationLineHash": "abc"},
                },
                {"ruleIndex": 1, "message": {"text": "y"}},
            ],
        }
    ],
}

TRIVY = {
    "SchemaVersion": 2,
    "ArtifactName": "alpine:3.9",
    "ArtifactType": "container_image",
    "Results": [
        {
            "Target": "alpine:3.9 (alpine 3.9.4)",
            "Class": "os-pkgs",
            "Vulnerabilities": [
                {
                    "VulnerabilityID": "CVE-2019-14697",
                    "PkgName": "musl",
                    "InstalledVersion": "1.1.20-r4",
                    "Severity": "CRITICAL",
                },
                {
                    "VulnerabilityID": "CVE-2019-1549",
                    "PkgName": "openssl",
                    "InstalledVersion": "1.1.1b-r1",
                    "Severity": "MEDIUM",
                },
            ],
        }
    ],
}


def test_sarif_levels_and_security_severity() -> None:
    """SARIF: result level, rule default level, security-severity band, location, producer."""
    report = parse_report(jsonio.dumps(SARIF), "codeql.sarif")
    first, second = report.findings
    assert report.kind == "sarif"
    assert report.producer == "codeql"
    assert (first.severity, first.security_severity, first.path, first.line) == (
        "error",
        "high",
        "src/db.js",
        7,
    )
    assert (second.rule, second.severity) == ("js/unused", "note")
    assert report.created_at is not None


def test_trivy() -> None:
    """trivy JSON: vulnerabilities with package and severity."""
    report = parse_report(jsonio.dumps(TRIVY), "trivy.json")
    assert report.kind == "trivy"
    assert [(f.id, f.severity, f.package) for f in report.findings] == [
        ("CVE-2019-14697", "critical", "musl"),
        ("CVE-2019-1549", "medium", "openssl"),
    ]


def test_coverage_formats() -> None:
    """lcov, Cobertura and Clover give line/function/branch fractions."""
    lcov = parse_report(
        b"TN:\nSF:a.py\nFNF:4\nFNH:2\nLF:10\nLH:8\nBRF:4\nBRH:1\nend_of_record\n", "lcov.info"
    )
    assert lcov.coverage is not None
    assert (lcov.coverage.line, lcov.coverage.function, lcov.coverage.branch) == (0.8, 0.5, 0.25)
    cobertura = parse_report(
        b'<?xml version="1.0"?><coverage line-rate="0.75" branch-rate="0.5" version="1">'
        b"<packages/></coverage>",
        "coverage.xml",
    )
    assert cobertura.producer == "cobertura"
    assert cobertura.coverage is not None
    assert cobertura.coverage.line == 0.75
    clover = parse_report(
        b'<coverage generated="1"><project><metrics statements="10" coveredstatements="9" '
        b'methods="2" coveredmethods="1" conditionals="0" coveredconditionals="0"/></project>'
        b"</coverage>",
        "clover.xml",
    )
    assert clover.coverage is not None
    assert (clover.coverage.line, clover.coverage.function, clover.coverage.branch) == (
        0.9,
        0.5,
        None,
    )


def test_clamav_needs_summary() -> None:
    """ClamAV: FOUND lines and the summary; a report cut before its summary is refused."""
    text = (
        b"/scan/image.tar!layer/eicar.txt: Win.Test.EICAR_HDB-1 FOUND\n\n"
        b"----------- SCAN SUMMARY -----------\nKnown viruses: 8700000\nInfected files: 1\n"
        b"Start Date: 2025:06:01 10:00:00\nEnd Date:   2025:06:01 10:05:00\n"
    )
    report = parse_report(text, "clamav-virus-report.txt")
    assert report.infected == 1
    assert report.findings[0].id == "Win.Test.EICAR_HDB-1"
    assert report.created_at is not None
    with pytest.raises(ReportError, match="no scan summary"):
        parse_report(b"x: Eicar FOUND\nInfected files: 1\n", "clamav.txt")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty file"),
        (b'{"hello": "world"}', "unknown report format"),
        (b'{"matches": "nope"}', "not a valid grype report"),
        (b'{"matches": [', "not valid JSON"),
        (b"[1, 2]", "not a gitleaks report"),
        (b"random words", "not a report of a known format"),
        (b"<html></html>", "not a coverage report"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><coverage/>', "not valid XML"),
        (b'{"version": "2.0.0", "runs": [], "$schema": "sarif"}', "not supported"),
    ],
)
def test_bad_input_names_file_and_problem(data: bytes, words: str) -> None:
    """Bad input raises one ReportError naming the file and the problem."""
    with pytest.raises(ReportError, match=words) as caught:
        parse_report(data, "input.json")
    assert str(caught.value).startswith("input.json: ")
    assert "\n" not in str(caught.value)
