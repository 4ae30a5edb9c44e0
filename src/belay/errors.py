"""The root of Belay's exception trees.

Each package defines its own tree under :class:`BelayError` (``belay.config.ConfigError``,
``belay.argocd.ArgoCDError``, ``belay.gate.GateError``, ...). The CLI maps the classes to exit
codes: :class:`BadInput` is exit 2 (the user gave something unusable), any other
:class:`BelayError` is exit 1. Messages are one line and are redacted before they are shown.
"""

from __future__ import annotations

__all__ = ["BadInput", "BelayError"]


class BelayError(Exception):
    """Base of every error Belay raises on purpose. ``str(err)`` is a one-line message."""


class BadInput(BelayError):
    """Input Belay cannot use: a file, flag, configuration value or request body. Exit code 2."""
