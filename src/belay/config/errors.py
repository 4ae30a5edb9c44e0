"""The configuration package's error: bad configuration given where the caller must stop.

``resolve_argocd`` never raises it (a bad source becomes a ``RejectedInstance`` with its reason);
it is for hard errors such as ``belay integrations add`` with unusable flags or a store file that
cannot be rewritten safely. It is a :class:`~belay.errors.BadInput`, so the CLI exits with 2.
"""

from __future__ import annotations

from belay.errors import BadInput

__all__ = ["ConfigError"]


class ConfigError(BadInput):
    """A configuration value, file or flag Belay cannot use. ``str(err)`` is one redacted line."""
