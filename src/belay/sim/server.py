"""The Argo CD API simulator as a Starlette app: ``create_app(state) -> Starlette``.

Routes, query parameters, JSON shapes, error bodies and status codes follow Argo CD v3.5.1 (see
the project's reference notes); ``/_sim/`` is the simulator's own control surface. Every request
passes :class:`_Front` first, which reads the body, resolves the session, writes the request log,
enforces ``Content-Type: application/json`` on non-GET ``/api/`` requests (415, plain text) and
injects faults (latency, error statuses, dropped connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import fnmatch
import http
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from belay import jsonio
from belay.redact import redact_data, redact_text
from belay.sim import catalog
from belay.sim.app_store import SimStore, WatchItem
from belay.sim.auth import NO_SESSION, AuthResult, Session, extract_token
from belay.sim.fields import parse_fields, select_fields
from belay.sim.lifecycle import AppEvent, parse_duration
from belay.sim.masking import hide_secret_data, is_secret, mask_resource_diff
from belay.sim.rbac import (
    ACTION_ORDER,
    ACTIONS,
    PROJECT_SCOPED,
    RESOURCE_ORDER,
    RESOURCES,
    allowed,
    rules_for,
)
from belay.sim.repos import RevisionNotFound, resolve_revision
from belay.sim.selector import SelectorError, parse_selector
from belay.sim.state import Faults, SimState, sync_blocked
from belay.sim.wire import GRPC_FOR_HTTP, HTTP_FOR_GRPC, error_body, format_time

__all__ = ["DropConnection", "create_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TICK_SECONDS = 0.01
SSE_KEEPALIVE_SECONDS = 15.0
MAX_USERNAME_BYTES = 32
PERMISSION_DENIED = "permission denied"


class DropConnection(Exception):
    """Raised after the response has started so the ASGI server cuts the TCP connection."""


class ApiError(Exception):
    """An Argo CD error answer: gRPC code and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(jsonio.dumps(data), status, headers=headers, media_type="application/json")


def _error(code: int, message: str) -> Response:
    return _json(error_body(code, message), HTTP_FOR_GRPC[code])


def _stream_error(code: int, message: str) -> dict[str, Any]:
    """grpc-gateway's stream error chunk (``runtime.StreamError``)."""
    status = HTTP_FOR_GRPC[code]
    return {
        "error": {
            "grpc_code": code,
            "http_code": status,
            "message": message,
            "http_status": http.HTTPStatus(status).phrase,
        }
    }


def _stream_error_response(err: ApiError, sse: bool) -> Response:
    """An error before a stream's first message: its HTTP status, the stream error body."""
    body = jsonio.dumps(_stream_error(err.code, err.message))
    if sse:
        return Response(
            b"data: " + body + b"\n\n", HTTP_FOR_GRPC[err.code], media_type="text/event-stream"
        )
    return Response(body, HTTP_FOR_GRPC[err.code], media_type="application/json")


# -- the front middleware ------------------------------------------------------------------------


class _Front:
    """Body buffering, auth resolution, request log, content-type rule and fault injection."""

    def __init__(self, app: ASGIApp, store: SimStore, clock: Callable[[], float]) -> None:
        self.app = app
        self.store = store
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away before its body was complete (say, a process killed
                # mid-request): like Argo CD, act on nothing and answer no one.
                self.store.log_request(
                    {
                        "method": scope["method"],
                        "path": scope["path"],
                        "query": _query_dict(scope.get("query_string", b"")),
                        "account": None,
                        "body": None,
                        "fault": "client disconnected before its body was complete",
                    }
                )
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        cookies: dict[str, str] = {}
        if "cookie" in headers:
            jar: SimpleCookie = SimpleCookie()
            with contextlib.suppress(Exception):
                jar.load(headers["cookie"])
            cookies = {k: m.value for k, m in jar.items()}
        now = self.clock()
        faults = self.store.faults
        auth = self.store.issuer.resolve(
            extract_token(headers, cookies), now, faults.expired_accounts
        )
        scope.setdefault("state", {})["sim_auth"] = auth
        path: str = scope["path"]
        method: str = scope["method"]
        index = -1
        if not path.startswith("/_sim/"):
            index = self.store.log_request(
                {
                    "method": method,
                    "path": path,
                    "query": _query_dict(scope.get("query_string", b"")),
                    "account": auth.account_name,
                    "body": _body_for_log(body),
                }
            )

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                self.store.update_request(index, status=message["status"])
            await send(message)

        if path.startswith("/api/") and method not in {"GET", "HEAD", "OPTIONS"}:
            content_type = headers.get("content-type", "")
            if content_type.strip().lower() != "application/json":
                await PlainTextResponse("Invalid content type", 415)(scope, replay, tracking_send)
                return
        if path.startswith("/api/") and faults.applies_to(path):
            if faults.latency_ms:
                await asyncio.sleep(faults.latency_ms / 1000)
            if self.store.roll(faults.drop_connections):
                self.store.update_request(index, fault="drop")
                await tracking_send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", b"4096"),
                        ],
                    }
                )
                raise DropConnection(f"simulated dropped connection on {method} {path}")
            if self.store.roll(faults.error_rate):
                status = self.store.choose(faults.status_codes)
                self.store.update_request(index, fault=f"status {status}")
                code = GRPC_FOR_HTTP.get(status, 2)
                text = f"simulated fault: HTTP {status}"
                await _json(error_body(code, text), status)(scope, replay, tracking_send)
                return
        await self.app(scope, replay, tracking_send)


# Parameters and body keys that carry whole manifests (a Secret's data among them): the log
# shows their size, never their content.
_MANIFEST_KEYS = frozenset({"targetManifests", "manifests"})


def _query_dict(raw: bytes) -> dict[str, list[str]]:
    """The query as the request log shows it: manifests left out, the rest through belay.redact."""
    from urllib.parse import parse_qsl

    out: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        shown = f"[manifest, {len(value)} characters]" if key in _MANIFEST_KEYS else value
        out.setdefault(key, []).append(shown)
    redacted: dict[str, list[str]] = redact_data(out)
    return redacted


def _check_retry(retry: Any) -> None:
    """A retry strategy the controller can run, or a 400 code 3 as the real server's
    unmarshalling gives (a bad one accepted here would stop the controller later)."""
    backoff = retry.get("backoff") if isinstance(retry, dict) else None
    problem = None
    if not isinstance(retry, dict) or not isinstance(backoff, dict | None):
        problem = "retryStrategy.backoff must be an object"
    elif not isinstance(retry.get("limit", 0), int) or isinstance(retry.get("limit"), bool):
        problem = "retryStrategy.limit must be an integer"
    elif backoff is not None:
        factor = backoff.get("factor", 2)
        if not isinstance(factor, int) or isinstance(factor, bool) or not 0 <= factor <= 1000:
            problem = "retryStrategy.backoff.factor must be an integer"
        for key in ("duration", "maxDuration"):
            if problem is None and backoff.get(key) is not None:
                try:
                    parse_duration(str(backoff[key]))
                except ValueError as err:
                    problem = f"retryStrategy.backoff.{key}: {err}"
    if problem is not None:
        raise ApiError(3, f"error unmarshaling request: {problem}")


def _body_for_log(body: bytes) -> Any:
    """The body as the request log shows it: manifests left out, passwords and tokens masked by
    belay.redact."""
    if not body:
        return None
    try:
        parsed = jsonio.loads(body)
    except jsonio.JSONDecodeError:
        return redact_text(body.decode("utf-8", errors="replace"))
    if isinstance(parsed, dict):
        for key in _MANIFEST_KEYS & parsed.keys():
            items = parsed[key]
            parsed[key] = f"[{len(items) if isinstance(items, list) else 1} manifest(s)]"
    return redact_data(parsed)


# -- request helpers ---------------------------------------------------------------------------


def _auth(request: Request) -> AuthResult:
    result: AuthResult = request.scope["state"]["sim_auth"]
    return result


def _session(request: Request) -> Session:
    auth = _auth(request)
    if auth.session is None:
        raise ApiError(16, auth.error or NO_SESSION)
    return auth.session


async def _decode_body(request: Request, type_name: str) -> dict[str, Any]:
    """Decode a JSON object body the way grpc-gateway does (empty body = ``{}``)."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = jsonio.loads(raw)
    except jsonio.JSONDecodeError as err:
        pos = getattr(err, "pos", len(raw))
        text = raw.decode("utf-8", errors="replace")
        if pos >= len(text.rstrip()):
            raise ApiError(3, "unexpected EOF") from None
        raise ApiError(
            3, f"invalid character '{text[pos]}' looking for beginning of value"
        ) from None
    if not isinstance(data, dict):
        kind = "array" if isinstance(data, list) else _json_kind(data)
        raise ApiError(3, f"json: cannot unmarshal {kind} into Go value of type {type_name}")
    return data


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _check_types(body: dict[str, Any], struct: str, fields: dict[str, str]) -> None:
    """Reject wrong JSON types with encoding/json's message (unknown fields are ignored)."""
    go_types = {
        "string": "string",
        "bool": "bool",
        "object": "struct",
        "array": "slice",
        "number": "int64",
    }
    for field, expected in fields.items():
        value = body.get(field)
        if value is None:
            continue
        kind = _json_kind(value)
        if kind != expected or (expected == "number" and not isinstance(value, int)):
            go = go_types[expected]
            raise ApiError(
                3,
                f"json: cannot unmarshal {kind} into Go struct field {struct}.{field} of type {go}",
            )


def _repo_host(source: dict[str, Any]) -> str:
    """The Git host named in a source's ``repoURL`` (for the simulated repo-server error)."""
    url = str(source.get("repoURL") or "")
    return urlsplit(url).hostname or url.split("@")[-1].split(":")[0] or "repository"


def _projects(request: Request) -> list[str]:
    params = request.query_params
    return [p for p in params.getlist("projects") + params.getlist("project") if p]


class _Api:
    """Route handlers over one store."""

    def __init__(self, store: SimStore, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock

    # -- RBAC ----------------------------------------------------------------------------------

    def _object(self, app: dict[str, Any], project: str | None = None) -> str:
        project = project or app["spec"]["project"]
        name = app["metadata"]["name"]
        if self.store.is_control_plane(app):
            return f"{project}/{name}"
        return f"{project}/{app['metadata'].get('namespace')}/{name}"

    def _can(self, session: Session, action: str, obj: str) -> bool:
        return allowed(rules_for(session.account), "applications", action, obj)

    def _get_app(
        self,
        request: Request,
        name: str,
        action: str = "get",
        *,
        scope: tuple[str | None, str | None] | None = None,
    ) -> tuple[Session, dict[str, Any]]:
        """Argo CD's ``getAppEnforceRBAC``: the 403-versus-404 matrix for ``action``.

        ``scope`` is ``(project, appNamespace)`` when they come from a request body (sync);
        otherwise they are read from the query. Without ``appNamespace`` only the control-plane
        namespace is looked in (``appNamespaceOrDefault``).
        """
        session = _session(request)
        if scope is None:
            projects = _projects(request)
            if len(projects) > 1:
                raise ApiError(
                    3,
                    "multiple projects specified - the get endpoint accepts either zero or one "
                    "project",
                )
            project = projects[0] if projects else None
            app_ns = request.query_params.get("appNamespace") or None
        else:
            project, app_ns = scope
        namespace = app_ns or self.store.state.namespace
        not_found = ApiError(5, f'applications.argoproj.io "{name}" not found')
        app = self.store.find(name, namespace)
        if project:
            if namespace != self.store.state.namespace:
                obj = f"{project}/{namespace}/{name}"
            else:
                obj = f"{project}/{name}"
            if not self._can(session, action, obj):
                raise ApiError(7, PERMISSION_DENIED)
            if app is None:
                raise not_found
        if app is None:
            raise ApiError(7, PERMISSION_DENIED)
        if not self._can(session, action, self._object(app)):
            if project:
                raise not_found
            raise ApiError(7, PERMISSION_DENIED)
        if project and (app["spec"].get("project") or "default") != project:
            raise not_found
        return session, app

    def _require(self, session: Session, action: str, app: dict[str, Any]) -> None:
        obj = self._object(app)
        if not self._can(session, action, obj):
            iat = format_time(session.iat) if session.iat is not None else "0001-01-01T00:00:00Z"
            raise ApiError(
                7,
                f"{PERMISSION_DENIED}: applications, {action}, {obj}, "
                f"sub: {session.account.name}, iat: {iat}",
            )

    # -- version and session -------------------------------------------------------------------

    async def version(self, request: Request) -> Response:
        version = self.store.state.version
        if _auth(request).session is None:
            return _json({"Version": version})
        return _json(
            {
                "Version": version,
                "BuildDate": "2026-08-12T00:00:00Z",
                "GitCommit": "109ca7ca71139e514114499d294a492e7910a965",
                "GitTag": version,
                "GitTreeState": "clean",
                "GoVersion": "go1.24.6",
                "Compiler": "gc",
                "Platform": "linux/amd64",
                "KustomizeVersion": "v5.7.1",
                "HelmVersion": "v3.18.4",
                "KubectlVersion": "v0.33.1",
                "JsonnetVersion": "v0.21.0",
            }
        )

    async def login(self, request: Request) -> Response:
        body = await _decode_body(request, "session.SessionCreateRequest")
        _check_types(
            body,
            "SessionCreateRequest",
            {"username": "string", "password": "string", "token": "string"},
        )
        if body.get("token"):
            raise ApiError(
                16,
                "token-based session creation no longer supported. please upgrade argocd cli "
                "to v0.7+",
            )
        username, password = body.get("username") or "", body.get("password") or ""
        if not username or not password:
            raise ApiError(16, "no credentials supplied")
        if len(username.encode()) > MAX_USERNAME_BYTES:
            raise ApiError(3, "Username is too long (32 bytes max)")
        now = self.clock()
        invalid = ApiError(16, "Invalid username or password")
        if self.store.login_locked(username, now):
            raise invalid
        account = next((a for a in self.store.state.accounts if a.name == username), None)
        if account is None or account.password is None or account.password != password:
            self.store.login_failed(username, now)
            raise invalid
        if not account.enabled:
            raise ApiError(16, f"Account {username} is disabled")
        self.store.login_succeeded(username)
        token = self.store.issuer.issue(account, now)
        response = _json({"token": token})
        response.set_cookie("argocd.token", token, path="/", httponly=True, samesite="lax")
        return response

    async def logout(self, request: Request) -> Response:
        response = _json({})
        response.delete_cookie("argocd.token", path="/")
        return response

    async def userinfo(self, request: Request) -> Response:
        session = _auth(request).session
        if session is None:
            return _json({})
        return _json({"loggedIn": True, "username": session.account.name, "iss": "argocd"})

    # -- applications --------------------------------------------------------------------------

    def _list_filter(
        self, request: Request, selector_error: str = "error parsing the selector: "
    ) -> Callable[[dict[str, Any]], bool]:
        params = request.query_params
        name = params.get("name") or None
        projects = set(_projects(request))
        repo = params.get("repo") or None
        app_ns = params.get("appNamespace") or None
        try:
            selector = parse_selector(params.get("selector") or "")
        except SelectorError as err:
            raise ApiError(2, f"{selector_error}{err}") from None

        def keep(app: dict[str, Any]) -> bool:
            meta, spec = app["metadata"], app["spec"]
            if name and meta["name"] != name:
                return False
            if projects and spec.get("project") not in projects:
                return False
            if app_ns and (meta.get("namespace") or self.store.state.namespace) != app_ns:
                return False
            if repo:
                sources = [spec.get("source") or {}, *(spec.get("sources") or [])]
                if not any(s.get("repoURL") == repo for s in sources):
                    return False
            return selector(meta.get("labels") or {})

        return keep

    def _visible(self, session: Session, app: dict[str, Any]) -> bool:
        return self._can(session, "get", self._object(app))

    async def list_apps(self, request: Request) -> Response:
        session = _session(request)
        keep = self._list_filter(request)
        items = [app for app in self.store.applications(keep) if self._visible(session, app)]
        items.sort(key=lambda a: a["metadata"]["name"])
        metadata = {"resourceVersion": self.store.resource_version}
        selection = parse_fields(request.query_params.get("fields") or "")
        if selection is not None:
            return _json({"metadata": metadata, "items": select_fields(items, *selection)})
        return _json({"metadata": metadata, "items": items})

    async def get_app(self, request: Request) -> Response:
        _, app = self._get_app(request, request.path_params["name"])
        if request.query_params.get("refresh"):
            app.setdefault("status", {})["reconciledAt"] = format_time(self.clock())
            self.store.put(app)
            app = self.store.find(app["metadata"]["name"], app["metadata"].get("namespace")) or app
        return _json(app)

    async def managed_resources(self, request: Request) -> Response:
        _s, app = self._get_app(request, request.path_params["name"])
        items = copy.deepcopy(self.store.state.managed_resources.get(app["metadata"]["name"], []))
        params = request.query_params
        for field in ("group", "kind", "namespace", "name", "version"):
            wanted = params.get(field)
            if wanted:
                items = [i for i in items if i.get(field, "") == wanted]
        items = [mask_resource_diff(i) for i in items if not i.get("hook")]
        return _json({"items": items} if items else {})

    def _tree(self, app: dict[str, Any]) -> dict[str, Any]:
        tree = self.store.state.resource_trees.get(app["metadata"]["name"])
        if tree is not None:
            return copy.deepcopy(tree)
        return catalog.generated_tree(app)

    async def resource_tree(self, request: Request) -> Response:
        _s, app = self._get_app(request, request.path_params["name"])
        return _json(self._tree(app))

    async def revision_metadata(self, request: Request) -> Response:
        _s, app = self._get_app(request, request.path_params["name"])
        revision = request.path_params["revision"]
        known = self.store.state.revision_metadata.get(revision)
        if known is not None:
            return _json(known)
        status = app.get("status") or {}
        seen = {h.get("revision") for h in status.get("history") or []}
        seen.add((status.get("sync") or {}).get("revision"))
        if revision in seen:
            return _json(
                {
                    "author": "Belay Simulator <sim@example.invalid>",
                    "date": (status.get("reconciledAt") or format_time(self.clock())),
                    "message": f"Commit {revision[:7]}",
                }
            )
        raise ApiError(2, f"error getting revision metadata: revision {revision} not found")

    async def events(self, request: Request) -> Response:
        """``ListResourceEvents``: the app's own events, or a resource's found in the tree.

        A resource is identified by ``resourceUID``, ``resourceName`` and ``resourceNamespace``
        together, matched against the resource tree's nodes and orphaned nodes.
        """
        _s, app = self._get_app(request, request.path_params["name"])
        meta = app["metadata"]
        items = self.store.events(meta["name"], meta.get("namespace") or self.store.state.namespace)
        params = request.query_params
        resource_name = params.get("resourceName") or ""
        resource_uid = params.get("resourceUID") or ""
        resource_ns = params.get("resourceNamespace") or ""
        if not resource_name and not resource_uid:
            items = [
                i for i in items if (i.get("involvedObject") or {}).get("kind") == "Application"
            ]
            return _json({"metadata": {}, "items": items})
        tree = self._tree(app)
        nodes = [*(tree.get("nodes") or []), *(tree.get("orphanedNodes") or [])]
        found = any(
            (n.get("uid") or "") == resource_uid
            and (n.get("name") or "") == resource_name
            and (n.get("namespace") or "") == resource_ns
            for n in nodes
        )
        if not found:
            raise ApiError(3, f"{resource_name} not found as part of application {meta['name']}")
        items = [
            i
            for i in items
            if (i.get("involvedObject") or {}).get("name") == resource_name
            and (i.get("involvedObject") or {}).get("uid", "") == resource_uid
            and (i.get("involvedObject") or {}).get("namespace", "") == resource_ns
        ]
        return _json({"metadata": {}, "items": items})

    def _resolve(self, source: dict[str, Any], revision: str, local: bool) -> tuple[str, str]:
        """``resolveRevision``: the concrete revision and the display form, or 400 code 9."""
        if local:
            return "", ""
        if self.store.take_repo_error():
            raise ApiError(
                9,
                "error resolving repo revision: rpc error: code = Unknown desc = failed to list "
                f"refs: dial tcp: lookup {_repo_host(source)}: i/o timeout",
            )
        try:
            found = resolve_revision(
                self.store.state.repositories, str(source.get("repoURL") or ""), revision
            )
        except RevisionNotFound as err:
            raise ApiError(
                9, f"error resolving repo revision: rpc error: code = Unknown desc = {err}"
            ) from None
        return found.revision, found.display

    async def sync(self, request: Request) -> Response:
        body = await _decode_body(request, "application.ApplicationSyncRequest")
        _check_types(
            body,
            "ApplicationSyncRequest",
            {
                "name": "string",
                "revision": "string",
                "dryRun": "bool",
                "prune": "bool",
                "strategy": "object",
                "resources": "array",
                "manifests": "array",
                "infos": "array",
                "retryStrategy": "object",
                "syncOptions": "object",
                "revisions": "array",
                "sourcePositions": "array",
                "appNamespace": "string",
                "project": "string",
            },
        )
        name = request.path_params["name"]
        # The whole request message is the body (grpc-gateway ``body: "*"``): project and
        # appNamespace are read from it, never from the query.
        scope = (body.get("project") or None, body.get("appNamespace") or None)
        session, app = self._get_app(request, name, scope=scope)
        now = self.clock()
        windows = {**self.store.state.sync_windows, **self.store.faults.sync_windows}
        if sync_blocked(windows, name, now):
            raise ApiError(7, "cannot sync: blocked by sync window")
        self._require(session, "sync", app)
        spec = app["spec"]
        source = spec.get("source") or {}
        raw_target = str(source.get("targetRevision") or "")
        revision = body.get("revision") or ""
        automated = (spec.get("syncPolicy") or {}).get("automated")
        auto_on = automated is not None and automated.get("enabled", True) is not False
        if body.get("manifests") and auto_on and not body.get("dryRun"):
            raise ApiError(
                9, "cannot use local sync when Automatic Sync Policy is enabled unless for dry run"
            )
        if app["metadata"].get("deletionTimestamp"):
            raise ApiError(9, "application is deleting")
        if revision and revision != (raw_target or "HEAD") and auto_on and not body.get("dryRun"):
            # resolveSourceRevisions prints the raw targetRevision (empty when unset).
            raise ApiError(9, f"Cannot sync to {revision}: auto-sync currently set to {raw_target}")
        resolved, display = self._resolve(
            source, revision or raw_target, bool(body.get("manifests"))
        )
        if not revision and str(source.get("repoURL") or "") not in self.store.state.repositories:
            # No repo server for this repository: the target stays at the synced revision.
            synced = str(((app.get("status") or {}).get("sync") or {}).get("revision") or "")
            resolved = synced or resolved
        if app.get("operation") is not None:
            raise ApiError(9, "another operation is already in progress")
        sync_op: dict[str, Any] = {}
        if spec.get("source") is not None:
            sync_op["source"] = copy.deepcopy(spec["source"])
        sync_op["revision"] = resolved
        if body.get("prune"):
            sync_op["prune"] = True
        if body.get("dryRun"):
            sync_op["dryRun"] = True
        options = (body.get("syncOptions") or {}).get("items") if "syncOptions" in body else None
        if options is None:
            options = (spec.get("syncPolicy") or {}).get("syncOptions")
        if options:
            sync_op["syncOptions"] = list(options)
        if body.get("strategy"):
            sync_op["syncStrategy"] = copy.deepcopy(body["strategy"])
        if body.get("resources"):
            sync_op["resources"] = copy.deepcopy(body["resources"])
        if body.get("manifests"):
            sync_op["manifests"] = list(body["manifests"])
        if body.get("revisions"):
            sync_op["revisions"] = list(body["revisions"])
        if spec.get("sources"):
            sync_op["sources"] = copy.deepcopy(spec["sources"])
        retry = body.get("retryStrategy")
        if retry is None:
            retry = (spec.get("syncPolicy") or {}).get("retry")
        if retry:
            _check_retry(retry)
        operation: dict[str, Any] = {
            "sync": sync_op,
            "initiatedBy": {"username": session.account.name},
            "retry": copy.deepcopy(retry) if retry else {},
        }
        if body.get("infos"):
            operation["info"] = copy.deepcopy(body["infos"])
        app["operation"] = operation
        app.setdefault("status", {}).pop("operationState", None)
        self.store.put(app, clock=None)
        partial = "partial " if body.get("resources") else ""
        self._log_app_event(
            app, session, "OperationStarted", f"initiated {partial}sync to {display}"
        )
        meta = app["metadata"]
        current = self.store.find(meta["name"], meta.get("namespace")) or app
        return _json(current)

    async def terminate(self, request: Request) -> Response:
        # TerminateOperation fetches the app with the ``sync`` right: a refusal is the plain
        # ``permission denied`` of getAppEnforceRBAC, not the long EnforceErr message.
        session, app = self._get_app(request, request.path_params["name"], "sync")
        state = (app.get("status") or {}).get("operationState")
        if app.get("operation") is None or state is None:
            raise ApiError(3, "Unable to terminate operation. No operation is in progress")
        state["phase"] = "Terminating"
        self.store.put(app)
        self._log_app_event(app, session, "ResourceUpdated", "terminated running operation")
        return _json({})

    def _log_app_event(
        self, app: dict[str, Any], session: Session, reason: str, action: str
    ) -> None:
        """``logAppEvent``: an event about the app, ``<user> <action>``, from argocd-server."""
        meta = app["metadata"]
        self.store.record_event(
            meta["name"],
            meta.get("namespace") or self.store.state.namespace,
            AppEvent(reason, f"{session.account.name} {action}", component="argocd-server"),
            self.clock(),
        )

    async def can_i(self, request: Request) -> Response:
        """``AccountServer.CanI``: the action is checked before the resource."""
        session = _session(request)
        resource = request.path_params["resource"]
        action = request.path_params["action"]
        subresource = request.path_params["subresource"]
        if action not in ACTIONS:
            raise ApiError(3, f"[{' '.join(ACTION_ORDER)}] does not contain {action}")
        if resource not in RESOURCES:
            raise ApiError(3, f"[{' '.join(RESOURCE_ORDER)}] does not contain {resource}")
        if action == "rollback":
            action = "sync"  # server.rbac.rollback.enforce.enable is off by default
        if resource in PROJECT_SCOPED and subresource:
            parts = subresource.split("/")
            if len(parts) == 3 and parts[1] == self.store.state.namespace:
                subresource = f"{parts[0]}/{parts[2]}"
        ok = allowed(rules_for(session.account), resource, action, subresource)
        return _json({"value": "yes" if ok else "no"})

    # -- read-only endpoints real clients call -----------------------------------------------

    def _allowed(self, session: Session, resource: str, action: str, obj: str) -> bool:
        return allowed(rules_for(session.account), resource, action, obj)

    def _enforce(self, session: Session, resource: str, action: str, obj: str) -> None:
        """``EnforceErr``: the long ``permission denied: ...`` message."""
        if not self._allowed(session, resource, action, obj):
            iat = format_time(session.iat) if session.iat is not None else "0001-01-01T00:00:00Z"
            raise ApiError(
                7,
                f"{PERMISSION_DENIED}: {resource}, {action}, {obj}, "
                f"sub: {session.account.name}, iat: {iat}",
            )

    async def get_project(self, request: Request) -> Response:
        """``ProjectServer.Get``: ``projects, get, <name>``, then the project or 404."""
        session = _session(request)
        name = request.path_params["name"]
        self._enforce(session, "projects", "get", name)
        state = self.store.state
        used = {a["spec"].get("project") for a in self.store.applications()}
        if name not in state.projects and name not in used and name != "default":
            raise ApiError(5, f'appprojects.argoproj.io "{name}" not found')
        return _json(catalog.project(name, state.namespace, state.projects.get(name)))

    async def list_clusters(self, request: Request) -> Response:
        """``ClusterServer.List``: clusters the account may get, without credentials."""
        session = _session(request)
        items = [
            c
            for c in catalog.cluster_list(self.store.state.clusters)
            if self._allowed(session, "clusters", "get", str(c.get("server") or ""))
        ]
        return _json({"metadata": {}, "items": items})

    async def settings(self, request: Request) -> Response:
        """``SettingsServer.Get``: public (no session needed)."""
        state = self.store.state
        any_ns = any(not self.store.is_control_plane(a) for a in self.store.applications())
        return _json(catalog.settings(state.namespace, any_ns, state.settings))

    def _live_node(self, request: Request, app: dict[str, Any]) -> dict[str, Any]:
        """``getAppLiveResource``: the tree node named by the query, or 400 code 3."""
        params = request.query_params
        group = params.get("group") or ""
        kind = params.get("kind") or ""
        namespace = params.get("namespace") or ""
        name = params.get("resourceName") or ""
        for node in self._tree(app).get("nodes") or []:
            if (
                (node.get("group") or "") == group
                and (node.get("kind") or "") == kind
                and (node.get("namespace") or "") == namespace
                and (node.get("name") or "") == name
                and node.get("uid")
            ):
                return dict(node)
        raise ApiError(
            3, f"{kind} {group} {name} not found as part of application {app['metadata']['name']}"
        )

    def _live_manifest(self, app: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
        for item in self.store.state.managed_resources.get(app["metadata"]["name"], []):
            if all(
                (item.get(k) or "") == (node.get(k) or "")
                for k in ("group", "kind", "namespace", "name")
            ):
                try:
                    live = jsonio.loads(item.get("liveState") or "null")
                except jsonio.JSONDecodeError:
                    live = None
                if isinstance(live, dict):
                    return live
        group = node.get("group") or ""
        version = node.get("version") or "v1"
        metadata = {k: node[k] for k in ("name", "namespace", "uid") if node.get(k)}
        return {
            "apiVersion": f"{group}/{version}" if group else version,
            "kind": node.get("kind") or "",
            "metadata": metadata,
        }

    async def get_resource(self, request: Request) -> Response:
        """``GetResource``: the live manifest as a JSON string (Secret data masked)."""
        _s, app = self._get_app(request, request.path_params["name"])
        node = self._live_node(request, app)
        manifest = self._live_manifest(app, node)
        if is_secret(node.get("group"), node.get("kind")):
            manifest = hide_secret_data([manifest])[0] or {}
        return _json({"manifest": jsonio.dumps(manifest).decode()})

    async def resource_actions(self, request: Request) -> Response:
        """``ListResourceActions``: the actions available on one live resource."""
        _s, app = self._get_app(request, request.path_params["name"])
        node = self._live_node(request, app)
        key = f"{node.get('group') or ''}/{node.get('kind') or ''}"
        given = self.store.state.resource_actions
        actions = given.get(key) if key in given else catalog.DEFAULT_ACTIONS.get(key, [])
        return _json({"actions": copy.deepcopy(actions or [])})

    async def sync_windows(self, request: Request) -> Response:
        """``GetApplicationSyncWindows`` over the simulator's own (from/until) windows."""
        _s, app = self._get_app(request, request.path_params["name"])
        name = app["metadata"]["name"]
        now = self.clock()
        windows = {**self.store.state.sync_windows, **self.store.faults.sync_windows}
        matching = [w for key, ws in windows.items() if fnmatch.fnmatchcase(name, key) for w in ws]

        def wire(window: Any) -> dict[str, Any]:
            out: dict[str, Any] = {"kind": window.kind, "manualSync": False}
            if window.start is not None and window.until is not None:
                out["duration"] = f"{int(window.until - window.start)}s"
            return out

        body: dict[str, Any] = {"canSync": not sync_blocked(windows, name, now)}
        if matching:
            body["assignedWindows"] = [wire(w) for w in matching]
        active = [wire(w) for w in matching if w.active(now)]
        if active:
            body["activeWindows"] = active
        return _json(body)

    async def logs(self, request: Request) -> Response:
        """``PodLogs``: ``{"result": LogEntry}`` lines, then a ``last`` one; needs ``logs, get``."""
        try:
            session, app = self._get_app(request, request.path_params["name"])
            self._enforce(session, "logs", "get", self._object(app))
        except ApiError as err:
            return _stream_error_response(err, sse=False)
        params = request.query_params
        pod = (
            request.path_params.get("podName")
            or params.get("podName")
            or (params.get("resourceName") if params.get("kind") == "Pod" else None)
        )
        literal = params.get("filter") or ""
        inverse = literal.startswith("!")
        literal = literal[1:] if inverse else literal
        entries = []
        for entry in self.store.state.logs.get(app["metadata"]["name"], []):
            if pod and entry.get("podName") != pod:
                continue
            content = str(entry.get("content") or "")
            if literal and (literal in content) == inverse:
                continue
            entries.append(entry)
        tail = params.get("tailLines") or ""
        if tail.isdigit() and int(tail) > 0:
            entries = entries[-int(tail) :]
        now = format_time(self.clock())
        lines = []
        for entry in entries:
            stamp = str(entry.get("timeStamp") or now)
            lines.append(
                {
                    "podName": str(entry.get("podName") or ""),
                    "content": str(entry.get("content") or ""),
                    "timeStampStr": stamp,
                    "timeStamp": stamp,
                    "last": False,
                }
            )
        lines.append(
            {"last": True, "podName": "", "content": "", "timeStampStr": now, "timeStamp": now}
        )
        body = b"".join(jsonio.dumps({"result": line}) + b"\n" for line in lines)
        return Response(body, 200, media_type="application/json")

    async def server_side_diff(self, request: Request) -> Response:
        """``ServerSideDiff``: managed resources compared with ``targetManifests`` when given."""
        _s, app = self._get_app(request, request.path_params["name"])
        items = [
            copy.deepcopy(i)
            for i in self.store.state.managed_resources.get(app["metadata"]["name"], [])
            if not i.get("hook")
        ]
        for raw in request.query_params.getlist("targetManifests"):
            try:
                target = jsonio.loads(raw)
            except jsonio.JSONDecodeError:
                raise ApiError(3, "error unmarshaling target manifest") from None
            if not isinstance(target, dict):
                raise ApiError(3, "error unmarshaling target manifest")
            meta = target.get("metadata") or {}
            for item in items:
                if item.get("kind") == target.get("kind") and item.get("name") == meta.get("name"):
                    item["targetState"] = jsonio.dumps(target).decode()
                    try:
                        live = jsonio.loads(item.get("liveState") or "null")
                    except jsonio.JSONDecodeError:
                        live = None
                    item["modified"] = live != target
        items = [mask_resource_diff(i) for i in items]
        body: dict[str, Any] = {"modified": any(bool(i.get("modified")) for i in items)}
        if items:
            body["items"] = items
        return _json(body)

    # -- watch ---------------------------------------------------------------------------------

    async def watch(self, request: Request) -> Response:
        """``Watch``: ADDED for what exists, then changes; errors in grpc-gateway's stream shape.

        The initial ADDED events are sent when no ``resourceVersion`` is given, and always for a
        watch of one named app (the real CLI relies on it); apps older than ``resourceVersion``
        are skipped. A watch of a named app matches it in ``appNamespace`` (or the control
        plane's). Errors before the first event answer their HTTP status with
        ``{"error": {grpc_code, http_code, message, http_status}}``.
        """
        sse = "text/event-stream" in request.headers.get("accept", "")
        try:
            session = _session(request)
            keep = self._list_filter(request, "error parsing labels with selectors: ")
        except ApiError as err:
            return _stream_error_response(err, sse)
        params = request.query_params
        name = params.get("name") or None
        name_ns = params.get("appNamespace") or self.store.state.namespace
        rv_param = params.get("resourceVersion") or ""
        min_version = int(rv_param) if rv_param.isdigit() else 0
        if self.store.faults.expire_watch_versions and rv_param not in ("", "0"):
            body = jsonio.dumps(
                {
                    "error": {
                        "grpc_code": 11,
                        "http_code": 410,
                        "message": f"too old resource version: {rv_param}",
                        "http_status": "Gone",
                    }
                }
            )
            if sse:
                return Response(b"data: " + body + b"\n\n", 410, media_type="text/event-stream")
            return Response(body, 410, media_type="application/json")
        send_initial = not rv_param or name is not None
        store = self.store

        def wanted(app: dict[str, Any]) -> bool:
            app_ns = app["metadata"].get("namespace") or store.state.namespace
            if name is not None and app_ns != name_ns:
                return False
            if _version(app) < min_version:
                return False
            return keep(app) and self._visible(session, app)

        def frame(obj: dict[str, Any]) -> bytes:
            line = jsonio.dumps(obj)
            return b"data: " + line + b"\n\n" if sse else line + b"\n"

        async def stream() -> AsyncIterator[bytes]:
            sent = 0
            last: dict[str, bytes] = {}
            with store.subscribe(keep) as queue:
                # The snapshot is taken after subscribing, so no change falls between the two;
                # changes queued meanwhile that the snapshot already holds are skipped.
                pending: list[WatchItem] = []
                seen_version: dict[str, int] = {}
                if send_initial:
                    for a in store.applications(keep):
                        if wanted(a):
                            pending.append(("ADDED", a))
                            seen_version[a["metadata"]["name"]] = _version(a)
                while True:
                    if pending:
                        kind, app = pending.pop(0)
                    else:
                        try:
                            kind, app = await asyncio.wait_for(
                                queue.get(), SSE_KEEPALIVE_SECONDS if sse else None
                            )
                        except TimeoutError:
                            yield b":\n\n"
                            continue
                        if _version(app) <= seen_version.get(app["metadata"]["name"], -1):
                            continue
                    if not wanted(app):
                        continue
                    data = frame({"result": {"type": kind, "application": app}})
                    key = app["metadata"]["name"]
                    if last.get(key) == data:
                        continue  # identical consecutive events are not sent twice
                    last[key] = data
                    yield data
                    sent += 1
                    faults = store.faults
                    if (
                        faults.watch_error_after_events is not None
                        and sent >= faults.watch_error_after_events
                    ):
                        yield frame(_stream_error(14, "transport is closing"))
                        return
                    limit = faults.drop_watch_after_events
                    if limit is not None and sent >= limit:
                        raise DropConnection("simulated watch stream cut")

        media = "text/event-stream" if sse else "application/json"
        return StreamingResponse(stream(), media_type=media)

    # -- the simulator's own control surface -------------------------------------------------

    async def sim_requests(self, request: Request) -> Response:
        return _json([r.model_dump() for r in self.store.requests()])

    async def sim_reset(self, request: Request) -> Response:
        self.store.reset()
        return _json({})

    async def sim_faults(self, request: Request) -> Response:
        if request.method == "GET":
            return _json(self.store.faults.model_dump(by_alias=True))
        try:
            data = jsonio.loads(await request.body() or b"{}")
            faults = Faults.model_validate(data)
        except (jsonio.JSONDecodeError, ValidationError) as err:
            line = str(err).splitlines()[0:3]
            return _json({"error": "invalid faults: " + " ".join(line)}, 400)
        self.store.set_faults(faults)
        return _json(faults.model_dump(by_alias=True))

    async def sim_push(self, request: Request) -> Response:
        """``{"repoURL", "ref", "revision"}``: a git push; auto-sync apps tracking the ref sync."""
        try:
            data = jsonio.loads(await request.body() or b"{}")
            repo_url, ref, revision = (str(data[k]) for k in ("repoURL", "ref", "revision"))
        except (jsonio.JSONDecodeError, KeyError, TypeError):
            return _json({"error": "push needs repoURL, ref and revision"}, 400)
        return _json({"synced": self.store.push(repo_url, ref, revision)})

    async def sim_application(self, request: Request) -> Response:
        app = self.store.find_anywhere(request.path_params["name"])
        if app is None:
            return _json({"error": "no such application"}, 404)
        return _json(app)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error(exc.code, exc.message)


def create_app(state: SimState, *, clock: Callable[[], float] = time.time) -> Starlette:
    """Build the simulator for ``state``; ``app.state.store`` is its :class:`SimStore`."""
    store = SimStore(state)
    api = _Api(store, clock)
    prefix = "/api/v1/applications/{name}"
    routes = [
        Route("/api/version", api.version, methods=["GET"]),
        Route("/api/v1/session", api.login, methods=["POST"]),
        Route("/api/v1/session", api.logout, methods=["DELETE"]),
        Route("/api/v1/session/userinfo", api.userinfo, methods=["GET"]),
        Route("/api/v1/applications", api.list_apps, methods=["GET"]),
        Route(prefix, api.get_app, methods=["GET"]),
        Route(prefix + "/managed-resources", api.managed_resources, methods=["GET"]),
        Route(prefix + "/resource-tree", api.resource_tree, methods=["GET"]),
        Route(prefix + "/revisions/{revision}/metadata", api.revision_metadata, methods=["GET"]),
        Route(prefix + "/events", api.events, methods=["GET"]),
        Route(prefix + "/resource", api.get_resource, methods=["GET"]),
        Route(prefix + "/resource/actions", api.resource_actions, methods=["GET"]),
        Route(prefix + "/syncwindows", api.sync_windows, methods=["GET"]),
        Route(prefix + "/logs", api.logs, methods=["GET"]),
        Route(prefix + "/pods/{podName}/logs", api.logs, methods=["GET"]),
        Route(prefix + "/server-side-diff", api.server_side_diff, methods=["GET"]),
        Route("/api/v1/projects/{name}", api.get_project, methods=["GET"]),
        Route("/api/v1/clusters", api.list_clusters, methods=["GET"]),
        Route("/api/v1/settings", api.settings, methods=["GET"]),
        Route(prefix + "/sync", api.sync, methods=["POST"]),
        Route(prefix + "/operation", api.terminate, methods=["DELETE"]),
        Route(
            "/api/v1/account/can-i/{resource}/{action}/{subresource:path}",
            api.can_i,
            methods=["GET"],
        ),
        Route("/api/v1/stream/applications", api.watch, methods=["GET"]),
        Route("/_sim/requests", api.sim_requests, methods=["GET"]),
        Route("/_sim/reset", api.sim_reset, methods=["POST"]),
        Route("/_sim/faults", api.sim_faults, methods=["GET", "POST"]),
        Route("/_sim/applications/{name}", api.sim_application, methods=["GET"]),
        Route("/_sim/push", api.sim_push, methods=["POST"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(_controller(store, clock))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = Starlette(
        routes=routes,
        exception_handlers={ApiError: _api_error},
        lifespan=lifespan,
    )
    app.state.store = store
    app.add_middleware(_FrontFactory, store=store, clock=clock)
    return app


class _FrontFactory:
    """Adapter so Starlette's ``add_middleware`` builds :class:`_Front` outermost-but-one."""

    def __init__(self, app: ASGIApp, store: SimStore, clock: Callable[[], float]) -> None:
        self._front = _Front(app, store, clock)
        self._store = store
        self._clock = clock
        self._tasks: dict[int, asyncio.Task[None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self._ensure_controller()
        await self._front(scope, receive, send)

    def _ensure_controller(self) -> None:
        # Without lifespan (e.g. httpx.ASGITransport) the controller starts with the first request.
        loop = asyncio.get_running_loop()
        if self._store.controller_loops and id(loop) in self._store.controller_loops:
            return
        task = self._tasks.get(id(loop))
        if task is None or task.done():
            self._tasks[id(loop)] = loop.create_task(_controller(self._store, self._clock))


def _version(app: dict[str, Any]) -> int:
    """The app's resourceVersion as a number (the simulator's are counters)."""
    try:
        return int(app["metadata"].get("resourceVersion") or 0)
    except ValueError:
        return 0


async def _controller(store: SimStore, clock: Callable[[], float]) -> None:
    loop_id = id(asyncio.get_running_loop())
    store.controller_loops.add(loop_id)
    try:
        while True:
            store.tick(clock())
            await asyncio.sleep(TICK_SECONDS)
    finally:
        store.controller_loops.discard(loop_id)
