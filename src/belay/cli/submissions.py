"""``belay submissions list|show``: what the intake received, with verdict and deployment state.

Thin reads over the store (the same records the web page shows); nothing here writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from belay.cli._common import (
    ConfigOption,
    TextOrJSON,
    TextOrJSONOption,
    die,
    handle_errors,
    open_store,
)
from belay.commits import short_sha

if TYPE_CHECKING:
    from belay.store import DecisionRecord, JobRecord, SubmissionRecord, UnitOfWork

__all__ = ["register"]


def _row(
    submission: SubmissionRecord, decision: DecisionRecord | None, jobs: list[JobRecord]
) -> dict[str, Any]:
    return {
        "id": submission.id,
        "receivedAt": submission.received_at.isoformat(),
        "project": submission.project,
        "commit": submission.commit_sha,
        "branch": submission.branch,
        "application": decision.application if decision else None,
        "decision": decision.decision if decision else None,
        "decisionId": decision.id if decision else None,
        "deployment": jobs[-1].state if jobs else "none",
    }


def _with_decision(
    uow: UnitOfWork, submission: SubmissionRecord
) -> tuple[DecisionRecord | None, list[JobRecord]]:
    decision = uow.decisions.get(submission.decision_id) if submission.decision_id else None
    jobs = uow.jobs.for_decision(decision.id) if decision else []
    return decision, jobs


def register(app: typer.Typer) -> None:
    """Add ``submissions`` to ``app``."""
    sub_app = typer.Typer(help="Submissions the intake received.", no_args_is_help=True)
    app.add_typer(sub_app, name="submissions")

    @sub_app.command("list")
    @handle_errors
    def list_submissions(
        config: ConfigOption = None,
        project: Annotated[str | None, typer.Option(help="Only this Belay project.")] = None,
        limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 50,
        output: TextOrJSONOption = TextOrJSON.text,
    ) -> None:
        """Submissions, newest first, with verdict and deployment state."""
        _, store = open_store(config)
        with store.unit_of_work() as uow:
            rows = [
                _row(s, *_with_decision(uow, s))
                for s in uow.submissions.list(limit=limit, project=project)
            ]
        if output is TextOrJSON.json:
            from belay.jsonio import dumps_text

            typer.echo(dumps_text(rows, indent=True))
            return
        from rich.console import Console
        from rich.table import Table

        table = Table()
        for column in (
            "id",
            "received (UTC)",
            "project",
            "commit",
            "branch",
            "verdict",
            "deployment",
        ):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(
                row["id"],
                row["receivedAt"][:19].replace("T", " "),
                row["project"] or "",
                short_sha(row["commit"]),
                row["branch"] or "",
                row["decision"] or "judging",
                row["deployment"],
            )
        Console(width=160).print(table)

    @sub_app.command("show")
    @handle_errors
    def show(
        submission_id: Annotated[str, typer.Argument(help="The submission's id.")],
        config: ConfigOption = None,
        output: TextOrJSONOption = TextOrJSON.text,
    ) -> None:
        """One submission: its verdict with the reasons, and its deployment jobs."""
        _, store = open_store(config)
        with store.unit_of_work() as uow:
            submission = uow.submissions.get(submission_id)
            if submission is None:
                die(f"no submission with id {submission_id!r}", 1)
            decision, jobs = _with_decision(uow, submission)
        row = _row(submission, decision, jobs)
        verdict = (decision.verdict.get("verdict", decision.verdict) if decision else {}) or {}
        reasons = [r for r in verdict.get("reasons") or [] if isinstance(r, dict)]
        if output is TextOrJSON.json:
            from belay.jsonio import dumps_text

            body = {
                **row,
                "summary": verdict.get("summary"),
                "reasons": reasons,
                "jobs": [
                    {"id": j.id, "state": j.state, "actor": j.actor, "error": j.error} for j in jobs
                ],
            }
            typer.echo(dumps_text(body, indent=True))
            return
        for key in ("id", "receivedAt", "project", "commit", "branch", "application"):
            typer.echo(f"{key}: {row[key] or '-'}")
        typer.echo(
            f"verdict: {row['decision'] or 'judging'}  {verdict.get('summary') or ''}".rstrip()
        )
        for reason in reasons:
            if reason.get("status") != "pass":
                typer.echo(
                    f"  {reason.get('status')} {reason.get('rule')}: {reason.get('message')}"
                )
        for job in jobs:
            typer.echo(
                f"job {job.id}: {job.state} (by {job.actor}){': ' + job.error if job.error else ''}"
            )
