"""Rendering (pure): an :class:`InvestigationReport` as terminal text (Rich), Markdown or JSON.

Every renderer starts from :meth:`InvestigationReport.to_json_data` (already redacted), so the
three outputs show the same facts. Reports
name the instance, the app and its deployed revision, list the top finding first, and under each
finding show the evidence it points to.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from belay.investigate.models import InvestigationReport
from belay.jsonio import dumps_text

__all__ = [
    "render",
    "render_json",
    "render_many",
    "render_markdown",
    "render_text",
    "resolve_pointer",
]

_POINTER_PART = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")
_VALUE_LIMIT = 300
_TEXT_DIFF_LINES = 60
_SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def render(report: InvestigationReport, fmt: str, *, width: int = 100, color: bool = False) -> str:
    """Render in ``fmt`` (``text``, ``markdown`` or ``json``)."""
    if fmt == "json":
        return render_json(report)
    if fmt == "markdown":
        return render_markdown(report)
    return render_text(report, width=width, color=color)


def render_many(
    reports: Sequence[InvestigationReport], fmt: str, *, width: int = 100, color: bool = False
) -> str:
    """Several reports (one per application of a notification) in ``fmt``.

    JSON stays one object: the first report, with the others under ``related_reports``.
    """
    if not reports:
        raise ValueError("render_many needs at least one report")
    if fmt == "json":
        data = _data(reports[0])
        data["related_reports"] = [_data(r) for r in reports[1:]]
        return dumps_text(data, indent=True) + "\n"
    rule = "\n---\n\n" if fmt == "markdown" else "\n" + "=" * 40 + "\n\n"
    return rule.join(render(r, fmt, width=width, color=color) for r in reports)


def _data(report: InvestigationReport) -> dict[str, Any]:
    return report.to_json_data()


def _rollback_line(data: dict[str, Any]) -> str | None:
    candidate = data.get("rollback_candidate")
    if not isinstance(candidate, dict):
        return None
    gate = {
        "pass": "it passed Belay's gate",
        "fail": "it FAILED Belay's gate",
        "none": "Belay has no gate decision for it",
    }.get(str(candidate.get("gate")), "its gate decision was not looked up")
    when = f", deployed {candidate['deployed_at']}" if candidate.get("deployed_at") else ""
    return (
        f"Rollback candidate: revision {candidate.get('revision')}{when}; {gate}. "
        f"Deploy it with: {candidate.get('command')}"
    )


def _fleet_lines(data: dict[str, Any]) -> list[str]:
    return [
        f"{f['severity'].upper()} {f['kind']}: {f['summary']}"
        for f in data.get("fleet_context") or []
    ]


def render_json(report: InvestigationReport) -> str:
    """The DESIGN §4 JSON object, indented."""
    return dumps_text(_data(report), indent=True) + "\n"


def resolve_pointer(data: dict[str, Any], path: str) -> Any:
    """Follow ``a.b[0].c`` in the report data (paths not under ``alert`` are evidence)."""
    parts = [(m.group(1), m.group(2)) for m in _POINTER_PART.finditer(path)]
    if not parts:
        return None
    first = parts[0][0]
    node: Any = (
        data
        if first in {"alert", "instance", "application", "revision"}
        else data.get("evidence", {})
    )
    for key, index in parts:
        if key is not None:
            node = node.get(key) if isinstance(node, dict) else None
        elif index is not None:
            i = int(index)
            node = node[i] if isinstance(node, list) and -len(node) <= i < len(node) else None
        if node is None:
            return None
    return node


def _short(value: Any) -> str:
    if isinstance(value, dict) and "error_type" in value and "message" in value:
        return str(value["message"])
    if isinstance(value, list) and value and all(_is_resource(v) for v in value):
        return "; ".join(_resource_label(v) for v in value)
    if _is_resource(value):
        return _resource_label(value)
    if isinstance(value, dict) and "diff" in value:
        # A diff record: its key and change, the diff itself is printed further down.
        group_kind = "/".join(p for p in (value.get("group"), value.get("kind")) if p)
        where = "/".join(p for p in (value.get("namespace"), value.get("name")) if p)
        return f"{group_kind} {where} ({value.get('change', '')})"
    text = value if isinstance(value, str) else dumps_text(value)
    text = " ".join(text.split())
    return text if len(text) <= _VALUE_LIMIT else text[: _VALUE_LIMIT - 3] + "..."


def _is_resource(value: Any) -> bool:
    return isinstance(value, dict) and "kind" in value and "name" in value and "diff" not in value


def _resource_label(value: dict[str, Any]) -> str:
    group_kind = "/".join(p for p in (value.get("group"), value.get("kind")) if p)
    where = "/".join(p for p in (value.get("namespace"), value.get("name")) if p)
    text = f"{group_kind} {where}"
    states = [s for s in (value.get("status"), value.get("health")) if s]
    if states:
        text += f" [{', '.join(states)}]"
    if value.get("message"):
        text += f" {value['message']}"
    return text


def _headline(data: dict[str, Any]) -> list[tuple[str, str]]:
    alert = data["alert"]
    rows = [
        ("Alert", f"{alert.get('name') or '(unnamed)'} ({alert.get('source')})"),
        ("Started", alert.get("starts_at") or "(no start time; judged against now)"),
        ("Instance", data.get("instance") or "(none)"),
        ("Application", data.get("application") or "(none)"),
        ("Deployed revision", data.get("revision") or "(unknown)"),
    ]
    if alert.get("revision"):
        rows.append(("Alert revision", alert["revision"]))
    status = data.get("evidence", {}).get("argocd_application_status") or {}
    if status.get("found"):
        rows.append(
            (
                "State",
                f"sync {status.get('sync_status') or '?'}, health "
                f"{status.get('health_status') or '?'}",
            )
        )
    return rows


def _diffs(data: dict[str, Any]) -> list[dict[str, Any]]:
    diff = data.get("evidence", {}).get("argocd_application_diff") or {}
    return [d for d in diff.get("diffs", []) if isinstance(d, dict)]


def render_text(report: InvestigationReport, *, width: int = 100, color: bool = False) -> str:
    """A readable terminal report (plain text unless ``color``)."""
    data = _data(report)
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        emoji=False,
    )
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    for label, value in _headline(data):
        head.add_row(label, escape(str(value)))
    console.print(Panel(head, title="Belay investigation", expand=False))
    findings = data["findings"]
    if not findings:
        console.print("No findings.")
    for i, finding in enumerate(findings, 1):
        style = _SEVERITY_STYLE.get(finding["severity"], "")
        console.print(
            f"[{style}]{i}. {finding['severity'].upper()} {finding['kind']}[/{style}]"
            if style
            else f"{i}. {finding['severity'].upper()} {finding['kind']}"
        )
        console.print(Padding(Text(finding["summary"]), (0, 0, 0, 3), expand=False))
        for path in finding["evidence"]:
            value = resolve_pointer(data, path)
            console.print(Padding(Text(f"- {path}: {_short(value)}"), (0, 0, 0, 3), expand=False))
    if data["ruled_out"]:
        console.print()
        console.print("[bold]Ruled out[/bold]")
        for kind in data["ruled_out"]:
            reason = data["ruled_out_reasons"].get(kind, "")
            console.print(Padding(Text(f"- {kind}: {reason}"), (0, 0, 0, 3), expand=False))
    rollback = _rollback_line(data)
    if rollback:
        line, _, command = rollback.partition("Deploy it with: ")
        console.print()
        console.print(Text(line.rstrip() + " Deploy it with:"))
        # One unbroken line, so it can be copied and pasted.
        console.print(Text(f"   {command}"), soft_wrap=True)
    fleet = _fleet_lines(data)
    if fleet:
        console.print()
        console.print("[bold]Fleet context (other applications)[/bold]")
        for line in fleet:
            console.print(Padding(Text(f"- {line}"), (0, 0, 0, 3), expand=False))
    for note in data.get("notes", []):
        console.print(Text(f"Note: {note}"))
    for d in _diffs(data):
        console.print()
        lines = d.get("diff", "").splitlines()
        shown = "\n".join(lines[:_TEXT_DIFF_LINES])
        if len(lines) > _TEXT_DIFF_LINES:
            shown += f"\n... ({len(lines) - _TEXT_DIFF_LINES} more lines in --output json)"
        title = f"diff {d.get('kind')} {d.get('namespace')}/{d.get('name')} ({d.get('change')})"
        console.print(f"[bold]{escape(title)}[/bold]")
        if color:
            console.print(Syntax(shown, "diff", theme="ansi_dark", word_wrap=True))
        else:
            console.print(escape(shown), soft_wrap=True)
    # Rich pads wrapped lines to the width; trailing blanks only get in the way of copy-paste.
    return "\n".join(line.rstrip() for line in buffer.getvalue().split("\n"))


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: InvestigationReport) -> str:
    """Markdown for tickets and chat."""
    data = _data(report)
    out: list[str] = []
    alert_name = data["alert"].get("name") or "alert"
    out.append(f"## Belay investigation: {_md_cell(alert_name)}")
    out.append("")
    out.append("| | |")
    out.append("|---|---|")
    for label, value in _headline(data):
        out.append(f"| **{label}** | {_md_cell(str(value))} |")
    out.append("")
    out.append("### Findings")
    out.append("")
    if not data["findings"]:
        out.append("No findings.")
    for i, finding in enumerate(data["findings"], 1):
        out.append(
            f"{i}. **{finding['severity'].upper()} `{finding['kind']}`**: {finding['summary']}"
        )
        for path in finding["evidence"]:
            value = _short(resolve_pointer(data, path))
            value = value.replace("`", "'")
            out.append(f"   - `{path}`: {value}")
    if data["ruled_out"]:
        out.append("")
        out.append("### Ruled out")
        out.append("")
        for kind in data["ruled_out"]:
            out.append(f"- `{kind}`: {data['ruled_out_reasons'].get(kind, '')}")
    rollback = _rollback_line(data)
    if rollback:
        out.append("")
        out.append("### Rollback candidate")
        out.append("")
        out.append(rollback.replace("Deploy it with: ", "Deploy it with: `") + "`")
    fleet = _fleet_lines(data)
    if fleet:
        out.append("")
        out.append("### Fleet context (other applications)")
        out.append("")
        out.extend(f"- {line}" for line in fleet)
    notes = data.get("notes", [])
    if notes:
        out.append("")
        out.extend(f"> {note}" for note in notes)
    diffs = _diffs(data)
    if diffs:
        out.append("")
        out.append("### Drift")
        for d in diffs:
            out.append("")
            out.append(
                f"**{d.get('kind')} {d.get('namespace')}/{d.get('name')}** ({d.get('change')})"
            )
            out.append("")
            out.append("```diff")
            out.append(d.get("diff", "").replace("```", "'''").rstrip("\n"))
            out.append("```")
    return "\n".join(out) + "\n"
