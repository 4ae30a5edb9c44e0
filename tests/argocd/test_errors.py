"""The error mapping table: status/code/message → class, retryability, redacted one-line text."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import pytest

from belay.argocd import (
    ArgoCDAuthError,
    ArgoCDBadRequest,
    ArgoCDClient,
    ArgoCDError,
    ArgoCDNotFound,
    ArgoCDPermissionDenied,
    ArgoCDProtocolError,
    ArgoCDRateLimited,
    ArgoCDServerError,
    ArgoCDTimeout,
    ArgoCDTLSError,
    ArgoCDUnreachable,
    AutoSyncConflict,
    OperationInProgress,
    RepositoryUnavailable,
    SyncRequest,
    SyncWindowBlocked,
    to_argocd_error,
)
from belay.redact import REDACTED

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJhcmdvY2QiLCJzdWIiOiJhZG1pbjpsb2dpbiJ9."
    "c2lnbmF0dXJlLXZhbHVlLWhlcmU"
)


def _grpc(status: int, code: int | None, message: str, error: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"error": error if error is not None else message, "message": message}
    if code is not None:
        body["code"] = code
    return httpx.Response(status, json=body)


def _client(response: httpx.Response, *, name: str = "prod") -> ArgoCDClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            response.status_code,
            content=response.content,
            headers=response.headers,
            request=request,
        )

    return ArgoCDClient(
        "https://argocd.example.com",
        token="api-token-value-123456",
        instance_name=name,
        transport=httpx.MockTransport(handler),
    )


TABLE = [
    ("no-session", _grpc(401, 16, "no session information"), ArgoCDAuthError, False),
    (
        "expired",
        _grpc(401, 16, "invalid session: token has invalid claims: token is expired"),
        ArgoCDAuthError,
        False,
    ),
    ("forbidden", _grpc(403, 7, "permission denied"), ArgoCDPermissionDenied, False),
    (
        "sync-window",
        _grpc(403, 7, "cannot sync: blocked by sync window"),
        SyncWindowBlocked,
        True,
    ),
    (
        "not-found",
        _grpc(404, 5, 'applications.argoproj.io "guestbook" not found'),
        ArgoCDNotFound,
        False,
    ),
    (
        "in-progress",
        _grpc(400, 9, "another operation is already in progress"),
        OperationInProgress,
        True,
    ),
    (
        "auto-sync-pin",
        _grpc(400, 9, "Cannot sync to abc123: auto-sync currently set to HEAD"),
        AutoSyncConflict,
        False,
    ),
    ("deleting", _grpc(400, 9, "application is deleting"), ArgoCDBadRequest, False),
    (
        "repo-unreachable",
        _grpc(
            400,
            9,
            "error resolving repo revision: rpc error: code = Unknown desc = failed to list "
            "refs: dial tcp: lookup github.com: i/o timeout",
        ),
        RepositoryUnavailable,
        True,
    ),
    (
        "revision-not-found",
        _grpc(
            400,
            9,
            "error resolving repo revision: rpc error: code = Unknown desc = unable to resolve "
            "'release-9' to a commit SHA: revision not found",
        ),
        RepositoryUnavailable,
        True,
    ),
    (
        "stream-shape",
        httpx.Response(
            401,
            json={
                "error": {
                    "grpc_code": 16,
                    "http_code": 401,
                    "message": "no session information",
                    "http_status": "Unauthorized",
                }
            },
        ),
        ArgoCDAuthError,
        False,
    ),
    (
        "no-operation",
        _grpc(400, 3, "Unable to terminate operation. No operation is in progress"),
        ArgoCDBadRequest,
        False,
    ),
    (
        "415",
        httpx.Response(415, text="Invalid content type", headers={"content-type": "text/plain"}),
        ArgoCDBadRequest,
        False,
    ),
    ("rate-limited", _grpc(429, 8, "too many requests"), ArgoCDRateLimited, True),
    ("selector", _grpc(500, 2, "error parsing the selector: bad"), ArgoCDServerError, True),
    ("unavailable", _grpc(503, 14, "service unavailable"), ArgoCDServerError, True),
    (
        "proxy-html",
        httpx.Response(
            502,
            text="<html><body><h1>502 Bad Gateway</h1>nginx</body></html>",
            headers={"content-type": "text/html"},
        ),
        ArgoCDServerError,
        True,
    ),
    (
        "proxy-rewrote-status",
        _grpc(503, 7, "permission denied"),
        ArgoCDPermissionDenied,
        False,
    ),
    ("plain-404", httpx.Response(404, text="Not Found"), ArgoCDNotFound, False),
]


@pytest.mark.parametrize(
    ("response", "cls", "retryable"),
    [pytest.param(r, c, rt, id=i) for i, r, c, rt in TABLE],
)
def test_mapping_table(response: httpx.Response, cls: type[ArgoCDError], retryable: bool) -> None:
    """Each answer becomes exactly the documented class with the documented retryability."""
    with _client(response) as client, pytest.raises(ArgoCDError) as info:
        client.get_application("guestbook", project="default")
    err = info.value
    assert type(err) is cls
    assert err.retryable is retryable
    assert err.status_code == response.status_code
    assert err.instance == "prod"
    assert err.method == "GET"
    assert err.path == "/api/v1/applications/guestbook"
    assert err.application == "guestbook"
    assert "\n" not in str(err)


def test_message_format_prefers_message_over_error() -> None:
    """The line names instance, status, message, method, path and gRPC code."""
    response = _grpc(
        403,
        7,
        "permission denied: applications, sync, default/foo, sub: ci, iat: 2024-01-01T00:00:00Z",
        error="rpc error: code = PermissionDenied desc = something else",
    )
    with _client(response) as client, pytest.raises(ArgoCDPermissionDenied) as info:
        client.sync("foo", SyncRequest(), project="default")
    assert str(info.value) == (
        'Argo CD "prod" answered 403 permission denied: applications, sync, default/foo, sub: ci,'
        " iat: 2024-01-01T00:00:00Z for POST /api/v1/applications/foo/sync (code 7)"
    )
    assert info.value.grpc_code == 7


def test_rpc_prefix_is_removed_when_only_error_is_given() -> None:
    """``rpc error: code = X desc = msg`` shows just msg."""
    response = httpx.Response(
        401, json={"error": "rpc error: code = Unauthenticated desc = no session information"}
    )
    with _client(response) as client, pytest.raises(ArgoCDAuthError) as info:
        client.version()
    assert "no session information" in str(info.value)
    assert "rpc error" not in str(info.value)


def test_401_echoing_a_jwt_does_not_show_it() -> None:
    """A server message that echoes a token is redacted before anyone sees it."""
    response = _grpc(401, 16, f"invalid session: token {JWT} is revoked, please re-login")
    with _client(response) as client, pytest.raises(ArgoCDAuthError) as info:
        client.list_applications()
    text = str(info.value)
    assert JWT not in text
    assert "eyJhbGci" not in text
    assert REDACTED in text
    assert info.value.server_message is not None
    assert JWT not in info.value.server_message


def test_registered_token_echoed_in_proxy_page_is_redacted() -> None:
    """The client's own token never appears, even inside a non-JSON proxy answer."""
    page = "<html>upstream said: Authorization: api-token-value-123456</html>"
    response = httpx.Response(502, text=page, headers={"content-type": "text/html"})
    with _client(response) as client, pytest.raises(ArgoCDServerError) as info:
        client.list_applications()
    text = str(info.value)
    assert "api-token-value-123456" not in text
    assert "non-JSON body (text/html)" in text
    assert "502" in text
    assert "<html>" not in text


def test_bare_403_without_project_may_mean_not_found() -> None:
    """Without a project, a bare ``permission denied`` says it may be a missing app."""
    response = _grpc(403, 7, "permission denied")
    with _client(response) as client:
        with pytest.raises(ArgoCDPermissionDenied) as without:
            client.get_application("ghost")
        with pytest.raises(ArgoCDPermissionDenied) as with_project:
            client.get_application("ghost", project="default")
    assert without.value.maybe_not_found is True
    assert "does not exist" in str(without.value)
    assert with_project.value.maybe_not_found is False


@pytest.mark.parametrize(
    ("exc", "cls", "retryable"),
    [
        pytest.param(httpx.ConnectError("[Errno 111] Connection refused"), ArgoCDUnreachable, True),
        pytest.param(httpx.ConnectTimeout("timed out"), ArgoCDTimeout, True),
        pytest.param(httpx.ReadTimeout("timed out"), ArgoCDTimeout, True),
        pytest.param(httpx.RemoteProtocolError("peer closed connection"), ArgoCDUnreachable, True),
        pytest.param(
            httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
            ArgoCDTLSError,
            False,
        ),
    ],
)
def test_network_exceptions(exc: httpx.HTTPError, cls: type[ArgoCDError], retryable: bool) -> None:
    """Transport failures map to unreachable, timeout or TLS errors."""

    def handler(request: httpx.Request) -> httpx.Response:
        exc.request = request
        raise exc

    client = ArgoCDClient(
        "https://argocd.example.com",
        token="tok-123456789",
        instance_name="prod",
        transport=httpx.MockTransport(handler),
    )
    with client, pytest.raises(ArgoCDError) as info:
        client.version()
    assert type(info.value) is cls
    assert info.value.retryable is retryable
    assert info.value.status_code is None
    assert info.value.path == "/api/version"
    assert isinstance(info.value.__cause__, httpx.HTTPError)


def test_ssl_error_in_chain_is_tls() -> None:
    """A ConnectError caused by an ``ssl.SSLError`` is a TLS error whatever its text."""
    request = httpx.Request("GET", "https://argocd.example.com/api/version")
    try:
        try:
            raise ssl.SSLError(1, "handshake failed")
        except ssl.SSLError as inner:
            raise httpx.ConnectError("boom", request=request) from inner
    except httpx.ConnectError as outer:
        err = to_argocd_error(outer, instance="x")
    assert type(err) is ArgoCDTLSError


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html>login page</html>", "text/html"),
        (b"[1, 2, 3]", "application/json"),
        (b'{"items": {"not": "a list"}}', "application/json"),
        (b'{"items": [{"metadata": {"name": ["not", "a", "string"]}}]}', "application/json"),
    ],
)
def test_2xx_that_is_not_the_expected_json_is_a_protocol_error(
    body: bytes, content_type: str
) -> None:
    """Wrong 2xx bodies give a one-line ArgoCDProtocolError, never a validation traceback."""
    response = httpx.Response(200, content=body, headers={"content-type": content_type})
    with _client(response) as client, pytest.raises(ArgoCDProtocolError) as info:
        client.list_applications()
    assert info.value.retryable is False
    assert "\n" not in str(info.value)
    assert "GET /api/v1/applications" in str(info.value)
    assert info.value.__cause__ is None


def test_retry_after_is_kept() -> None:
    """A 429 or 503 with ``Retry-After`` carries the delay for the retry policy."""
    response = httpx.Response(
        429,
        json={"error": "slow down", "code": 8, "message": "slow down"},
        headers={"retry-after": "7"},
    )
    with _client(response) as client, pytest.raises(ArgoCDRateLimited) as info:
        client.list_applications()
    assert info.value.retry_after == 7.0
    with _client(_grpc(503, 14, "unavailable")) as client, pytest.raises(ArgoCDServerError) as no:
        client.list_applications()
    assert no.value.retry_after is None
