"""Who may read the audit page and the read APIs. Pure: a request's facts in, a ruling out.

Three modes, chosen by ``belay.yaml``:

* ``web_token_env`` names a variable holding the read token: a request must carry it as
  ``Authorization: Bearer <token>`` or belong to a signed-in session (the ``belay_session``
  cookie that ``/login`` sets holds a random session id, checked in the store by
  :mod:`belay.web.sessions`; the caller tells :meth:`ReadAccess.rule` whether it is live);
* ``proxy_auth_header`` names a header that the reverse proxy sets after authenticating the user
  (for example ``X-Forwarded-User``): a request must carry it, non-empty. Belay must then be
  reachable only through that proxy, since anyone who can reach Belay directly can send it;
* neither: only clients on a loopback address (127.0.0.0/8, ::1), reaching Belay directly (no
  ``Forwarded``/``X-Forwarded-For``/``X-Real-IP`` header), are allowed, so ``belay demo``
  on 127.0.0.1 works and nothing is exposed by accident.

When both are set, either one is enough (machines send the token, people come through the
proxy). Every comparison of a secret is over SHA-256 digests in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from belay.config import BelaySettings, ConfigError, process_environ
from belay.redact import register_secret

__all__ = ["AccessRuling", "ReadAccess"]

_KEY_CONTEXT = b"belay web keys v2"


@dataclass(frozen=True)
class AccessRuling:
    """Allowed, or the status (401/403) and one line saying why not."""

    allowed: bool
    status: int = 200
    reason: str = ""
    who: str = ""
    """How the caller was let in (``token``, ``session``, ``proxy:<user>``, ``loopback``)."""


def _digest(value: str | bytes) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return hashlib.sha256(data).digest()


_FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip", "x-forwarded-host")


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (a client address) is a loopback address."""
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class ReadAccess:
    """The read-access rule of one running Belay (built once from settings and environment)."""

    def __init__(
        self, *, token: str | None = None, proxy_header: str | None = None, token_env: str = ""
    ) -> None:
        self.token_env = token_env
        self.proxy_header = proxy_header.strip().lower() if proxy_header else None
        self._token_digest = _digest(token) if token else None
        self._key = (
            hmac.new(token.encode(), _KEY_CONTEXT, hashlib.sha256).digest() if token else None
        )

    @classmethod
    def from_settings(
        cls, settings: BelaySettings, environ: Mapping[str, str] | None = None
    ) -> ReadAccess:
        """Read the token named by ``web_token_env``; a named but unset variable is an error."""
        env = process_environ(environ)
        token: str | None = None
        if settings.web_token_env:
            token = env.get(settings.web_token_env, "").strip()
            if not token:
                raise ConfigError(
                    f"web_token_env: environment variable {settings.web_token_env} is not set"
                )
            scheme, _, rest = token.partition(" ")
            if scheme.lower() == "bearer" and rest.strip():
                token = rest.strip()
            register_secret(token)
        return cls(
            token=token,
            proxy_header=settings.proxy_auth_header,
            token_env=settings.web_token_env or "",
        )

    @property
    def uses_token(self) -> bool:
        """Whether a read token is configured."""
        return self._token_digest is not None

    @property
    def mode(self) -> str:
        """``token``, ``proxy``, ``token+proxy`` or ``loopback`` (for logs and docs)."""
        parts = [p for p, on in (("token", self.uses_token), ("proxy", self.proxy_header)) if on]
        return "+".join(parts) or "loopback"

    def check_token(self, presented: str) -> bool:
        """Whether ``presented`` is the read token (constant time)."""
        if self._token_digest is None or not presented:
            return False
        return hmac.compare_digest(_digest(presented), self._token_digest)

    def derived_key(self, purpose: str) -> bytes | None:
        """A key for ``purpose`` derived from the read token (``None`` without one): the same on
        every replica, and new when the token is rotated."""
        if self._key is None:
            return None
        return hmac.new(self._key, purpose.encode(), hashlib.sha256).digest()

    def rule(
        self,
        *,
        headers: Mapping[str, str],
        client_host: str | None,
        signed_in: bool = False,
    ) -> AccessRuling:
        """Rule on one request from its headers (case-insensitive), client address and whether
        it belongs to a live signed-in session."""
        lowered = {k.lower(): v for k, v in headers.items()}
        if self._token_digest is not None:
            authorization = lowered.get("authorization", "").strip()
            scheme, _, rest = authorization.partition(" ")
            if scheme.lower() == "bearer" and self.check_token(rest.strip()):
                return AccessRuling(True, who="token")
            if signed_in:
                return AccessRuling(True, who="session")
        if self.proxy_header is not None:
            user = lowered.get(self.proxy_header, "").strip()
            if user:
                return AccessRuling(True, who=f"proxy:{user[:100]}")
        if self._token_digest is None and self.proxy_header is None:
            # A request that a proxy forwarded shows the proxy's (often loopback) address, not
            # the reader's: it gets no loopback grant.
            forwarded = any(h in lowered for h in _FORWARDING_HEADERS)
            if is_loopback(client_host) and not forwarded:
                return AccessRuling(True, who="loopback")
            return AccessRuling(
                False,
                403,
                "read access is limited to loopback clients: set web_token_env or "
                "proxy_auth_header in belay.yaml to allow others",
            )
        wanted = []
        if self._token_digest is not None:
            wanted.append("a valid read token (Authorization: Bearer, or sign in at /login)")
        if self.proxy_header is not None:
            wanted.append(f"the {self.proxy_header} header from the authenticating proxy")
        return AccessRuling(False, 401, "not signed in: send " + " or ".join(wanted))
