"""Errors of the Argo CD client, grouped by what the caller should do about them.

::

    ArgoCDError(BelayError)
    ├── ArgoCDUnreachable        network/DNS/refused/dropped                       retryable
    │   └── ArgoCDTLSError       certificate/handshake failure                     not retryable
    ├── ArgoCDTimeout            connect/read timeout                              retryable
    ├── ArgoCDAuthError          401 / code 16                                     not retryable
    ├── ArgoCDPermissionDenied   403 / code 7                                      not retryable
    │   └── SyncWindowBlocked    403 whose message says sync window                retryable
    ├── ArgoCDNotFound           404 / code 5                                      not retryable
    ├── OperationInProgress      400 code 9 "another operation is already in progress"  retryable
    ├── RepositoryUnavailable    400 code 9: repository/revision not reached/resolved  retryable
    ├── AutoSyncConflict         400 code 9 about auto-sync / revision pin         not retryable
    ├── ArgoCDBadRequest         other 4xx (incl. 415)                             not retryable
    ├── ArgoCDRateLimited        429 / code 8                                      retryable
    ├── ArgoCDServerError        5xx                                               retryable
    └── ArgoCDProtocolError      a 2xx body that is not the JSON expected          not retryable

Every error carries ``instance``, ``method``, ``path``, ``status_code``, ``grpc_code``,
``application`` and ``retryable``; ``str(err)`` is one line, already redacted.

:func:`to_argocd_error` is the one place where httpx exceptions and non-2xx responses become
these classes. The gRPC code in grpc-gateway's body ``{error, code, message}`` (or, for a stream,
``{"error": {grpc_code, http_code, message, http_status}}``) decides the class when present (it
is what Argo CD meant, even if a proxy rewrote the status); otherwise the HTTP status does.

Argo CD answers every failure to resolve a sync's revision with code 9 (``error resolving repo
revision: ...``), including a repo server or Git host that is briefly unreachable; those are
:class:`RepositoryUnavailable` and retryable (the job's deadline bounds the retries), while the
other code-9 answers (deleting, auto-sync pin, local-sync refusal) stay terminal.
"""

from __future__ import annotations

import contextlib
import re
import ssl
from typing import Any

import httpx

from belay import jsonio
from belay.errors import BelayError
from belay.redact import redact_text

__all__ = [
    "ArgoCDAuthError",
    "ArgoCDBadRequest",
    "ArgoCDError",
    "ArgoCDNotFound",
    "ArgoCDPermissionDenied",
    "ArgoCDProtocolError",
    "ArgoCDRateLimited",
    "ArgoCDServerError",
    "ArgoCDTLSError",
    "ArgoCDTimeout",
    "ArgoCDUnreachable",
    "AutoSyncConflict",
    "OperationInProgress",
    "RepositoryUnavailable",
    "SyncWindowBlocked",
    "error_from_stream",
    "to_argocd_error",
]

# gRPC status codes Argo CD uses (google.golang.org/grpc/codes).
CODE_DEADLINE_EXCEEDED = 4
CODE_NOT_FOUND = 5
CODE_PERMISSION_DENIED = 7
CODE_RESOURCE_EXHAUSTED = 8
CODE_FAILED_PRECONDITION = 9
CODE_UNAUTHENTICATED = 16
_SERVER_SIDE_CODES = frozenset({2, 4, 12, 13, 14, 15})  # Unknown, Deadline, Unimpl., Internal, ...

_OPERATION_IN_PROGRESS = "another operation is already in progress"
# Phrases of the repo server and Git saying the repository or revision was not reached or
# resolved (server/application ``resolveRevision``, reposerver ``ResolveRevision``, util/git).
_REPOSITORY_PHRASES = (
    "error resolving repo revision",
    "error getting repo server client",
    "error getting repository by url",
    "unable to resolve",
    "failed to list refs",
    "could not read from remote repository",
    "repository not found",
    "connection refused",
    "i/o timeout",
    "no such host",
)
_SNIPPET_LENGTH = 160


class ArgoCDError(BelayError):
    """Base of every error the Argo CD client raises."""

    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        instance: str = "default",
        method: str | None = None,
        path: str | None = None,
        status_code: int | None = None,
        grpc_code: int | None = None,
        application: str | None = None,
        retryable: bool | None = None,
        server_message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = _one_line(redact_text(message))
        self.instance = instance
        self.method = method
        self.path = path
        self.status_code = status_code
        self.grpc_code = grpc_code
        self.application = application
        self.retryable = self.default_retryable if retryable is None else retryable
        self.server_message = redact_text(server_message) if server_message is not None else None
        """Argo CD's own message (redacted) without Belay's framing; ``None`` for network errors."""
        self.retry_after = retry_after
        """Seconds the server asked us to wait (``Retry-After``), when it said so."""
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class ArgoCDUnreachable(ArgoCDError):
    """The server could not be reached or the connection dropped (DNS, refused, reset)."""

    default_retryable = True


class ArgoCDTLSError(ArgoCDUnreachable):
    """TLS failed: untrusted or invalid certificate, handshake failure, unusable CA bundle."""

    default_retryable = False


class ArgoCDTimeout(ArgoCDError):
    """Connecting, writing or waiting for the answer (or the next watch event) took too long."""

    default_retryable = True


class ArgoCDAuthError(ArgoCDError):
    """401 / code 16: no session, invalid or expired token, login refused."""


class ArgoCDPermissionDenied(ArgoCDError):
    """403 / code 7: the account may not do this.

    Without a ``project`` Argo CD also answers exactly ``permission denied`` for an application
    that does not exist; ``maybe_not_found`` is true in that case.
    """

    def __init__(self, message: str, *, maybe_not_found: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.maybe_not_found = maybe_not_found


class SyncWindowBlocked(ArgoCDPermissionDenied):
    """403 because a sync window of the project forbids syncing now; a later try may pass."""

    default_retryable = True


class ArgoCDNotFound(ArgoCDError):
    """404 / code 5: the application (or the route) does not exist."""


class OperationInProgress(ArgoCDError):
    """400 / code 9 ``another operation is already in progress``: wait for it, then retry."""

    default_retryable = True


class RepositoryUnavailable(ArgoCDError):
    """400 / code 9: the repository or the revision could not be reached or resolved.

    The repo server or the Git host may be briefly unreachable, or a just-pushed ref not yet
    visible; trying again later may work.
    """

    default_retryable = True


class AutoSyncConflict(ArgoCDError):
    """400 / code 9: auto-sync pins another revision (``Cannot sync to X: auto-sync ...``)."""


class ArgoCDBadRequest(ArgoCDError):
    """Any other 4xx: invalid argument, 415 content type, a failed precondition, a conflict."""


class ArgoCDRateLimited(ArgoCDError):
    """429 / code 8: too many requests (from Kubernetes or a proxy in front of Argo CD)."""

    default_retryable = True


class ArgoCDServerError(ArgoCDError):
    """5xx: the server (or a proxy) failed; trying again later may work."""

    default_retryable = True


class ArgoCDProtocolError(ArgoCDError):
    """A 2xx answer that is not the JSON expected (wrong endpoint, proxy page, changed API)."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _label(instance: str) -> str:
    return f'Argo CD "{instance}"'


def _request_part(method: str | None, path: str | None) -> str:
    if method and path:
        return f" for {method} {path}"
    return ""


def _parse_error_body(response: httpx.Response) -> tuple[int | None, str | None] | None:
    """Return (code, message) from a grpc-gateway error body, or ``None`` when it is not one."""
    try:
        body = jsonio.loads(response.content)
    except (ValueError, TypeError):
        return None
    if not isinstance(body, dict):
        return None
    nested = body.get("error")
    if isinstance(nested, dict):  # grpc-gateway's stream error: {"error": {grpc_code, ...}}
        body = {"code": nested.get("grpc_code"), "message": nested.get("message")}
    code = body.get("code")
    grpc_code = code if isinstance(code, int) and not isinstance(code, bool) else None
    # grpc-gateway sends the same text twice; prefer ``message``, fall back to ``error``.
    text: str | None = None
    for key in ("message", "error"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            text = value
            break
    if grpc_code is None and text is None:
        return None
    return grpc_code, text


def _strip_rpc_prefix(text: str) -> str:
    # A few layers answer "rpc error: code = Unauthenticated desc = <message>".
    match = re.match(r"^rpc error: code = \w+ desc = (.*)$", text, re.DOTALL)
    return match.group(1) if match else text


def _snippet(response: httpx.Response) -> str:
    text = response.content[:2000].decode("utf-8", errors="replace")
    text = re.sub(r"<[^>]*>", " ", text)  # proxy error pages are HTML; the words matter
    text = _one_line(redact_text(text))
    if len(text) > _SNIPPET_LENGTH:
        text = text[: _SNIPPET_LENGTH - 1] + "…"
    return text


def _class_for(
    status: int, grpc_code: int | None, text: str
) -> tuple[type[ArgoCDError], bool | None]:
    """Pick the class (and, rarely, a retryable override) for a non-2xx answer."""
    lowered = text.lower()
    if grpc_code == CODE_UNAUTHENTICATED or (grpc_code is None and status == 401):
        return ArgoCDAuthError, None
    if grpc_code == CODE_PERMISSION_DENIED or (grpc_code is None and status == 403):
        if "sync window" in lowered:
            return SyncWindowBlocked, None
        return ArgoCDPermissionDenied, None
    if grpc_code == CODE_NOT_FOUND or (grpc_code is None and status == 404):
        return ArgoCDNotFound, None
    if grpc_code == CODE_RESOURCE_EXHAUSTED or (grpc_code is None and status == 429):
        return ArgoCDRateLimited, None
    if grpc_code == CODE_FAILED_PRECONDITION:
        if _OPERATION_IN_PROGRESS in lowered:
            return OperationInProgress, None
        if "auto-sync" in lowered or lowered.startswith("cannot sync"):
            return AutoSyncConflict, None
        if any(phrase in lowered for phrase in _REPOSITORY_PHRASES):
            return RepositoryUnavailable, None
        return ArgoCDBadRequest, None
    if grpc_code in _SERVER_SIDE_CODES or status >= 500:
        return ArgoCDServerError, None
    if status == 408:
        return ArgoCDTimeout, None
    return ArgoCDBadRequest, None


def _from_response(
    response: httpx.Response,
    *,
    instance: str,
    application: str | None,
    project_given: bool,
) -> ArgoCDError:
    request = response.request
    method, path = request.method, request.url.path
    status = response.status_code
    context: dict[str, Any] = {
        "instance": instance,
        "method": method,
        "path": path,
        "status_code": status,
        "application": application,
        "retry_after": _retry_after(response),
    }
    parsed = _parse_error_body(response)
    if parsed is None:
        content_type = response.headers.get("content-type", "no content type").split(";")[0]
        snippet = _snippet(response)
        reason = response.reason_phrase or "error"
        detail = f": {snippet}" if snippet else " (empty body)"
        message = (
            f"{_label(instance)} answered {status} {reason} with a non-JSON body "
            f"({content_type}){_request_part(method, path)}{detail}"
        )
        cls, retryable = _class_for(status, None, snippet)
        return cls(message, server_message=snippet, retryable=retryable, **context)
    grpc_code, text = parsed
    text = _one_line(_strip_rpc_prefix(text or response.reason_phrase or "error"))
    code_part = f" (code {grpc_code})" if grpc_code is not None else ""
    message = f"{_label(instance)} answered {status} {text}{_request_part(method, path)}{code_part}"
    cls, retryable = _class_for(status, grpc_code, text)
    if cls is ArgoCDPermissionDenied:
        maybe_not_found = application is not None and not project_given
        maybe_not_found = maybe_not_found and text.strip().lower() == "permission denied"
        if maybe_not_found:
            message += (
                "; without a project Argo CD says this both for an application that does not"
                " exist and for one the account may not read (pass a project to tell them apart)"
            )
        return ArgoCDPermissionDenied(
            message,
            maybe_not_found=maybe_not_found,
            grpc_code=grpc_code,
            server_message=text,
            **context,
        )
    return cls(message, grpc_code=grpc_code, server_message=text, retryable=retryable, **context)


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (the delta form; an HTTP date is ignored), capped at 1 hour."""
    value = response.headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return min(max(seconds, 0.0), 3600.0)


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _looks_like_tls(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in ("certificate", "ssl", "tls", "handshake"))


def _from_exception(
    exc: httpx.HTTPError,
    *,
    instance: str,
    application: str | None,
    base_url: str | None,
) -> ArgoCDError:
    method: str | None = None
    path: str | None = None
    with contextlib.suppress(RuntimeError):  # raised when the error has no request attached
        method, path = exc.request.method, exc.request.url.path
    context: dict[str, Any] = {
        "instance": instance,
        "method": method,
        "path": path,
        "application": application,
    }
    where = f" at {base_url}" if base_url else ""
    request_part = f" ({method} {path})" if method and path else ""
    detail = _one_line(str(exc)) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: "connecting",
            httpx.ReadTimeout: "waiting for the answer",
            httpx.WriteTimeout: "sending the request",
            httpx.PoolTimeout: "waiting for a free connection",
        }.get(type(exc), "waiting")
        return ArgoCDTimeout(
            f"{_label(instance)}{where} timed out {phase}{request_part}", **context
        )
    tls = _ssl_cause(exc)
    if isinstance(exc, httpx.ConnectError) and (tls is not None or _looks_like_tls(detail)):
        reason = getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or detail
        return ArgoCDTLSError(
            f"{_label(instance)}{where} failed TLS: {reason}{request_part}", **context
        )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ArgoCDUnreachable(
            f"{_label(instance)} has an unusable URL{where}: {detail}{request_part}",
            retryable=False,
            **context,
        )
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return ArgoCDUnreachable(
            f"{_label(instance)}{where} dropped the connection: {detail}{request_part}", **context
        )
    if isinstance(exc, httpx.TransportError):
        return ArgoCDUnreachable(
            f"{_label(instance)} is unreachable{where}: {detail}{request_part}", **context
        )
    return ArgoCDError(
        f"{_label(instance)}{where} request failed: {detail}{request_part}", **context
    )


def to_argocd_error(
    source: httpx.Response | httpx.HTTPError,
    *,
    instance: str = "default",
    application: str | None = None,
    project_given: bool = False,
    base_url: str | None = None,
) -> ArgoCDError:
    """Translate an httpx exception or a non-2xx response into the matching :class:`ArgoCDError`.

    A response must have been read (``response.read()``) first. ``project_given`` tells whether
    the request named a project, which decides if a bare 403 may mean "not found".
    """
    if isinstance(source, httpx.Response):
        return _from_response(
            source, instance=instance, application=application, project_given=project_given
        )
    return _from_exception(source, instance=instance, application=application, base_url=base_url)


def error_from_stream(
    error: Any,
    *,
    instance: str = "default",
    path: str | None = None,
    application: str | None = None,
) -> ArgoCDError:
    """Translate a watch stream's ``error`` object (``{grpc_code, http_code, message, ...}``)."""
    body = error if isinstance(error, dict) else {}
    grpc_code = body.get("grpc_code", body.get("code"))
    grpc_code = (
        grpc_code if isinstance(grpc_code, int) and not isinstance(grpc_code, bool) else None
    )
    http_code = body.get("http_code")
    status = http_code if isinstance(http_code, int) and not isinstance(http_code, bool) else 500
    raw_text = body.get("message") or body.get("error") or str(error)
    text = _one_line(_strip_rpc_prefix(str(raw_text)))
    cls, retryable = _class_for(status, grpc_code, text)
    code_part = f" (code {grpc_code})" if grpc_code is not None else ""
    message = (
        f"{_label(instance)} watch stream failed: {text}{_request_part('GET', path)}{code_part}"
    )
    return cls(
        message,
        instance=instance,
        method="GET",
        path=path,
        status_code=status,
        grpc_code=grpc_code,
        application=application,
        retryable=retryable,
        server_message=text,
    )
