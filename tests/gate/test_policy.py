"""Policy loading: gatecheck vocabulary as is, Belay extensions, clear errors, branches."""

from __future__ import annotations

from pathlib import Path

import pytest

from belay.gate import PolicyError, load_policy_set, parse_policy_set
from belay.policies import PACKAGED_POLICIES

REPO = Path(__file__).resolve().parents[2]


def test_gatecheck_files_load(scans: Path) -> None:
    """Portage's defaults and gatecheck's full sample (with metadata) load unchanged."""
    defaults = load_policy_set(scans / "portage-gatecheck.defaults.yml").default
    assert defaults.grype.severity_limit.enabled() == {"critical": 0, "high": 0}
    assert defaults.grype.epss_risk_acceptance.score == 0.001
    assert defaults.semgrep.impact_risk_acceptance.accepted() == {"low"}
    assert defaults.gitleaks.limit_enabled
    sample = load_policy_set(scans / "gatecheck.yaml").default
    assert sample.metadata.tags == ["auto generated from CLI"]


@pytest.mark.parametrize("name", ["default.yaml", "strict.yaml"])
def test_shipped_policies_load(name: str) -> None:
    """The shipped policies are valid."""
    policy_set = load_policy_set(PACKAGED_POLICIES / name)
    assert policy_set.warnings == ()
    assert "grype" in policy_set.default.belay.required_reports


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("grype: {severityLimits: {}}", "test.yaml: grype.severityLimits: unknown key"),
        ("grype: {severityLimit: {critical: {limit: many}}}", "grype.severityLimit.critical.limit"),
        ("gitleaks: {limitEnabled: [1]}", "gitleaks.limitEnabled"),
        ("belay: {requiredReports: [nessus]}", "belay.requiredReports.0"),
        ("belay: {exceptions: [{id: CVE-1, reason: r, owner: o}]}", "expires: Field required"),
        ("grype: [", "not valid YAML at line"),
        ("- a", "must be a mapping"),
        ("branches: {main: {grype: {nope: 1}}}", "branches.main.grype.nope: unknown key"),
    ],
)
def test_errors_name_file_and_key(text: str, words: str) -> None:
    """Unknown keys and wrong types are errors naming the file and the key path."""
    with pytest.raises(PolicyError, match=words.replace(".", r"\.").replace("[", r"\[")):
        parse_policy_set(text, source="test.yaml")


def test_legacy_api_block_warns() -> None:
    """The legacy api block is accepted and ignored with a warning."""
    policy_set = parse_policy_set("api: {enabled: true, endpoint: x}", source="p.yaml")
    assert policy_set.warnings == ("p.yaml: the legacy 'api' block is ignored",)


def test_branch_overrides_merge() -> None:
    """A branch override merges maps onto the default; first matching pattern wins."""
    text = """
grype: {severityLimit: {critical: {enabled: true, limit: 0}, high: {enabled: true, limit: 0}}}
branches:
  "feature/*": {grype: {severityLimit: {high: {limit: 5}}}}
"""
    policy_set = parse_policy_set(text, source="p.yaml")
    assert policy_set.for_branch("feature/x").grype.severity_limit.enabled() == {
        "critical": 0,
        "high": 5,
    }
    assert policy_set.for_branch("main").grype.severity_limit.enabled()["high"] == 0
