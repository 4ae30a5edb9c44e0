"""The root of Belay's exception trees.

Each package defines its own tree under :class:`BelayError` (``belay.config.ConfigError``,
``belay.argocd.ArgoCDError``, ``belay.gate.GateError``, ...). The CLI maps the classes to exit
codes: :class:`BadInput` is exit 2 (the user gave something unusable), any other
:class:`BelayError` is exit 1. Messages are one line and are redacted before they are shown.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["BadInput", "BelayError", "cannot_read"]


class BelayError(Exception):
    """Base of every error Belay raises on purpose. ``str(err)`` is a one-line message."""


class BadInput(BelayError):
    """Input Belay cannot use: a file, flag, configuration value or request body. Exit code 2."""


_OS_PROBLEMS: tuple[tuple[type[OSError], str], ...] = (
    (FileNotFoundError, "no such file"),
    (IsADirectoryError, "is a folder, not a file"),
    (NotADirectoryError, "a parent of it is not a folder"),
    (PermissionError, "permission denied"),
)


def cannot_read(what: str, path: str | Path, err: Exception) -> str:
    """One line for a file that could not be read: ``cannot read policy p.yaml: no such file``.

    ``err`` is the ``OSError`` (or ``UnicodeDecodeError``) that reading raised.
    """
    if isinstance(err, UnicodeDecodeError):
        problem = "not UTF-8 text"
    else:
        problem = next(
            (text for kind, text in _OS_PROBLEMS if isinstance(err, kind)),
            (getattr(err, "strerror", None) or type(err).__name__).lower(),
        )
    return f"cannot read {what} {path}: {problem}"
