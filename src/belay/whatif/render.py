"""A replay's result as plain text or as a Markdown table for a merge request. Pure."""

from __future__ import annotations

from belay.commits import short_sha
from belay.whatif.model import Flip, WhatIfResult

__all__ = ["render_markdown", "render_text"]


def _rules(flip: Flip) -> str:
    return ", ".join(f"{c.rule} {c.before}->{c.after}" for c in flip.rules) or "-"


def _head(result: WhatIfResult) -> list[str]:
    since = result.since.strftime("%Y-%m-%d %H:%M UTC") if result.since else "all history"
    return [
        f"Candidate: {result.candidate} (sha256 {result.candidate_sha256[:16]})",
        f"Projects: {', '.join(result.projects) or '-'}; since {since}",
        f"Evaluated {result.evaluated}: {result.unchanged} unchanged, "
        f"{len(result.flipped)} flipped, {len(result.skipped)} skipped.",
    ]


def render_text(result: WhatIfResult) -> str:
    """Aligned columns: submission, project, commit, decided, before -> after, rules."""
    lines = _head(result)
    if result.flipped:
        rows = [("submission", "project", "commit", "decided (UTC)", "change", "rules")]
        rows += [
            (
                f.submission,
                f.project or "-",
                short_sha(f.commit) or "-",
                f.decided_at.strftime("%Y-%m-%d %H:%M"),
                f"{f.before} -> {f.after}",
                _rules(f),
            )
            for f in result.flipped
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines.append("")
        for row in rows:
            cells = [c.ljust(w) for c, w in zip(row[:5], widths, strict=True)]
            lines.append("  ".join([*cells, row[5]]))
    for skip in result.skipped:
        lines.append(f"skipped {skip.submission}: {skip.reason}")
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(result: WhatIfResult, *, link_base: str | None = None) -> str:
    """A Markdown section with a table of flips (linked to their pages under ``link_base``)."""
    lines = ["### Policy what-if", "", *(f"- {line}" for line in _head(result)), ""]
    if result.flipped:
        lines += [
            "| submission | project | commit | decided (UTC) | before → after | rules |",
            "|---|---|---|---|---|---|",
        ]
        for f in result.flipped:
            name = f"`{f.submission[:8]}`"
            if link_base:
                name = f"[{name}]({link_base.rstrip('/')}/submissions/{f.submission})"
            lines.append(
                f"| {name} | {_cell(f.project or '-')} | `{short_sha(f.commit) or '-'}` | "
                f"{f.decided_at.strftime('%Y-%m-%d %H:%M')} | {f.before} → **{f.after}** | "
                f"{_cell(_rules(f))} |"
            )
    else:
        lines.append("No decision flips.")
    if result.skipped:
        lines += [
            "",
            "Skipped:",
            *(f"- `{s.submission}`: {_cell(s.reason)}" for s in result.skipped),
        ]
    if result.notes:
        lines += ["", *(f"> {note}" for note in result.notes)]
    return "\n".join(lines)
