"""Whether the revision Argo CD synced is the one we asked for (pure).

Argo CD passes a full 40-hex SHA through; it resolves a branch, tag or ``HEAD`` to the SHA the
ref points at before it sets the operation, and a short SHA when it checks the commit out. So the
synced revision (``syncResult.revision``) is always a full SHA while what we sent may be
``abc1234``, ``v1.4.3`` or ``main``. A revision matches when:

* it is a full commit id (40 hex characters, or 64 in a SHA-256 repository): the synced SHA is
  the same commit (letter case ignored);
* Argo CD resolved it to a full SHA for our operation (``operationState.operation.sync.revision``,
  so it was a ref, even a hex-looking tag): the synced SHA is that one;
* it is a short SHA (from :data:`MIN_PREFIX` hex characters up): the synced SHA starts with it;
* otherwise (a ref whose resolution is not known): anything, since Belay cannot resolve refs.
"""

from __future__ import annotations

from belay.commits import is_commit_id

__all__ = ["MIN_PREFIX", "is_full_sha", "is_short_sha", "revision_matches"]

MIN_PREFIX = 7
"""The shortest prefix of a commit id Belay takes for that commit (as git abbreviates)."""
_HEX = frozenset("0123456789abcdefABCDEF")


def is_full_sha(value: str) -> bool:
    """Whether ``value`` is a full commit id (the gate's rule: 40 or 64 hex characters)."""
    return is_commit_id(value)


def is_short_sha(value: str) -> bool:
    """Whether ``value`` looks like an abbreviated commit id (:data:`MIN_PREFIX` hex characters
    or more, short of a full one)."""
    return MIN_PREFIX <= len(value) < 64 and not is_commit_id(value) and set(value) <= _HEX


def _same_commit(sha: str, synced: str) -> bool:
    return synced.lower().startswith(sha.lower())


def revision_matches(wanted: str, synced: str, *, resolved: str = "") -> bool:
    """Whether ``synced`` (a full SHA) is what ``wanted`` asked for; see the module docstring.

    ``resolved`` is the revision Argo CD set on our operation for ``wanted``.
    """
    if not wanted or not synced:
        return True
    if is_full_sha(wanted):
        return wanted.lower() == synced.lower()
    if is_full_sha(resolved) and resolved.lower() != wanted.lower():
        return resolved.lower() == synced.lower()  # a ref Argo CD resolved (even a hex-like tag)
    if is_short_sha(wanted):
        return _same_commit(wanted, synced)
    return True
