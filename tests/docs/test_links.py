"""The README's Documentation section and the docs link only to files that exist."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OWN_DOCS = ("configuration", "policy", "postgresql", "troubleshooting", "flow")
PAGES = [
    REPO / "README.md",
    REPO / "deploy" / "README.md",
    *(REPO / "docs" / f"{name}.md" for name in OWN_DOCS),
]


def test_relative_links_resolve() -> None:
    """Every relative Markdown link points at an existing file or folder."""
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(REPO)} -> {target}")
    assert not broken, broken


def test_readme_lists_the_operations_docs_after_the_two_commands() -> None:
    """README keeps the two commands first and links each operations page at its end."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert text.index("make demo") < text.index("## Documentation")
    section = text[text.index("## Documentation") :]
    for page in ("flow", "configuration", "policy", "postgresql", "troubleshooting"):
        assert f"docs/{page}.md" in section


def test_flow_has_a_mermaid_and_a_text_picture() -> None:
    """docs/flow.md draws the flow twice: Mermaid for renderers, plain text for terminals."""
    text = (REPO / "docs" / "flow.md").read_text(encoding="utf-8")
    assert "```mermaid\nflowchart" in text
    mermaid = text.split("```mermaid", 1)[1].split("```", 1)[0]
    assert "Argo CD API server" in mermaid
    assert "Argo CD API server" in text.split("```mermaid", 1)[1].split("```", 2)[2]
