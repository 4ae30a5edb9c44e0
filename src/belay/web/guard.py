"""Checks made on a request before any route sees it, and the pure cross-site rule.

* **Host allow-list** (:class:`HostGuardMiddleware`). A page on ``attacker.example`` whose DNS
  name is re-bound to 127.0.0.1 reaches Belay with ``Host: attacker.example``; in loopback mode
  that used to read the audit trail. Only ``public_url``'s host, the loopback names
  (``localhost``, ``127.0.0.1``, ``[::1]``) and ``web.allowed_hosts`` are served; any other
  ``Host`` (or none) is 400. ``/healthz`` and ``/readyz`` answer whatever the host, since
  Kubernetes probes send the pod's IP and the answers hold nothing.
* **Security headers** on every answer, JSON included: the strict Content-Security-Policy, no
  sniffing, no referrer, nothing cached.
* **Cross-site rule** (:func:`cross_site_refusal`), applied by the state-changing routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from belay.jsonio import dumps

__all__ = [
    "LOOPBACK_HOSTS",
    "SECURITY_HEADERS",
    "HostGuardMiddleware",
    "allowed_host_names",
    "cross_site_refusal",
    "host_name",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_ANY_HOST_PATHS = frozenset({"/healthz", "/readyz"})

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
"""Sent with every answer: no scripts at all, no framing, nothing cached."""

_SAFE_FETCH_SITES = frozenset({"same-origin", "none"})


def host_name(value: str) -> str | None:
    """The host name of a ``Host`` header or URL authority, lowercased, without port, brackets
    or trailing dot; ``None`` when it is malformed."""
    text = value.strip().lower()
    if not text or any(c in text for c in "/\\@ ?#"):
        return None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        name, rest = text[1:end], text[end + 1 :]
    else:
        name, sep, port = text.partition(":")
        rest = sep + port
    if rest and not (rest.startswith(":") and rest[1:].isdigit()):
        return None
    name = name.rstrip(".")
    return name or None


def allowed_host_names(public_url: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """``public_url``'s host, the loopback names and ``extra``, as :func:`host_name` gives them."""
    names = {*LOOPBACK_HOSTS}
    public = urlsplit(public_url).hostname
    if public:
        names.add(public.lower().rstrip("."))
    for host in extra:
        parsed = host_name(host)
        if parsed:
            names.add(parsed)
    return frozenset(names)


def cross_site_refusal(headers: Mapping[str, str], *, host: str, public_url: str) -> str | None:
    """Why a state-changing request looks cross-site, or ``None`` when it may proceed.

    ``headers`` is case-insensitive (a Starlette ``Headers``) or lowercased. A browser marks
    every request with ``Sec-Fetch-Site`` (modern ones) or ``Origin`` (all, on a POST): the
    request passes when ``Sec-Fetch-Site`` is ``same-origin`` or ``none`` (typed by the user),
    or, without it, when ``Origin`` is Belay's own (``public_url``'s, or the ``Host`` the
    request was sent to). A request with neither header does not come from a browser page.
    """
    fetch_site = (headers.get("sec-fetch-site") or "").strip().lower()
    if fetch_site:
        if fetch_site in _SAFE_FETCH_SITES:
            return None
        return f"cross-site request refused (Sec-Fetch-Site: {fetch_site[:20]})"
    origin = (headers.get("origin") or "").strip()
    if not origin:
        return None
    try:
        parts = urlsplit(origin.lower())
    except ValueError:  # e.g. "http://[" (found by the fuzzer: it was a 500)
        return "cross-site request refused: Origin is not a URL"
    public = urlsplit(public_url.lower())
    if parts.scheme in ("http", "https") and (
        (parts.scheme, parts.netloc) == (public.scheme, public.netloc)
        or parts.netloc == host.strip().lower()
    ):
        return None
    return "cross-site request refused: Origin is not this server"


async def _send_json(send: Send, status: int, message: str) -> None:
    body = dumps({"error": message})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class HostGuardMiddleware:
    """Refuse a ``Host`` outside ``allowed`` (400) and add the security headers to answers."""

    def __init__(self, app: ASGIApp, *, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hosts = [bytes(v).decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"]
        raw_path = scope.get("raw_path") or scope.get("path", "").encode()
        if (
            b"%00" in raw_path
            or "\x00" in scope.get("path", "")
            or b"%00" in scope.get("query_string", b"")
        ):
            # No name, id or filter holds a NUL; PostgreSQL refuses one in text (a 500 otherwise).
            await _send_json(send, 400, "the path or query holds a NUL character")
            return
        if scope.get("path") not in _ANY_HOST_PATHS:
            name = host_name(hosts[0]) if len(hosts) == 1 else None
            if name is None or name not in self.allowed:
                shown = hosts[0][:100] if len(hosts) == 1 else "(missing or repeated)"
                await _send_json(
                    send,
                    400,
                    f"Host {shown!r} is not served here: add it to web.allowed_hosts in "
                    "belay.yaml if it is Belay's name",
                )
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {bytes(k).lower() for k, _ in headers}
                for key, value in SECURITY_HEADERS.items():
                    if key.lower().encode() not in present:
                        headers.append((key.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
