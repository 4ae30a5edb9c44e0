"""The real fixture reports give the verdicts a person reaches by reading them.

Expected counts were written by hand from the files (see the shared SOURCE.md).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from belay.gate import (
    EvaluationContext,
    Policy,
    Submission,
    evaluate,
    load_intel,
    load_policy,
    parse_report,
)
from belay.policies import PACKAGED_POLICIES

NOW = datetime(2023, 7, 21, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


def _report(scans: Path, name: str):  # type: ignore[no-untyped-def]
    return parse_report((scans / name).read_bytes(), name)


def _strict(scans: Path) -> Policy:
    policy = load_policy(PACKAGED_POLICIES / "strict.yaml")
    data = policy.belay.data.model_copy(
        update={"kev": str(scans / "known_exploited_vulnerabilities.json"), "epss": None}
    )
    return policy.model_copy(update={"belay": policy.belay.model_copy(update={"data": data})})


def test_grype_fixture_counts(scans: Path) -> None:
    """grype-report.json: 62 matches, 8 Critical and 14 High, no EPSS or KEV data in it."""
    report = _report(scans, "grype-report.json")
    counts = Counter(f.severity for f in report.findings)
    assert report.kind == "grype"
    assert len(report.findings) == 62
    assert counts["critical"] == 8
    assert counts["high"] == 14
    assert counts["medium"] == 26
    assert all(f.epss is None and not f.kev for f in report.findings)
    ghsa = [f for f in report.findings if f.id == "GHSA-35jh-r3h4-6jhm"]
    assert ghsa[0].aliases == ("CVE-2021-23337",)
    assert ghsa[0].package == "lodash"


def test_semgrep_fixture_counts(scans: Path) -> None:
    """semgrep-sast-report.json: 14 ERROR results, exactly one of them of LOW impact."""
    report = _report(scans, "semgrep-sast-report.json")
    errors = [f for f in report.findings if f.severity == "error"]
    assert len(report.findings) == 62
    assert len(errors) == 14
    assert [f.impact for f in errors].count("low") == 1


def test_gitleaks_fixture_counts_and_no_secret(scans: Path) -> None:
    """gitleaks-report.json: 113 findings by rule; no secret value survives parsing."""
    report = _report(scans, "gitleaks-report.json")
    assert len(report.findings) == 113
    assert Counter(f.rule for f in report.findings) == {
        "generic-api-key": 81,
        "jwt": 29,
        "private-key": 3,
    }
    assert "PRIVATE KEY" not in repr(report)


@pytest.mark.parametrize(
    ("name", "producer", "components", "vulnerabilities"),
    [
        ("cyclonedx-grype-sbom.json", "grype", 101, 19),
        ("cyclonedx-syft-sbom.json", "syft", 102, 0),
        ("cyclonedx-trivy-sbom.json", "trivy", 102, 13),
        ("ubuntu_latest_20240125.syft_sbom.json", "syft", 103, 0),
    ],
)
def test_cyclonedx_fixtures_detected_by_content(
    scans: Path, name: str, producer: str, components: int, vulnerabilities: int
) -> None:
    """CycloneDX files are CycloneDX whatever their name says (cyclonedx-grype is not grype)."""
    report = _report(scans, name)
    assert report.kind == "cyclonedx"
    assert report.producer == producer
    assert report.components == components
    assert len(report.findings) == vulnerabilities


def test_portage_defaults_verdict(scans: Path) -> None:
    """Under Portage's defaults the Juice Shop scans fail on grype, semgrep and gitleaks."""
    reports = tuple(
        _report(scans, n)
        for n in ("grype-report.json", "semgrep-sast-report.json", "gitleaks-report.json")
    )
    verdict = evaluate(
        Submission(reports=reports),
        load_policy(scans / "portage-gatecheck.defaults.yml"),
        EvaluationContext(now=NOW),
    )
    by_rule = {r.rule: r for r in verdict.reasons}
    assert verdict.decision == "fail"
    assert set(by_rule) == {"grype.critical", "grype.high", "semgrep.error", "gitleaks.secrets"}
    assert by_rule["grype.critical"].message.startswith("8 critical vulnerabilities (limit 0)")
    assert "GHSA-jf85-cpcp-j695/CVE-2019-10744 (lodash 2.4.2)" in by_rule["grype.critical"].message
    # No EPSS data: epssRiskAcceptance accepts nothing (gatecheck would treat missing as 0).
    assert by_rule["grype.high"].message.startswith("14 high vulnerabilities")
    assert "nothing accepted by EPSS" in by_rule["grype.high"].message
    assert by_rule["semgrep.error"].message.startswith("13 ERROR results (limit 0)")
    assert "1 finding accepted by impactRiskAcceptance (low impact)" in (
        by_rule["semgrep.error"].message
    )
    assert by_rule["gitleaks.secrets"].message.startswith("113 secrets in gitleaks-report.json")


def test_portage_defaults_pass_for_clean_sbom(scans: Path) -> None:
    """A syft SBOM alone has nothing the defaults judge: the verdict passes only if rules ran."""
    report = _report(scans, "cyclonedx-syft-sbom.json")
    verdict = evaluate(
        Submission(reports=(report,)),
        load_policy(scans / "portage-gatecheck.defaults.yml"),
        EvaluationContext(now=NOW),
    )
    # No rule applies to a syft SBOM under gatecheck's vocabulary: nothing judged is a fail.
    assert verdict.decision == "fail"
    assert verdict.summary == "fail: no rule could be judged"


def test_all_disabled_gatecheck_sample_passes(scans: Path) -> None:
    """gatecheck.yaml disables everything: the CycloneDX grype SBOM passes its (empty) rules."""
    report = _report(scans, "cyclonedx-grype-sbom.json")
    policy = load_policy(scans / "gatecheck.yaml")
    verdict = evaluate(Submission(reports=(report,)), policy, EvaluationContext(now=NOW))
    assert verdict.decision == "fail"  # no enabled rule: Belay never passes on nothing
    policy = policy.model_copy(
        update={
            "cyclonedx": policy.cyclonedx.model_copy(
                update={
                    "severity_limit": policy.cyclonedx.severity_limit.model_copy(
                        update={
                            "high": policy.cyclonedx.severity_limit.high.model_copy(
                                update={"enabled": True}
                            )
                        }
                    )
                }
            )
        }
    )
    verdict = evaluate(Submission(reports=(report,)), policy, EvaluationContext(now=NOW))
    assert verdict.decision == "pass"
    assert verdict.reasons[0].message.startswith("0 high vulnerabilities (limit 0)")


def test_strict_verdict(scans: Path) -> None:
    """Under the strict policy the loose fixtures also fail on warnings, binding and clamav."""
    reports = tuple(
        _report(scans, n)
        for n in (
            "grype-report.json",
            "semgrep-sast-report.json",
            "gitleaks-report.json",
            "cyclonedx-syft-sbom.json",
        )
    )
    policy = _strict(scans)
    intel = load_intel(Path(policy.belay.data.kev or ""), None)
    verdict = evaluate(
        Submission(reports=reports),
        policy,
        EvaluationContext(now=NOW, deploy_commit="abc", intel=intel),
    )
    status = {r.rule: r.status for r in verdict.reasons}
    assert verdict.decision == "fail"
    assert status["commit.binding"] == "fail"  # loose reports name no commit
    assert status["required.clamav"] == "fail"
    assert status["required.syft"] == "pass"
    assert status["grype.kev"] == "pass"  # no fixture id is in the 2022 KEV catalog
    assert status["grype.epss"] == "pass"  # no EPSS data: nothing exceeds the limit
    assert status["semgrep.warning"] == "fail"
    assert status["freshness"] == "fail"  # semgrep and gitleaks carry no timestamp
    assert status["cyclonedx.critical"] == "pass"
