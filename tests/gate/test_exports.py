"""The gate package's public names are pinned."""

from __future__ import annotations

import belay.gate


def test_public_names() -> None:
    """Every name in __all__ exists, and the core entry points are among them."""
    assert all(hasattr(belay.gate, name) for name in belay.gate.__all__)
    assert {
        "parse_report",
        "read_bundle",
        "write_bundle",
        "load_policy_set",
        "evaluate",
        "Verdict",
        "export_gatecheck_yaml",
        "submission_from_bundle",
    } <= set(belay.gate.__all__)
