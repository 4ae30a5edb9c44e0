"""docs/policy.md: every YAML example is a policy Belay loads, and the rules it names exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from belay.gate import parse_policy_set

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "policy.md"


def _yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_doc_has_examples() -> None:
    """The page shows at least the exception, branch and complete examples."""
    assert len(_yaml_blocks()) >= 3


@pytest.mark.parametrize("index", range(len(_yaml_blocks())))
def test_yaml_example_is_a_valid_policy(index: int) -> None:
    """Each example parses with the policy loader (unknown keys would be errors)."""
    policy_set = parse_policy_set(_yaml_blocks()[index], source=f"docs/policy.md block {index}")
    assert policy_set.default.version == "1"


def test_branch_example_merges_as_documented() -> None:
    """The branch example: feature branches get the override merged, others the base policy."""
    block = next(b for b in _yaml_blocks() if "branches:" in b)
    policy_set = parse_policy_set(block, source="docs/policy.md")
    feature = policy_set.for_branch("feature/login")
    main = policy_set.for_branch("main")
    assert feature.grype.severity_limit.high.limit == 5
    assert main.grype.severity_limit.high.limit == 0
    assert feature.belay.freshness.enabled and feature.belay.freshness.max_age_hours == 72
    assert main.belay.freshness.max_age_hours == 24
