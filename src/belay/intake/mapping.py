"""Which project a bundle belongs to, from its git context and the sender's identity. Pure."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from belay.config import ProjectSettings, normalize_remote

__all__ = ["Mapping", "map_project"]


class Mapping(BaseModel):
    """The project found, or why none was (``project`` is ``None`` then)."""

    model_config = ConfigDict(frozen=True)

    project: ProjectSettings | None
    reason: str
    forbidden: bool = False
    """True when the bundle names a project the sender may not submit for."""


def _matches(project: ProjectSettings, remote: str | None, branch: str | None) -> bool:
    want = project.match
    remote_ok = want.remote is None or (
        remote is not None and normalize_remote(remote) == normalize_remote(want.remote)
    )
    return remote_ok and want.branch in (None, branch)


def map_project(
    projects: Iterable[ProjectSettings],
    *,
    allowed: frozenset[str],
    remote: str | None,
    branch: str | None,
) -> Mapping:
    """Find the project of a bundle.

    With a remote in the bundle, the projects whose ``match`` fits it (and the branch) are the
    candidates; the sender must be allowed to submit for the one found. Without git context the
    sender's own project is used when it has exactly one.
    """
    projects = tuple(projects)
    if remote:
        fitting = [
            p for p in projects if p.match.remote is not None and _matches(p, remote, branch)
        ]
        permitted = [p for p in fitting if p.name in allowed]
        if len(permitted) == 1:
            return Mapping(project=permitted[0], reason=f"matched project {permitted[0].name}")
        if len(permitted) > 1:
            names = ", ".join(p.name for p in permitted)
            return Mapping(
                project=None, reason=f"remote and branch match several projects: {names}"
            )
        if fitting:
            return Mapping(
                project=None,
                reason=f"the credentials may not submit for project {fitting[0].name}",
                forbidden=True,
            )
        where = f"{normalize_remote(remote)} (branch {branch or 'unknown'})"
    else:
        own = [p for p in projects if p.name in allowed and p.match.remote is None]
        own = own or [p for p in projects if p.name in allowed]
        if len(own) == 1 and own[0].match.branch in (None, branch):
            return Mapping(project=own[0], reason=f"the credentials' project {own[0].name}")
        where = "a bundle without git context"
    return Mapping(project=None, reason=f"no project is configured for {where}")
