"""``belay gate evaluate``, ``bundle create``, ``policy export`` and ``data refresh``.

Thin: parse arguments, read files, call :mod:`belay.gate`, print, map outcomes to exit codes
(gate evaluate: 0 pass, 1 fail, 2 bad input).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from belay import jsonio
from belay.cli._common import ConfigOption, OutputFormat, die, handle_errors
from belay.errors import BadInput, cannot_read
from belay.feeds import DEFAULT_EPSS_URL, DEFAULT_KEV_URL, refresh_data
from belay.gate import (
    EvaluationContext,
    Submission,
    Verdict,
    bundle_tag,
    evaluate,
    export_gatecheck_yaml,
    is_commit_id,
    load_intel,
    load_policy_set,
    parse_report,
    read_bundle,
    submission_from_bundle,
    write_bundle,
)

__all__ = ["register"]

_MAX_INPUT_BYTES = 1024 * 1024 * 1024

gate_app = typer.Typer(help="Judge scan reports and bundles with a server-side policy.")
bundle_app = typer.Typer(help="Build gatecheck-compatible bundles.")
policy_app = typer.Typer(
    help="Server-side policies: export in gatecheck's format, what-if replays, diffs."
)
data_app = typer.Typer(help="KEV and EPSS data for offline decisions.")


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > _MAX_INPUT_BYTES:
            raise BadInput(f"{path}: larger than {_MAX_INPUT_BYTES} bytes")
        return path.read_bytes()
    except OSError as err:
        raise BadInput(cannot_read("report", path, err)) from None


def _now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"--now {value!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _warn(message: str) -> None:
    from belay.logs import notice

    notice(message, level="warning")


def _print_verdict(verdict: Verdict, output: OutputFormat) -> None:
    if output is OutputFormat.json:
        typer.echo(jsonio.dumps_text(verdict.document(), indent=True))
        return
    lines = [f"Decision: {verdict.decision}", f"Summary: {verdict.summary}"]
    if output is OutputFormat.markdown:
        lines = [f"**Decision:** {verdict.decision}", "", verdict.summary, ""]
        lines += [f"- `{r.rule}` **{r.status}**: {r.message}" for r in verdict.reasons]
    elif sys.stdout.isatty():
        _print_tables(verdict)
        return
    else:
        lines += [f"  [{r.status}] {r.rule}: {r.message}" for r in verdict.reasons]
    typer.echo("\n".join(lines))


def _print_tables(verdict: Verdict) -> None:
    """On a terminal: the reasons as a table, then each failing rule's findings as one."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]Decision:[/bold] {verdict.decision}  {verdict.summary}", highlight=False)
    reasons = Table(show_lines=False)
    for column in ("status", "rule", "message"):
        reasons.add_column(column, overflow="fold")
    for r in verdict.reasons:
        reasons.add_row(r.status, r.rule, r.message)
    console.print(reasons)
    for r in verdict.reasons:
        if not r.findings or r.status == "pass":
            continue
        shown = (
            f" ({len(r.findings)} of {r.findings_total} shown)"
            if r.findings_total > len(r.findings)
            else ""
        )
        table = Table(title=f"{r.rule}: {r.findings_total} findings{shown}", title_justify="left")
        for column in (
            "finding",
            "severity",
            "package",
            "installed → fixed",
            "EPSS",
            "KEV",
            "where",
            "status",
        ):
            table.add_column(column, overflow="fold")
        for f in r.findings:
            versions = f"{f.installed or ''}{' → ' + f.fixed_in if f.fixed_in else ''}"
            where = f"{f.path}:{f.line}" if f.path and f.line else (f.path or "")
            table.add_row(
                f.id,
                f.severity,
                f.package or "",
                versions,
                f"{f.epss:.3f}" if f.epss is not None else "",
                "KEV" if f.kev else "",
                where,
                f.status + (f": {f.accepted_by}" if f.accepted_by else ""),
            )
        console.print(table)


@gate_app.command("evaluate")
@handle_errors
def evaluate_command(
    inputs: Annotated[list[Path], typer.Argument(help="A bundle (.tar.gz) and/or report files.")],
    policy: Annotated[Path, typer.Option("--policy", help="Policy file (YAML).")],
    branch: Annotated[
        str | None, typer.Option("--branch", help="Branch whose overrides apply.")
    ] = None,
    commit: Annotated[
        str | None,
        typer.Option(
            "--commit",
            envvar=["BELAY_DEPLOY_COMMIT", "CI_COMMIT_SHA", "GITHUB_SHA"],
            help="Commit that will be deployed (for commit binding).",
        ),
    ] = None,
    now: Annotated[
        str | None, typer.Option("--now", help="Judge as of this ISO 8601 time.")
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--output", "-o", help="Output format.")
    ] = OutputFormat.text,
) -> None:
    """Judge a gatecheck bundle or loose reports; exit 0 pass, 1 fail, 2 bad input."""
    policy_set = load_policy_set(policy)
    for warning in policy_set.warnings:
        _warn(warning)
    bundles = []
    reports = []
    for path in inputs:
        data = _read(path)
        if data[:2] == b"\x1f\x8b":
            bundles.append(read_bundle(data, path.name))
        else:
            reports.append(parse_report(data, path.name))
    if len(bundles) > 1:
        raise BadInput("give at most one bundle")
    if bundles:
        from_bundle = submission_from_bundle(bundles[0])
        submission = from_bundle.model_copy(
            update={"reports": from_bundle.reports + tuple(reports)}
        )
        if branch is None and from_bundle.bundle is not None:
            branch = from_bundle.bundle.branch
    else:
        submission = Submission(reports=tuple(reports))
    effective = policy_set.for_branch(branch)
    data_files = effective.belay.data
    intel = load_intel(policy_set.data_path(data_files.kev), policy_set.data_path(data_files.epss))
    context = EvaluationContext(now=_now(now), deploy_commit=commit, intel=intel)
    verdict = evaluate(submission, effective, context)
    _print_verdict(verdict, output)
    raise typer.Exit(0 if verdict.decision == "pass" else 1)


@bundle_app.command("create")
@handle_errors
def create_command(
    reports: Annotated[list[Path], typer.Argument(help="Report files to put in the bundle.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Bundle file to write (.tar.gz).")],
    commit: Annotated[
        str | None, typer.Option("--commit", help="Scanned commit (context).")
    ] = None,
    branch: Annotated[str | None, typer.Option("--branch", help="Branch (context).")] = None,
    remote: Annotated[str | None, typer.Option("--remote", help="Origin URL (context).")] = None,
) -> None:
    """Build a gatecheck bundle (manifest, SHA-256 digests, git context) from report files."""
    if commit is not None and not is_commit_id(commit):
        raise BadInput(
            f"--commit {commit[:64]!r}: not a full commit id (40 or 64 hexadecimal characters)"
        )
    files = []
    for path in reports:
        data = _read(path)
        report = parse_report(data, path.name)
        tag = bundle_tag(report.kind.value, report.producer)
        expected = tag.removeprefix("type:").replace("clamscan", "clamav")
        if expected not in path.name.lower():
            _warn(f"{path.name}: gatecheck picks the type from the name; it lacks {expected!r}")
        files.append((path.name, data, [tag]))
    blob = write_bundle(
        files, created_at=datetime.now(UTC), commit=commit, branch=branch, remote=remote
    )
    try:
        out.write_bytes(blob)
    except OSError as err:
        raise BadInput(f"{out}: cannot write ({err.strerror or err})") from None
    typer.echo(f"wrote {out} ({len(files)} reports, {len(blob)} bytes)")


@policy_app.command("export")
@handle_errors
def export_command(
    project: Annotated[str, typer.Option("--project", help="Project the policy is for.")],
    branch: Annotated[
        str | None, typer.Option("--branch", help="Branch whose overrides apply.")
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="Policy file (default: the project's, from belay.yaml)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Print a project's server-side policy as gatecheck YAML (Belay-only rules as comments).

    The policy is the one ``belay.yaml`` assigns to the project (what the intake judges by), or
    ``--policy``; with neither, Belay's shipped default.
    """
    if policy is None:
        from belay.config import load_settings
        from belay.policies import packaged_policy

        settings = load_settings(config)
        configured = settings.project(project)
        if config is not None and configured is None:
            raise BadInput(f"project {project!r} is not in {config}")
        name = configured.policy if configured else "default"
        policy = settings.policy_path(name) or packaged_policy("default")
    policy_set = load_policy_set(policy)
    for warning in policy_set.warnings:
        _warn(warning)
    text = export_gatecheck_yaml(
        policy_set.for_branch(branch),
        project=project,
        branch=branch,
        now=datetime.now(UTC),
        source=policy.name,
    )
    typer.echo(text, nl=False)


@data_app.command("refresh")
@handle_errors
def refresh_command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the files to.")],
    kev: Annotated[str, typer.Option("--kev", help="CISA KEV JSON feed URL.")] = DEFAULT_KEV_URL,
    epss: Annotated[str, typer.Option("--epss", help="EPSS CSV (gzip) URL.")] = DEFAULT_EPSS_URL,
) -> None:
    """Download the KEV catalog and EPSS scores; exit 1 on network errors."""
    for url in (kev, epss):
        if not url.startswith(("https://", "http://")):
            die(f"{url}: not an http(s) URL", 2)
    result = refresh_data(out, kev_url=kev, epss_url=epss)
    typer.echo(f"KEV: {result.kev_count} CVEs -> {result.kev_path}")
    typer.echo(f"EPSS: {result.epss_count} scores -> {result.epss_path}")


def register(app: typer.Typer) -> None:
    """Add the ``gate``, ``bundle``, ``policy`` and ``data`` command groups to ``app``."""
    from belay.cli import whatif

    whatif.register(policy_app)
    app.add_typer(gate_app, name="gate")
    app.add_typer(bundle_app, name="bundle")
    app.add_typer(policy_app, name="policy")
    app.add_typer(data_app, name="data")
