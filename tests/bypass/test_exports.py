"""The public face of ``belay.bypass``: what serve, the informer wiring and the tests use."""

from __future__ import annotations

import belay.bypass as bypass

PINNED = {
    "UNAPPROVED_KIND",
    "ApplicationEvents",
    "BypassHandler",
    "BypassWatch",
    "Deployment",
    "EventHandler",
    "Known",
    "Lease",
    "ListWatch",
    "Unapproved",
    "deployments",
    "judge",
    "start_bypass_watch",
}


def test_the_package_face_is_pinned() -> None:
    """``__all__`` is exactly the pinned list, and every name resolves."""
    assert set(bypass.__all__) == PINNED
    for name in PINNED:
        assert getattr(bypass, name) is not None


def test_the_decision_imports_no_io() -> None:
    """The pure decision module reaches neither the store, the client's I/O nor the web."""
    import ast
    from pathlib import Path

    source = Path(bypass.decide.__file__).read_text(encoding="utf-8")
    imported = {
        node.module or ""
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom)
    }
    assert not {m for m in imported if m.startswith(("belay.store", "belay.web", "belay.notify"))}
