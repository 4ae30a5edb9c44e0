"""One rule for recognising and shortening a commit id, shared by the domain and the renderers."""

from __future__ import annotations

import pytest

from belay import gate
from belay.commits import is_commit_id, short_sha

SHA1 = "0123456789abcdef0123456789abcdef01234567"
SHA256 = "ABCDEF0123456789" * 4


@pytest.mark.parametrize(
    ("revision", "shown"),
    [
        (SHA1, "0123456789ab"),
        (SHA256, "ABCDEF012345"),
        ("v1.4.3", "v1.4.3"),
        ("release/2026-12-a-long-branch", "release/2026-12-a-long-branch"),
        ("abc1234", "abc1234"),
        ("", ""),
        (None, ""),
    ],
)
def test_short_sha_cuts_only_full_commit_ids(revision: str | None, shown: str) -> None:
    """A full SHA is cut to 12 characters; a tag, branch or short SHA is shown as it is."""
    assert short_sha(revision) == shown


def test_short_sha_length() -> None:
    assert short_sha(SHA1, 7) == "0123456"


def test_gate_uses_the_shared_rule() -> None:
    assert gate.is_commit_id is is_commit_id
    assert is_commit_id(SHA1) and is_commit_id(SHA256) and not is_commit_id("-" + SHA1[1:])
