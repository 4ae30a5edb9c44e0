"""Sessions as Argo CD's API server sees them: bearer or cookie JWTs, login tokens, expiry.

A bearer value counts only when it has three dot-separated parts (``util/jwt.IsValid``); anything
else is ignored, which ends in ``no session information``. State-file tokens are matched exactly
(their signature is not checked) but an ``exp`` claim in them is honoured. Login tokens are HS256
JWTs signed with a per-run secret: ``iss: argocd``, ``sub: <user>:login``, ``jti``, ``iat``,
``nbf``, ``exp``.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from belay import jsonio
from belay.sim.state import Account

__all__ = [
    "EXPIRED",
    "NO_SESSION",
    "AuthResult",
    "Session",
    "TokenIssuer",
    "extract_token",
    "unverified_claims",
]

NO_SESSION = "no session information"
EXPIRED = "invalid session: token has invalid claims: token is expired"


@dataclass(frozen=True)
class Session:
    """An authenticated caller."""

    account: Account
    iat: float | None


@dataclass(frozen=True)
class AuthResult:
    """A session, or the 401 message the real server would give (``None`` for neither)."""

    session: Session | None = None
    error: str | None = None

    @property
    def account_name(self) -> str | None:
        """The account name for the request log."""
        return self.session.account.name if self.session else None


def _jwt_shaped(value: str) -> bool:
    return len(value.split(".")) == 3


def extract_token(headers: Mapping[str, str], cookies: Mapping[str, str]) -> str | None:
    """The bearer token (if JWT-shaped), else the ``argocd.token`` cookie (if JWT-shaped)."""
    header = headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and _jwt_shaped(value.strip()):
        return value.strip()
    cookie = cookies.get("argocd.token", "")
    if _jwt_shaped(cookie):
        return cookie
    return None


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT-shaped token without checking anything; ``{}`` if unreadable."""
    try:
        payload = token.split(".")[1]
        decoded = jsonio.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return decoded if isinstance(decoded, dict) else {}


class TokenIssuer:
    """Issues and checks login JWTs with a secret made for this run."""

    def __init__(self, accounts: tuple[Account, ...], session_seconds: float) -> None:
        self._secret = secrets.token_bytes(32)
        self._accounts = {a.name: a for a in accounts}
        self._by_token = {a.token: a for a in accounts if a.token}
        self._session_seconds = session_seconds

    def issue(self, account: Account, now: float) -> str:
        """A signed login token for ``account``."""
        claims = {
            "iss": "argocd",
            "sub": f"{account.name}:login",
            "jti": str(uuid.uuid4()),
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now + self._session_seconds),
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def resolve(
        self, token: str | None, now: float, expired_accounts: tuple[str, ...]
    ) -> AuthResult:
        """Turn a request's token into a session or the real server's 401 message."""
        if token is None:
            return AuthResult(error=NO_SESSION)
        account = self._by_token.get(token)
        if account is not None:
            claims = unverified_claims(token)
            exp = claims.get("exp")
            if isinstance(exp, int | float) and exp <= now:
                return AuthResult(error=EXPIRED)
            iat = claims.get("iat")
            session = Session(account, float(iat) if isinstance(iat, int | float) else None)
        else:
            try:
                claims = jwt.decode(
                    token,
                    self._secret,
                    algorithms=["HS256"],
                    issuer="argocd",
                    options={"require": ["sub", "exp"]},
                    leeway=0,
                )
            except jwt.ExpiredSignatureError:
                return AuthResult(error=EXPIRED)
            except jwt.InvalidSignatureError:
                return AuthResult(error="invalid session: token signature is invalid")
            except jwt.PyJWTError:
                return AuthResult(error="invalid session: token is malformed")
            name = str(claims["sub"]).removesuffix(":login")
            found = self._accounts.get(name)
            if found is None:
                return AuthResult(error=f"invalid session: account {name} does not exist")
            account = found
            session = Session(account, float(claims.get("iat", now)))
        if not account.enabled:
            return AuthResult(error=f"invalid session: account {account.name} is disabled")
        if account.name in expired_accounts:
            return AuthResult(error=EXPIRED)
        return AuthResult(session=session)
