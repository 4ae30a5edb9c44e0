"""The one place where names become parts of an Argo CD API path.

Argo CD's applications and projects are Kubernetes objects, so their names follow Kubernetes'
DNS-1123 *subdomain* rule (lowercase letters, digits, ``-`` and ``.``, starting and ending with
a letter or digit, at most 253 characters); namespaces follow the stricter *label* rule (no
``.``, at most 63). A name that breaks the rule cannot name anything on the server, and one such
as ``..`` would walk the path up (``/api/v1/applications/..`` is ``/api/v1``), so it is refused
here with :class:`InvalidArgoCDName`, a :class:`~belay.errors.BadInput`: the CLI answers exit 2,
the HTTP API 400, and nothing is sent.

Every other path segment (a revision, a ``can-i`` part) is percent-encoded by
:func:`path_segment`, which refuses empty and dot segments the same way.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import quote

from belay.errors import BadInput

__all__ = [
    "InvalidArgoCDName",
    "NameKind",
    "check_name",
    "path_segment",
]

NameKind = Literal["application", "project", "namespace"]

_SUBDOMAIN = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")
_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?")
_MAX_LENGTH: dict[NameKind, int] = {"application": 253, "project": 253, "namespace": 63}
_SHOWN = 80
"""At most this many characters of a refused value are repeated in the message."""


class InvalidArgoCDName(BadInput):
    """A name or path segment that cannot be sent to Argo CD (bad input, nothing was sent)."""


def _shown(value: str) -> str:
    text = value if len(value) <= _SHOWN else value[:_SHOWN] + "..."
    return repr(text)


def check_name(value: str, kind: NameKind) -> str:
    """Return ``value`` if it is a valid Argo CD ``kind`` name; else raise InvalidArgoCDName."""
    if not isinstance(value, str) or not value:
        raise InvalidArgoCDName(f"Argo CD {kind} name must not be empty")
    if value in (".", ".."):
        raise InvalidArgoCDName(
            f"Argo CD {kind} name {value!r} is a dot segment, which would change the API path"
        )
    limit = _MAX_LENGTH[kind]
    if len(value) > limit:
        raise InvalidArgoCDName(
            f"Argo CD {kind} name {_shown(value)} is longer than {limit} characters"
        )
    pattern = _LABEL if kind == "namespace" else _SUBDOMAIN
    if pattern.fullmatch(value) is None:
        rule = (
            "lowercase letters, digits and '-'"
            if kind == "namespace"
            else "lowercase letters, digits, '-' and '.'"
        )
        raise InvalidArgoCDName(
            f"Argo CD {kind} name {_shown(value)} is not a valid Kubernetes name "
            f"({rule}, starting and ending with a letter or digit)"
        )
    return value


def path_segment(value: str, what: str) -> str:
    """Percent-encode ``value`` as one path segment (``/`` included); refuse empty and dot
    segments, which would hit another endpoint."""
    if not value or not value.strip():
        raise InvalidArgoCDName(f"Argo CD {what} must not be empty")
    if value in (".", ".."):
        raise InvalidArgoCDName(
            f"Argo CD {what} {value!r} is a dot segment, which would change the API path"
        )
    return quote(value, safe="-_~")
