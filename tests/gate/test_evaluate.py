"""Rule table for the evaluation: KEV, EPSS, GHSA aliases, exceptions, bundle-level rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from tests.gate.conftest import grype_match as m

from belay.gate import (
    BundleFacts,
    EpssScores,
    EvaluationContext,
    Intel,
    KevCatalog,
    Policy,
    Submission,
    Verdict,
    evaluate,
    parse_policy_set,
    parse_report,
)

NOW = datetime(2025, 6, 2, tzinfo=UTC)


def _policy(text: str) -> Policy:
    return parse_policy_set(text, source="test.yaml").default


def _judge(
    report: bytes, policy: str, *, intel: Intel | None = None, now: datetime = NOW
) -> Verdict:
    submission = Submission(reports=(parse_report(report, "grype.json"),))
    return evaluate(submission, _policy(policy), EvaluationContext(now=now, intel=intel or Intel()))


def _status(verdict: Verdict) -> dict[str, str]:
    return {r.rule: r.status for r in verdict.reasons}


KEV_POLICY = """
grype:
  kevLimitEnabled: true
  severityLimit: {critical: {enabled: true, limit: 0}}
"""


def test_kev_fails_whatever_severity(make_grype: Callable[..., bytes]) -> None:
    """A KEV-listed Low finding fails with kevLimitEnabled although Low has no limit."""
    intel = Intel(kev=KevCatalog(cves=frozenset({"CVE-2021-44228"})))
    verdict = _judge(
        make_grype(m("CVE-2021-44228", "Low", package="log4j")), KEV_POLICY, intel=intel
    )
    assert _status(verdict) == {"grype.kev": "fail", "grype.critical": "pass"}
    assert "CVE-2021-44228 (log4j 1.0)" in verdict.reasons[0].message


def test_kev_matched_through_ghsa_alias(make_grype: Callable[..., bytes]) -> None:
    """A GHSA finding is KEV-listed through its CVE alias."""
    intel = Intel(kev=KevCatalog(cves=frozenset({"CVE-2021-44228"})))
    report = make_grype(m("GHSA-jfh8-c2jp-5v3q", "Negligible", related=("CVE-2021-44228",)))
    verdict = _judge(report, KEV_POLICY, intel=intel)
    assert _status(verdict)["grype.kev"] == "fail"
    assert "GHSA-jfh8-c2jp-5v3q/CVE-2021-44228" in verdict.reasons[0].message


def test_kev_flag_in_report_counts(make_grype: Callable[..., bytes]) -> None:
    """grype's own knownExploited field is honoured."""
    verdict = _judge(make_grype(m("CVE-2024-1", "Medium", kev=True)), KEV_POLICY)
    assert _status(verdict)["grype.kev"] == "fail"


def test_kev_without_catalog_fails_closed(make_grype: Callable[..., bytes]) -> None:
    """kevLimitEnabled with no catalog and no report data cannot be judged: it fails."""
    verdict = _judge(make_grype(m("CVE-2024-1", "Low")), KEV_POLICY)
    assert _status(verdict)["grype.kev"] == "fail"
    assert "no KEV catalog" in verdict.reasons[0].message


EPSS_ACCEPT = """
grype:
  severityLimit: {high: {enabled: true, limit: 0}}
  epssRiskAcceptance: {enabled: true, score: 0.01}
"""


def test_epss_acceptance_needs_a_score(make_grype: Callable[..., bytes]) -> None:
    """Low EPSS is accepted; a finding with no EPSS score is not (missing data fails closed)."""
    report = make_grype(m("CVE-1", "High", epss=0.001), m("CVE-2", "High"))
    verdict = _judge(report, EPSS_ACCEPT)
    reason = verdict.reasons[0]
    assert reason.status == "fail"
    assert reason.message.startswith("1 high vulnerability (limit 0)")
    assert "CVE-2 (pkg 1.0)" in reason.message
    assert "accepted by epssRiskAcceptance" in reason.message


def test_epss_from_data_file_through_alias(make_grype: Callable[..., bytes]) -> None:
    """EPSS scores from the policy's data file apply to GHSA findings through CVE aliases."""
    intel = Intel(epss=EpssScores(scores={"CVE-2020-8203": 0.0004}))
    report = make_grype(m("GHSA-p6mc-m468-83gw", "High", related=("CVE-2020-8203",)))
    verdict = _judge(report, EPSS_ACCEPT, intel=intel)
    assert verdict.decision == "pass"
    assert verdict.reasons[0].status == "accepted"


def test_epss_limit(make_grype: Callable[..., bytes]) -> None:
    """epssLimit fails a finding scored above the limit whatever its severity."""
    policy = "grype: {epssLimit: {enabled: true, score: 0.5}}"
    verdict = _judge(make_grype(m("CVE-9", "Low", epss=0.9), m("CVE-8", "Low", epss=0.2)), policy)
    assert _status(verdict) == {"grype.epss": "fail"}
    assert "CVE-9" in verdict.reasons[0].message
    assert "CVE-8" not in verdict.reasons[0].message


def test_cve_deny_beats_acceptance(make_grype: Callable[..., bytes]) -> None:
    """cveLimit (deny) matches aliases and wins over cveRiskAcceptance."""
    policy = """
grype:
  cveLimit: {enabled: true, cves: [{id: CVE-2020-8203}]}
  cveRiskAcceptance: {enabled: true, cves: [{id: CVE-2020-8203}]}
"""
    report = make_grype(m("GHSA-p6mc-m468-83gw", "Low", related=("CVE-2020-8203",)))
    assert _status(_judge(report, policy)) == {"grype.cve_deny": "fail"}


EXCEPTION_POLICY = """
grype:
  severityLimit: {critical: {enabled: true, limit: 0}}
belay:
  exceptions:
    - id: CVE-2019-10744
      package: lodash
      reason: not reachable from our code
      owner: alice
      expires: {expires}
"""


@pytest.mark.parametrize(
    ("expires", "status", "words"),
    [
        ("2025-06-30", "accepted", "exception CVE-2019-10744 (owner alice, expires 2025-06-30)"),
        ("2025-06-01", "fail", "CVE-2019-10744 (owner alice) expired 2025-06-01"),
    ],
)
def test_exceptions_apply_until_they_expire(
    make_grype: Callable[..., bytes], expires: str, status: str, words: str
) -> None:
    """A live exception accepts (naming owner and expiry); an expired one does not, and says so."""
    report = make_grype(
        m("GHSA-jf85-cpcp-j695", "Critical", package="lodash", related=("CVE-2019-10744",))
    )
    verdict = _judge(report, EXCEPTION_POLICY.replace("{expires}", expires))
    assert verdict.reasons[0].status == status
    assert words in verdict.reasons[0].message


def test_exception_scope_limits_it(make_grype: Callable[..., bytes]) -> None:
    """An exception scoped to a package does not cover the same CVE in another package."""
    report = make_grype(m("CVE-2019-10744", "Critical", package="lodash-es"))
    verdict = _judge(report, EXCEPTION_POLICY.replace("{expires}", "2030-01-01"))
    assert verdict.decision == "fail"


def test_commit_binding_and_freshness() -> None:
    """commit.binding compares the bundle's commit with the deployed one; freshness ages."""
    policy = _policy(
        "gitleaks: {limitEnabled: true}\n"
        "belay: {commitBinding: {enabled: true}, freshness: {enabled: true, maxAgeHours: 24}}"
    )
    report = parse_report(b"[]", "gitleaks.json")
    facts = BundleFacts(
        name="b.tgz", created_at=NOW - timedelta(hours=2), commit=("ABC123" * 7)[:40]
    )
    submission = Submission(reports=(report,), bundle=facts)
    good = evaluate(
        submission, policy, EvaluationContext(now=NOW, deploy_commit=("abc123" * 7)[:40])
    )
    assert good.decision == "pass"
    wrong = evaluate(
        submission, policy, EvaluationContext(now=NOW, deploy_commit=("def456" * 7)[:40])
    )
    assert _status(wrong)["commit.binding"] == "fail"
    late = evaluate(
        submission,
        policy,
        EvaluationContext(now=NOW + timedelta(days=2), deploy_commit=("abc123" * 7)[:40]),
    )
    assert _status(late)["freshness"] == "fail"
    assert "older than 24h" in late.reasons[1].message


def test_required_clamav_and_coverage() -> None:
    """required.<report>, clamav.infected and coverage thresholds."""
    policy = _policy(
        "coverage: {lineThreshold: 0.8}\n"
        "belay: {requiredReports: [grype, clamav], clamav: {enabled: true}}"
    )
    clam = parse_report(
        b"/tmp/x/eicar.com: Eicar-Signature FOUND\n\n----------- SCAN SUMMARY -----------\n"
        b"Infected files: 1\n",
        "clamav-virus-report.txt",
    )
    lcov = parse_report(b"TN:\nSF:a.py\nLF:10\nLH:9\nend_of_record\n", "lcov.info")
    verdict = evaluate(Submission(reports=(clam, lcov)), policy, EvaluationContext(now=NOW))
    assert _status(verdict) == {
        "required.grype": "fail",
        "required.clamav": "pass",
        "clamav.infected": "fail",
        "coverage.line": "pass",
    }
    assert "/tmp/x/eicar.com: Eicar-Signature" in verdict.reasons[2].message


def test_http_truncation_keeps_failures() -> None:
    """for_http cuts to 50 reasons of 300 characters, failures first; the full list remains."""
    from belay.gate import Reason, make_verdict

    reasons = [Reason(rule=f"r.{i}", status="pass", message="x" * 500) for i in range(60)]
    reasons.append(Reason(rule="grype.critical", status="fail", message="boom"))
    verdict = make_verdict(reasons)
    cut = verdict.for_http()
    assert len(verdict.reasons) == 61
    assert len(cut.reasons) == 50
    assert cut.reasons[0].rule == "grype.critical"
    assert max(len(r.message) for r in cut.reasons) == 300
    assert cut.document()["verdict"]["decision"] == "fail"
