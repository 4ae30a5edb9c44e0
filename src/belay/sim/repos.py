"""Revision resolution through the state file's ``repositories`` (pure).

Argo CD's API server passes a full 40-hex SHA through untouched and asks the repo server to
resolve anything else (``server/application/application.go`` ``resolveRevision``; the repo
server's ``ResolveRevision`` and ``util/git`` ``lsRemote``): a branch, tag or ``HEAD`` becomes the
SHA its ref points at; a truncated hex SHA (7 or more characters) is passed on as it is and only
becomes a full SHA when the controller checks it out; anything else is refused with
``unable to resolve '<rev>' to a commit SHA: revision not found``.

A repository that the state file does not list keeps the simulator's older behaviour: the
revision is echoed as sent (the repo server is not modelled for it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from belay.sim.state import Repository

__all__ = [
    "Resolved",
    "RevisionNotFound",
    "complete_sha",
    "is_commit_sha",
    "is_truncated_sha",
    "resolve_revision",
]

_FULL_SHA = re.compile(r"^[0-9A-Fa-f]{40}$")
_TRUNCATED_SHA = re.compile(r"^[0-9A-Fa-f]{7,}$")


class RevisionNotFound(Exception):
    """The repo server could not resolve a revision; the message is the repo server's."""


@dataclass(frozen=True)
class Resolved:
    """What the API server keeps: the revision for the operation and the one it displays."""

    revision: str
    display: str


def is_commit_sha(value: str) -> bool:
    """``util/git.IsCommitSHA``: exactly 40 hex characters."""
    return bool(_FULL_SHA.match(value))


def is_truncated_sha(value: str) -> bool:
    """``util/git.IsTruncatedCommitSHA``: 7 or more hex characters."""
    return bool(_TRUNCATED_SHA.match(value))


def _ref_target(repo: Repository, name: str) -> str | None:
    for prefix in ("refs/heads/", "refs/tags/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    return repo.refs.get(name)


def resolve_revision(
    repositories: Mapping[str, Repository], repo_url: str, revision: str
) -> Resolved:
    """Resolve ``revision`` of ``repo_url`` as the API server does before it sets an operation.

    Raises :class:`RevisionNotFound` for a name the repository does not have.
    """
    if is_commit_sha(revision):
        return Resolved(revision, revision)
    repo = repositories.get(repo_url)
    if repo is None:
        return Resolved(revision, revision)
    wanted = revision or "HEAD"
    target = _ref_target(repo, wanted)
    if target is not None:
        return Resolved(target, f"{wanted} ({target})")
    if is_truncated_sha(wanted):
        return Resolved(wanted, f"{wanted} ({wanted})")
    raise RevisionNotFound(f"unable to resolve '{wanted}' to a commit SHA: revision not found")


def complete_sha(
    repositories: Mapping[str, Repository], repo_url: str, revision: str
) -> str | None:
    """The full SHA the controller checks out for ``revision``; ``None`` if there is none.

    A full SHA, and any revision of an unlisted repository, is returned unchanged. A truncated
    SHA must match exactly one known commit (``commits`` or a ref's target).
    """
    if is_commit_sha(revision):
        return revision
    repo = repositories.get(repo_url)
    if repo is None:
        return revision
    target = _ref_target(repo, revision or "HEAD")
    if target is not None:
        return target
    if not is_truncated_sha(revision):
        return None
    known = {*repo.commits, *repo.refs.values()}
    matches = {sha for sha in known if sha.lower().startswith(revision.lower())}
    return matches.pop() if len(matches) == 1 else None
