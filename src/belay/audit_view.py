"""The audit chain as people read it: actor names and a Rich table (the CLI and the demo).

Presentation only: the stored events are unchanged (JSON output and the web page show them
whole). Not part of the CLI package, so the demo can use it without importing the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from belay.commits import short_sha

if TYPE_CHECKING:
    from rich.table import Table

    from belay.store import AuditEvent

__all__ = ["actor_name", "audit_table"]

_PEOPLE = ("manual", "cli")
"""Actor prefixes that carry a person's user name."""
_SYSTEM = {"belay": "Belay", "belay-alerts": "Belay alerts", "unauthenticated": "unauthenticated"}


def actor_name(actor: str, *, project: str | None = None) -> str:
    """An audit actor as a person reads it: ``manual:alice`` → ``alice``, ``gate:shop`` →
    ``Belay worker``, a pipeline's credential (``token:token_sha256[0]``) → ``shop CI``.

    The stored actor is unchanged (JSON output and the page show it whole).
    """
    if actor in _SYSTEM:
        return _SYSTEM[actor]
    kind, _, rest = actor.partition(":")
    if not rest:
        return actor
    if kind in _PEOPLE:
        return rest
    if kind == "gate":
        return "Belay worker"
    if kind in ("token", "standard-webhooks", "gitlab-token"):  # the intake's AuthMethod
        return f"{project} CI" if project else "CI credential"
    return actor


def audit_table(
    events: Sequence[AuditEvent], *, title: str | None = None, compact: bool = False
) -> Table:
    """The audit chain as a Rich table: sequence, time, event, actor, app, revision, detail.

    ``compact`` (the demo's, one application, one day) drops the application and the date so the
    table fits 100 columns; words are never broken, a detail too long is cut with an ellipsis.
    """
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    columns = ["#", "time (UTC)", "event", "actor", "application", "revision", "detail"]
    if compact:
        columns.remove("application")
    for column in columns:
        if column == "detail":
            table.add_column(column, overflow="ellipsis", ratio=1)
        else:
            table.add_column(column, no_wrap=True)
    for event in events:
        data = event.data
        detail = data.get("reason") or data.get("summary") or data.get("phase") or ""
        cells = [
            str(event.seq),
            event.at.strftime("%H:%M:%S" if compact else "%Y-%m-%d %H:%M:%S"),
            event.kind,
            actor_name(event.actor, project=event.project),
            event.application or "",
            short_sha(event.revision, 7 if compact else 12),
            str(detail)[:120],
        ]
        if compact:
            del cells[4]
        table.add_row(*cells)
    return table
