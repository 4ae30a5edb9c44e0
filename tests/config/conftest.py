"""Config test helpers: resolve from explicit inputs only, and a fake Argo CD over real HTTP(S)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tests.support import free_port, serve_app

from belay.config import ArgoCDResolution, resolve_argocd

Resolve = Callable[..., ArgoCDResolution]


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    """A store path inside the test's temporary folder (not created)."""
    return tmp_path / "tracer" / "integrations.json"


@pytest.fixture
def write_store(store_file: Path) -> Callable[[Any], Path]:
    """Write a JSON document (or raw text) to the store path with mode 0600."""

    def write(document: Any) -> Path:
        store_file.parent.mkdir(parents=True, exist_ok=True)
        text = document if isinstance(document, str) else json.dumps(document)
        store_file.write_text(text)
        os.chmod(store_file, 0o600)
        return store_file

    return write


@pytest.fixture
def resolve(tmp_path: Path, store_file: Path) -> Resolve:
    """Resolve from an explicit environ mapping, a .env in tmp_path and the temp store."""

    def run(environ: Mapping[str, str] | None = None, **kwargs: Any) -> ArgoCDResolution:
        kwargs.setdefault("dotenv_path", tmp_path / ".env")
        kwargs.setdefault("store_path", store_file)
        return resolve_argocd(dict(environ or {}), **kwargs)

    return run


# --- A small Argo CD look-alike served over real HTTP(S) in a thread ------------------------


_UNAUTHENTICATED = {
    "error": "no session information",
    "code": 16,
    "message": "no session information",
}
_DENIED = {"error": "permission denied", "code": 7, "message": "permission denied"}


@dataclass
class FakeArgoCD:
    """What the fake server accepts and answers, and the requests it saw."""

    token: str | None = None
    username: str | None = None
    password: str | None = None
    apps: list[tuple[str, str]] = field(
        default_factory=lambda: [
            ("guestbook", "default"),
            ("billing", "payments"),
            ("web", "default"),
        ]
    )
    can_i: dict[str, str] = field(default_factory=lambda: {"get": "yes", "sync": "yes"})
    deny_list: bool = False
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    url: str = ""
    session_token: str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.session-signature"

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        accepted = {f"Bearer {self.session_token}"} if self.username else set()
        if self.token:
            accepted.add(f"Bearer {self.token}")
        return header in accepted

    def app(self) -> Starlette:
        async def record(request: Request) -> None:
            self.requests.append((request.method, request.url.path, request.url.query))

        async def applications(request: Request) -> JSONResponse:
            await record(request)
            if not self._authorised(request):
                return JSONResponse(_UNAUTHENTICATED, status_code=401)
            if self.deny_list:
                return JSONResponse(_DENIED, status_code=403)
            projects = request.query_params.getlist("projects")
            items = [
                {"metadata": {"name": name, "namespace": "argocd"}, "spec": {"project": project}}
                for name, project in self.apps
                if not projects or project in projects
            ]
            return JSONResponse({"metadata": {}, "items": items})

        async def can_i(request: Request) -> JSONResponse:
            await record(request)
            if not self._authorised(request):
                return JSONResponse(_UNAUTHENTICATED, status_code=401)
            return JSONResponse({"value": self.can_i.get(request.path_params["action"], "no")})

        async def session(request: Request) -> JSONResponse:
            await record(request)
            body = await request.json()
            if body.get("username") == self.username and body.get("password") == self.password:
                return JSONResponse({"token": self.session_token})
            return JSONResponse(
                {
                    "error": "Invalid username or password",
                    "code": 16,
                    "message": "Invalid username or password",
                },
                status_code=401,
            )

        return Starlette(
            routes=[
                Route("/api/v1/applications", applications),
                Route("/api/v1/account/can-i/{resource}/{action}/{sub:path}", can_i),
                Route("/api/v1/session", session, methods=["POST"]),
            ]
        )


@dataclass
class TLSFiles:
    """A test CA (its PEM path) and the server's certificate and key paths."""

    ca_pem: Path
    cert: Path
    key: Path


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A trustme CA and a certificate for 127.0.0.1 and localhost."""
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    files = TLSFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca.cert_pem.write_to_path(str(files.ca_pem))
    server_cert.cert_chain_pems[0].write_to_path(str(files.cert))
    server_cert.private_key_pem.write_to_path(str(files.key))
    return files


@pytest.fixture
def serve_argocd(tls_files: TLSFiles) -> Iterator[Callable[..., FakeArgoCD]]:
    """Start a FakeArgoCD on a loopback port (HTTP, or HTTPS with ``tls=True``)."""
    with ExitStack() as running:

        def start(fake: FakeArgoCD | None = None, *, tls: bool = False) -> FakeArgoCD:
            fake = fake or FakeArgoCD()
            served = serve_app(
                fake.app(),
                certfile=str(tls_files.cert) if tls else None,
                keyfile=str(tls_files.key) if tls else None,
                ws="none",
            )
            fake.url = running.enter_context(served)
            return fake

        yield start


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    return free_port()
