"""The client over real sockets: a Starlette app under uvicorn in a thread, plain and TLS."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import trustme
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from belay import jsonio
from belay.argocd import (
    ArgoCDAuthError,
    ArgoCDClient,
    ArgoCDNotFound,
    ArgoCDPermissionDenied,
    ArgoCDServerError,
    ArgoCDTimeout,
    ArgoCDTLSError,
    ArgoCDUnreachable,
    Info,
    OperationInProgress,
    SyncRequest,
    WatchEvent,
)

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ3aXJlIn0.d2lyZS1zaWduYXR1cmU"
WATCH_READ = 5.0  # generous: only the "quiet" stream is meant to time out, with its own value


def _app(name: str, *, phase: str = "Succeeded") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "argocd", "resourceVersion": "7"},
        "spec": {"project": "default", "destination": {}},
        "status": {"health": {"status": "Healthy"}, "operationState": {"phase": phase}},
    }


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "code": code, "message": message}, status_code=status)


class WireArgo:
    """A tiny Argo CD-like server: enough routes to exercise the client over the wire."""

    def __init__(self) -> None:
        self.disconnected = threading.Event()
        self.busy = False
        self.seen: list[dict[str, Any]] = []
        self.app = Starlette(
            routes=[
                Route("/api/version", self.version),
                Route("/api/v1/applications", self.list_apps),
                Route("/api/v1/applications/{name}", self.get_app),
                Route("/api/v1/applications/{name}/sync", self.sync, methods=["POST"]),
                Route("/api/v1/applications/{name}/operation", self.terminate, methods=["DELETE"]),
                Route("/api/v1/stream/applications", self.stream),
            ]
        )

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    async def version(self, request: Request) -> Response:
        return JSONResponse({"Version": "v3.5.1"})

    async def list_apps(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(401, 16, "no session information")
        self.seen.append({"projects": request.query_params.getlist("projects")})
        return JSONResponse({"metadata": {"resourceVersion": "7"}, "items": [_app("a"), _app("b")]})

    async def get_app(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name == "proxied":
            return Response("<html><h1>502 Bad Gateway</h1></html>", 502, media_type="text/html")
        if name not in ("a", "b"):
            if request.query_params.get("project"):
                return _error(404, 5, f'applications.argoproj.io "{name}" not found')
            return _error(403, 7, "permission denied")
        return JSONResponse(_app(name))

    async def sync(self, request: Request) -> Response:
        if request.headers.get("content-type") != "application/json":
            return PlainTextResponse("Invalid content type", 415)
        if self.busy:
            return _error(400, 9, "another operation is already in progress")
        self.busy = True
        body = jsonio.loads(await request.body())
        self.seen.append(body)
        app = _app(request.path_params["name"])
        app["operation"] = {"sync": {}, "info": body.get("infos", [])}
        return JSONResponse(app)

    async def terminate(self, request: Request) -> Response:
        if request.headers.get("content-type") != "application/json":
            return PlainTextResponse("Invalid content type", 415)
        return JSONResponse({})

    async def stream(self, request: Request) -> Response:
        name = request.query_params.get("name", "")
        if name == "drop":
            return _DroppingStream()  # type: ignore[return-value]
        sse = name == "sse"

        def frame(obj: dict[str, Any]) -> bytes:
            text = jsonio.dumps_text(obj)
            return f"data: {text}\n\n".encode() if sse else (text + "\n").encode()

        async def events() -> AsyncIterator[bytes]:
            try:
                if sse:
                    yield b": keepalive\n\n"
                yield frame(
                    {"result": {"type": "ADDED", "application": _app("a", phase="Running")}}
                )
                if name == "quiet":
                    await anyio.sleep(30)
                if name == "forever":
                    n = 0
                    while True:
                        n += 1
                        yield frame({"result": {"type": "MODIFIED", "application": _app(f"a{n}")}})
                        await anyio.sleep(0.01)
                yield frame({"result": {"type": "MODIFIED", "application": _app("a")}})
                if name == "error":
                    yield frame(
                        {
                            "error": {
                                "grpc_code": 7,
                                "http_code": 403,
                                "message": "permission denied",
                            }
                        }
                    )
            finally:
                self.disconnected.set()

        media = "text/event-stream" if sse else "application/json"
        return StreamingResponse(events(), media_type=media)


class _DroppingStream:
    """Raw ASGI answer: a chunked 200, one event, then the connection dies mid-body."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        line = jsonio.dumps({"result": {"type": "ADDED", "application": _app("a")}}) + b"\n"
        await send({"type": "http.response.body", "body": line, "more_body": True})
        raise RuntimeError("connection dropped on purpose")


@pytest.fixture
def wire(serve: Any) -> Iterator[tuple[str, WireArgo]]:
    server = WireArgo()
    with serve(server.app) as url:
        yield url, server


def _drain(events: Iterator[WatchEvent], seen: list[str]) -> None:
    """Consume a watch, recording event types, until it ends or raises."""
    for event in events:
        seen.append(event.type)


def _client(url: str, **kwargs: Any) -> ArgoCDClient:
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("timeout", 5.0)
    return ArgoCDClient(url, instance_name="wire", **kwargs)


def test_list_get_and_not_found_matrix(wire: tuple[str, WireArgo]) -> None:
    """List with repeated projects, get, and 403-without-project vs 404-with-project."""
    url, server = wire
    with _client(url) as client:
        apps = client.list_applications(projects=["default", "other"])
        assert [a.name for a in apps] == ["a", "b"]
        assert server.seen[-1] == {"projects": ["default", "other"]}
        assert client.get_application("a").status.health.status == "Healthy"
        with pytest.raises(ArgoCDPermissionDenied) as denied:
            client.get_application("ghost")
        assert denied.value.maybe_not_found
        with pytest.raises(ArgoCDNotFound):
            client.get_application("ghost", project="default")
        with pytest.raises(ArgoCDServerError, match="non-JSON body"):
            client.get_application("proxied")


def test_wrong_token_is_auth_error(wire: tuple[str, WireArgo]) -> None:
    """A token the server refuses is ArgoCDAuthError, and the token is not in the message."""
    url, _ = wire
    bad = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiYWQifQ.YmFkLXNpZ25hdHVyZQ"
    with _client(url, token=bad) as client, pytest.raises(ArgoCDAuthError) as info:
        client.list_applications()
    assert bad not in str(info.value)


def test_sync_round_trip_and_conflict(wire: tuple[str, WireArgo]) -> None:
    """A sync passes the 415 check, echoes our info, and a second sync is OperationInProgress."""
    url, server = wire
    request = SyncRequest.hook(prune=True, infos=[Info(name="belay", value="d-42")])
    with _client(url) as client:
        app = client.sync("a", request, project="default")
        assert app.operation is not None
        assert app.operation.info_value("belay") == "d-42"
        with pytest.raises(OperationInProgress) as info:
            client.sync("a", request, project="default")
        assert info.value.retryable
        client.terminate_operation("a", project="default")
    assert server.seen == [
        {
            "prune": True,
            "strategy": {"hook": {}},
            "infos": [{"name": "belay", "value": "d-42"}],
            "name": "a",
            "project": "default",
        }
    ]


@pytest.mark.parametrize("framing", ["ndjson", "sse"])
def test_watch_stream_ends_normally(wire: tuple[str, WireArgo], framing: str) -> None:
    """Both framings yield the events in order and end when the server ends the stream."""
    url, _ = wire
    name = "sse" if framing == "sse" else "plain"
    with _client(url) as client:
        events = list(client.watch_applications(name=name, read_timeout=WATCH_READ))
    assert [(e.type, e.application.status.operation_state.phase) for e in events] == [  # type: ignore[union-attr]
        ("ADDED", "Running"),
        ("MODIFIED", "Succeeded"),
    ]


def test_watch_error_object_raises(wire: tuple[str, WireArgo]) -> None:
    """An ``error`` object in the stream ends the watch with the typed error."""
    url, _ = wire
    seen: list[str] = []
    with _client(url) as client, pytest.raises(ArgoCDPermissionDenied):
        _drain(client.watch_applications(name="error", read_timeout=WATCH_READ), seen)
    assert seen == ["ADDED", "MODIFIED"]


def test_watch_dropped_mid_stream_is_unreachable(wire: tuple[str, WireArgo]) -> None:
    """A connection that dies mid-body is a retryable ArgoCDUnreachable after the first event."""
    url, _ = wire
    seen: list[str] = []
    with _client(url) as client, pytest.raises(ArgoCDUnreachable) as info:
        _drain(client.watch_applications(name="drop", read_timeout=WATCH_READ), seen)
    assert seen == ["ADDED"]
    assert info.value.retryable
    assert type(info.value) is ArgoCDUnreachable


def test_watch_read_timeout(wire: tuple[str, WireArgo]) -> None:
    """``read_timeout`` bounds the wait for the next line."""
    url, _ = wire
    seen: list[str] = []
    with _client(url) as client, pytest.raises(ArgoCDTimeout) as info:
        _drain(client.watch_applications(name="quiet", read_timeout=0.3), seen)
    assert seen == ["ADDED"]
    assert info.value.retryable


def test_stopping_iteration_closes_the_connection(wire: tuple[str, WireArgo]) -> None:
    """Leaving the loop closes the response; the server sees the client go away."""
    url, server = wire
    with _client(url) as client:
        stream = client.watch_applications(name="forever", read_timeout=WATCH_READ)
        for count, _event in enumerate(stream, start=1):
            if count == 3:
                break
        stream.close()  # type: ignore[attr-defined]
        assert server.disconnected.wait(timeout=10)
        # the client stays usable afterwards
        assert client.version().version == "v3.5.1"


def test_unreachable_port(unused_port: int) -> None:
    """Nothing listening → ArgoCDUnreachable, retryable, naming the instance and address."""
    with (
        _client(f"http://127.0.0.1:{unused_port}", timeout=3.0) as client,
        pytest.raises(ArgoCDUnreachable) as info,
    ):
        client.version()
    assert info.value.retryable
    assert type(info.value) is ArgoCDUnreachable
    assert f"127.0.0.1:{unused_port}" in str(info.value)
    assert 'Argo CD "wire"' in str(info.value)


# -- TLS -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    paths = {"ca": folder / "ca.pem", "cert": folder / "cert.pem", "key": folder / "key.pem"}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    cert.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(paths["cert"]), append=True)
    cert.private_key_pem.write_to_path(str(paths["key"]))
    return paths


@pytest.fixture
def tls_url(serve: Any, tls_material: dict[str, Path]) -> Iterator[str]:
    server = WireArgo()
    with serve(
        server.app, certfile=str(tls_material["cert"]), keyfile=str(tls_material["key"])
    ) as url:
        yield url


def test_tls_with_ca_bundle_passes(tls_url: str, tls_material: dict[str, Path]) -> None:
    """Verification on with the right CA bundle works."""
    with _client(tls_url, verify=str(tls_material["ca"])) as client:
        assert [a.name for a in client.list_applications()] == ["a", "b"]


def test_tls_without_ca_fails_closed(tls_url: str) -> None:
    """Verification on without the CA → ArgoCDTLSError, not retryable."""
    with _client(tls_url) as client, pytest.raises(ArgoCDTLSError) as info:
        client.list_applications()
    assert info.value.retryable is False
    assert "TLS" in str(info.value)


def test_tls_verification_off_passes(tls_url: str) -> None:
    """ARGOCD_VERIFY_SSL=false (verify=False) connects to the self-signed server."""
    with _client(tls_url, verify=False) as client:
        assert client.version().version == "v3.5.1"


def test_tls_context_is_built_once_per_ca_bundle_version(
    tls_url: str, tls_material: dict[str, Path], tmp_path: Path
) -> None:
    """Clients made per job share one TLS context per CA bundle (loading one costs tens of ms);
    a replaced bundle file is loaded afresh, and the shared context still verifies."""
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(tls_material["ca"].read_bytes())
    with (
        _client(tls_url, verify=str(bundle)) as first,
        _client(tls_url, verify=str(bundle)) as second,
    ):
        assert (
            first._http._transport._pool._ssl_context is second._http._transport._pool._ssl_context
        )
        assert [a.name for a in second.list_applications()] == ["a", "b"]
        shared = first._http._transport._pool._ssl_context
    bundle.write_bytes(tls_material["ca"].read_bytes() + b"\n")
    with _client(tls_url, verify=str(bundle)) as renewed:
        assert renewed._http._transport._pool._ssl_context is not shared
        assert [a.name for a in renewed.list_applications()] == ["a", "b"]
