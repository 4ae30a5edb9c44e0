"""docs/troubleshooting.md and docs/postgresql.md name only tests that exist, and cover the list.

Every ``tests/...py::test_...`` in the docs is handed to ``pytest --collect-only``: a renamed or
removed test, or a parameter id that no longer exists, fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "docs" / "troubleshooting.md", REPO / "docs" / "postgresql.md"]
NODE = re.compile(r"`(tests/[\w/]+\.py::\w+(?:\[[^\]`]+\])?)`")

# The symptoms of the Argo CD integration docs that the page must cover, each in its own row.
REQUIRED_SYMPTOMS = [
    "Missing status",
    "Remote `http://` rejected",
    "**401**",
    "**403**",
    "SSL error",
    "No diff evidence",
    "A named application fails",
]


def _node_ids() -> list[str]:
    found: list[str] = []
    for doc in DOCS:
        found += NODE.findall(doc.read_text(encoding="utf-8"))
    return sorted(set(found))


def test_every_named_test_exists() -> None:
    """pytest collects every node id the docs name (one collection run for all)."""
    nodes = _node_ids()
    assert len(nodes) >= 20
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *nodes],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    collected = set(result.stdout.splitlines())
    for node in nodes:
        if "[" in node:
            assert node in collected, f"{node} is not a collected test"
        else:
            assert any(c == node or c.startswith(node + "[") for c in collected), node


def test_every_row_names_a_test() -> None:
    """Each table row of the troubleshooting page names at least one test."""
    text = (REPO / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    body = [r for r in rows if not r.startswith("| symptom")]
    assert len(body) >= 15
    for row in body:
        assert NODE.search(row), f"row without a test: {row[:80]}"


def test_integration_symptoms_are_covered() -> None:
    """The Argo CD integration docs' symptoms each have a row."""
    text = (REPO / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    for symptom in REQUIRED_SYMPTOMS:
        assert any(symptom in row.split("|")[1] for row in rows), symptom
