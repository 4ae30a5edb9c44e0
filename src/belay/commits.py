"""Commit ids: what a full one is, and how Belay shortens one for people. Pure.

Both the domain (the gate, the deploy revision rules, the notifier's triggers) and the renderers
(CLI tables, what-if reports, the demo) import this module, so a commit is recognised and
abbreviated the same way everywhere. Matching a synced revision against a wanted one is
:mod:`belay.deploy.revision`'s job.
"""

from __future__ import annotations

__all__ = ["SHORT_SHA_LENGTH", "is_commit_id", "short_sha"]

SHORT_SHA_LENGTH = 12
"""How many characters of a commit id Belay shows (enough to be unique in practice)."""

_HEX = frozenset("0123456789abcdefABCDEF")


def is_commit_id(value: str | None) -> bool:
    """True for a full git commit id: 40 hexadecimal characters (SHA-1) or 64 (SHA-256).

    Branch and tag names, ``HEAD``, ``refs/...``, short ids and anything starting with ``-``
    are not commits: syncing one would deploy whatever it points at when the sync runs.
    """
    return value is not None and len(value) in (40, 64) and all(c in _HEX for c in value)


def short_sha(revision: str | None, length: int = SHORT_SHA_LENGTH) -> str:
    """The first ``length`` characters of a full commit id; any other revision (a tag, a branch,
    an already short SHA) unchanged, since cutting it would name something else; ``""`` for none.
    """
    if revision is None:
        return ""
    return revision[:length] if is_commit_id(revision) else revision
