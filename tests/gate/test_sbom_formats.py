"""syft's native JSON and SPDX JSON SBOMs: detected from content, counted, and they satisfy
``required.syft`` / ``required.spdx`` (the README says syft; users have all three formats)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from belay import jsonio
from belay.gate import (
    EvaluationContext,
    ReportError,
    ReportKind,
    Submission,
    evaluate,
    parse_policy_set,
    parse_report,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)

SYFT_JSON = {
    "artifacts": [
        {"id": "a1", "name": "openssl", "version": "3.0.13", "type": "deb"},
        {"id": "a2", "name": "xz-utils", "version": "5.4.5", "type": "deb"},
    ],
    "artifactRelationships": [],
    "source": {"type": "image", "target": {"userInput": "app:1"}},
    "distro": {"name": "debian", "version": "12"},
    "descriptor": {"name": "syft", "version": "1.18.1"},
    "schema": {
        "version": "16.0.24",
        "url": "https://raw.githubusercontent.com/anchore/syft/main/schema/json/schema-16.0.24.json",
    },
}
SPDX_JSON = {
    "spdxVersion": "SPDX-2.3",
    "dataLicense": "CC0-1.0",
    "SPDXID": "SPDXRef-DOCUMENT",
    "name": "app",
    "documentNamespace": "https://anchore.com/syft/image/app-1",
    "creationInfo": {
        "created": "2026-06-01T11:00:00Z",
        "creators": ["Organization: Anchore, Inc", "Tool: syft-1.18.1"],
    },
    "packages": [
        {"SPDXID": "SPDXRef-Package-deb-openssl", "name": "openssl", "versionInfo": "3.0.13"}
    ],
}


def test_syft_native_json_is_read() -> None:
    """Detected as syft, producer syft, its packages counted."""
    report = parse_report(jsonio.dumps(SYFT_JSON), "syft-sbom-report.json")
    assert report.kind is ReportKind.syft
    assert report.producer == "syft"
    assert report.components == 2


def test_spdx_json_is_read_with_its_tool_and_time() -> None:
    """Detected as SPDX; the producer is the creating tool, the time creationInfo.created."""
    report = parse_report(jsonio.dumps(SPDX_JSON), "sbom.spdx.json")
    assert report.kind is ReportKind.spdx
    assert report.producer == "syft"
    assert report.components == 1
    assert report.created_at == datetime(2026, 6, 1, 11, tzinfo=UTC)


@pytest.mark.parametrize("doc", [SYFT_JSON, SPDX_JSON])
def test_either_satisfies_required_syft(doc: dict[str, object]) -> None:
    """A syft SBOM in any of its formats satisfies `required.syft`."""
    policy = parse_policy_set("belay: {requiredReports: [syft]}", source="p.yaml").default
    report = parse_report(jsonio.dumps(doc), "sbom.json")
    verdict = evaluate(Submission(reports=(report,)), policy, EvaluationContext(now=NOW))
    assert verdict.decision == "pass", verdict.reasons


def test_required_spdx_needs_an_spdx_document() -> None:
    """`required.spdx` is its own rule: a syft JSON document does not satisfy it."""
    policy = parse_policy_set("belay: {requiredReports: [spdx]}", source="p.yaml").default
    syft = parse_report(jsonio.dumps(SYFT_JSON), "sbom.json")
    verdict = evaluate(Submission(reports=(syft,)), policy, EvaluationContext(now=NOW))
    assert verdict.decision == "fail"


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({**SPDX_JSON, "spdxVersion": "SPDX-3.0"}, "only SPDX-2.x"),
        ({**SYFT_JSON, "descriptor": {"name": "trivy"}}, "descriptor.name"),
        ({**SYFT_JSON, "artifacts": 5}, "not a valid syft JSON report"),
    ],
)
def test_unknown_sbom_shapes_fail_closed(doc: dict[str, object], problem: str) -> None:
    """An SPDX version or a syft document Belay does not know is an error naming the file."""
    with pytest.raises(ReportError, match=problem):
        parse_report(jsonio.dumps(doc), "sbom.json")
