"""Base URL rules: ``https://`` for remote hosts, plain ``http://`` only for loopback.

The rule is a security decision, so it fails closed: anything that is not clearly a usable
``http(s)`` URL is refused with a reason that never repeats a credential from the value.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["BaseURLProblem", "is_loopback_host", "normalise_base_url"]

_LOOPBACK_V4 = ipaddress.ip_network("127.0.0.0/8")


class BaseURLProblem(ValueError):
    """A base URL that cannot be used; ``str()`` says why, without the URL's credentials."""


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, any address in 127.0.0.0/8, and ``::1``."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address in _LOOPBACK_V4
    return address == ipaddress.IPv6Address("::1")


def normalise_base_url(value: str, label: str) -> tuple[str, tuple[str, ...]]:
    """Check ``value`` (named ``label`` in messages) and return it normalised, plus warnings.

    The result has a lower-case scheme and host, the port if one was given, any path prefix
    (Argo CD can be served under a root path) and no trailing slash. Raises
    :class:`BaseURLProblem` for a value that is not an ``http(s)`` URL, carries credentials, a
    query or a fragment, or uses plain ``http://`` for a host that is not loopback.
    """
    text = value.strip()
    if not text:
        raise BaseURLProblem(f"{label} is empty")
    if any(ch.isspace() for ch in text):
        raise BaseURLProblem(f"{label} is not a URL (it contains whitespace)")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as err:
        raise BaseURLProblem(f"{label} is not a valid URL ({_why(err)})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        if not parts.scheme or not parts.netloc:
            raise BaseURLProblem(
                f"{label} is not a URL: expected https://host[:port] (no scheme given)"
            )
        raise BaseURLProblem(f"{label} must use https:// (got the scheme {scheme!r})")
    host = (parts.hostname or "").lower()
    if not host:
        raise BaseURLProblem(f"{label} is not a URL: it has no host")
    if parts.username is not None or parts.password is not None:
        raise BaseURLProblem(
            f"{label} must not contain credentials; set the token or username/password separately"
        )
    if parts.query or parts.fragment:
        raise BaseURLProblem(f"{label} must not have a query string or fragment")
    warnings: tuple[str, ...] = ()
    if scheme == "http":
        if not is_loopback_host(host):
            raise BaseURLProblem(
                f"{label} uses plain http:// for the remote host {host}; use https:// "
                "(plain http is allowed only for localhost, 127.0.0.0/8 and ::1)"
            )
        warnings = (
            f"{label} uses plain http:// on loopback host {host}: allowed, but the token "
            "crosses it unencrypted; use TLS (https://) where you can (docs/configuration.md)",
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/")
    return f"{scheme}://{netloc}{path}", warnings


def _why(err: ValueError) -> str:
    # urllib's messages name the problem ("Port out of range 0-65535") without echoing the value.
    message = str(err).strip() or type(err).__name__
    return message.splitlines()[0]
