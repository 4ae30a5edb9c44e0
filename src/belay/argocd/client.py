"""The Argo CD REST client: a thin, typed, synchronous wrapper over ``httpx.Client``.

Every call has a timeout, sends exactly ``Content-Type: application/json`` when it is not a GET
(Argo CD answers 415 to anything else, DELETE included), logs one structured line
(``belay.argocd``: instance, method, path, status, duration_ms; never a token or a body), and
turns every failure into an :class:`~belay.argocd.errors.ArgoCDError` subclass. Answers are
parsed into the lenient models of :mod:`belay.argocd.models`; a 2xx answer that is not the JSON
expected is an :class:`~belay.argocd.errors.ArgoCDProtocolError`, never a validation traceback.

Project and namespace scoping is explicit: pass ``project`` whenever it is known, because
without it Argo CD answers 403 ``permission denied`` for an application that does not exist.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from pydantic import ValidationError

from belay import jsonio
from belay.argocd.auth import BearerToken, SessionLogin, normalize_token
from belay.argocd.errors import ArgoCDError, ArgoCDProtocolError, ArgoCDTLSError, to_argocd_error
from belay.argocd.models import (
    Application,
    ApplicationTree,
    ArgoModel,
    KubeEvent,
    ResourceDiff,
    RevisionMetadata,
    SyncRequest,
    UserInfo,
    VersionInfo,
    WatchEvent,
)
from belay.argocd.names import check_name, path_segment
from belay.argocd.watch import iter_ndjson_payloads, iter_sse_payloads, parse_watch_payload
from belay.errors import BadInput
from belay.logs import get_logger
from belay.redact import register_secret

if TYPE_CHECKING:
    from belay.config import ArgoCDInstance

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_WATCH_READ_TIMEOUT",
    "ArgoCDClient",
    "CallObserver",
    "InstanceClientFactory",
    "add_call_observer",
    "remove_call_observer",
]

DEFAULT_TIMEOUT = 10.0
"""Seconds for each phase (connect, read, write, pool) of an ordinary call."""

DEFAULT_WATCH_READ_TIMEOUT = 300.0
"""Seconds a watch waits for its next line when the caller gives no ``read_timeout``.

The newline-delimited stream has no keepalive, so a quiet application sends nothing for long
periods; the watch then ends with a retryable ArgoCDTimeout and the caller reconnects."""

_M = TypeVar("_M", bound=ArgoModel)
_Params = httpx.QueryParams

_log = get_logger("belay.argocd")

CallObserver = Callable[[str, str, str, int | None, float], None]
"""Told of every call as it is logged: (instance, method, path, status or None, seconds)."""

_observers: list[CallObserver] = []


def add_call_observer(observer: CallObserver) -> None:
    """Have ``observer`` told of every Argo CD call (the web app's metrics use it)."""
    _observers.append(observer)


def remove_call_observer(observer: CallObserver) -> None:
    """Stop telling ``observer``; unknown observers are ignored."""
    if observer in _observers:
        _observers.remove(observer)


def _notify(instance: str, method: str, path: str, status: int | None, seconds: float) -> None:
    for observer in list(_observers):
        try:
            observer(instance, method, path, status, seconds)
        except Exception:  # noqa: BLE001 - an observer must never break a call
            _log.debug("argocd.observer_failed", observer=repr(observer))


def _project(value: str | None) -> str | None:
    return None if value is None else check_name(value, "project")


def _namespace(value: str | None) -> str | None:
    return None if value is None else check_name(value, "namespace")


def _params(**values: str | int | Sequence[str] | None) -> _Params:
    """Build query parameters, repeating list values and dropping ``None``."""
    out: list[tuple[str, str | int | float | bool | None]] = []
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, str | int):
            out.append((key, str(value)))
        else:
            out.extend((key, item) for item in value)
    return httpx.QueryParams(out)


# Building a TLS context loads a whole CA bundle (tens of milliseconds); the deploy worker makes a
# client per job, so contexts are made once per CA bundle version and shared (they are safe to
# share between threads). A bundle is keyed by its path, size and modification time, so a
# replaced file is loaded afresh.
_contexts: dict[tuple[str, int, int], ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


def _shared_context(cafile: Path | None) -> ssl.SSLContext:
    key = ("", 0, 0)
    if cafile is not None:
        stat = cafile.stat()
        key = (str(cafile.resolve()), stat.st_size, stat.st_mtime_ns)
    with _contexts_lock:
        context = _contexts.get(key)
        if context is None:
            if cafile is None:
                context = httpx.create_ssl_context()
            else:
                context = ssl.create_default_context(cafile=str(cafile))
            _contexts[key] = context
        return context


def _build_verify(verify: bool | str | Path, instance: str) -> bool | ssl.SSLContext:
    """Map ``verify`` (bool or a CA bundle path) to what httpx takes, failing closed."""
    if isinstance(verify, bool):
        if not verify:
            _log.warning(
                "argocd.tls_verification_off",
                instance=instance,
                detail="TLS certificates are not checked; anyone on the path can read the token",
            )
            return False
        return _shared_context(None)
    path = Path(verify)
    try:
        return _shared_context(path)
    except (OSError, ssl.SSLError) as exc:
        raise ArgoCDTLSError(
            f'Argo CD "{instance}": cannot use CA bundle {path}: '
            f"{getattr(exc, 'strerror', None) or exc}",
            instance=instance,
            retryable=False,
        ) from exc


class ArgoCDClient:
    """A client of one Argo CD instance. Use it as a context manager, or call :meth:`close`.

    Give either ``token`` (an API token; a ``Bearer `` prefix is stripped) or ``username`` and
    ``password`` (a session is opened lazily and renewed once on a 401). ``verify`` is True
    (system trust), False (no verification; a warning is logged) or the path of a PEM CA bundle.
    ``transport`` lets tests plug in ``httpx.MockTransport`` or an ASGI app.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        verify: bool | str = True,
        timeout: float = DEFAULT_TIMEOUT,
        instance_name: str = "default",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.instance_name = instance_name
        url = httpx.URL(base_url.strip())
        if url.scheme not in ("http", "https") or not url.host:
            raise BadInput(
                f'Argo CD "{instance_name}": base URL {base_url!r} is not an http(s) URL '
                "with a host"
            )
        self.base_url = str(url.copy_with(query=None, fragment=None)).rstrip("/")
        if token is not None and (username is not None or password is not None):
            raise BadInput(
                f'Argo CD "{instance_name}": give a token or a username/password, not both'
            )
        if (username is None) != (password is None):
            raise BadInput(f'Argo CD "{instance_name}": a username needs a password and back')
        if timeout <= 0:
            raise BadInput(f'Argo CD "{instance_name}": timeout must be positive, got {timeout}')
        self.timeout = timeout
        self.default_project: str | None = None
        """The instance's default project (set by :meth:`from_instance`); never applied silently."""
        self.default_app_namespace: str | None = None
        """The instance's default appNamespace (set by :meth:`from_instance`); informational."""

        root = httpx.URL(self.base_url + "/")
        auth: httpx.Auth | None = None
        self._session: SessionLogin | None = None
        if token is not None:
            bare = normalize_token(token)
            if not bare:
                raise BadInput(f'Argo CD "{instance_name}": the token is empty')
            register_secret(token)
            register_secret(bare)
            auth = BearerToken(bare)
        elif username is not None and password is not None:
            self._session = SessionLogin(
                base_url=root,
                username=username,
                password=password,
                instance=instance_name,
                timeout=timeout,
                on_login=self._log_login,
            )
            auth = self._session
        self._http = httpx.Client(
            base_url=root,
            auth=auth,
            verify=_build_verify(verify, instance_name),
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "belay-argocd-client"},
            follow_redirects=False,
        )

    @classmethod
    def from_instance(
        cls,
        instance: ArgoCDInstance,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> ArgoCDClient:
        """Build a client from a resolved configuration instance (TLS, auth, defaults)."""
        verify: bool | str = instance.verify_ssl
        if instance.verify_ssl and instance.ca_bundle is not None:
            verify = str(instance.ca_bundle)
        client = cls(
            instance.base_url,
            token=instance.token.get_secret_value() if instance.token is not None else None,
            username=instance.username if instance.token is None else None,
            password=(
                instance.password.get_secret_value()
                if instance.password is not None and instance.token is None
                else None
            ),
            verify=verify,
            timeout=timeout,
            instance_name=instance.name,
            transport=transport,
        )
        client.default_project = instance.project
        client.default_app_namespace = instance.app_namespace
        return client

    def __repr__(self) -> str:
        return f"ArgoCDClient(instance={self.instance_name!r}, base_url={self.base_url!r})"

    def __enter__(self) -> ArgoCDClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _log_call(
        self,
        method: str,
        path: str,
        status: int | None,
        started: float,
        error: ArgoCDError | None = None,
    ) -> None:
        seconds = time.perf_counter() - started
        fields: dict[str, Any] = {
            "instance": self.instance_name,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
        }
        _notify(self.instance_name, method, path, status, seconds)
        if error is None:
            _log.debug("argocd.call", **fields)
        else:
            _log.warning("argocd.call", error=type(error).__name__, **fields)

    def _log_login(self, response: httpx.Response, duration: float) -> None:
        path = response.request.url.path
        _notify(self.instance_name, "POST", path, response.status_code, duration)
        _log.debug(
            "argocd.call",
            instance=self.instance_name,
            method="POST",
            path=response.request.url.path,
            status=response.status_code,
            duration_ms=round(duration * 1000, 1),
        )

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: _Params | None = None,
        body: Any = None,
        application: str | None = None,
        project_given: bool = False,
    ) -> Any:
        """Send one call and return its parsed JSON; every failure is an ArgoCDError."""
        headers: dict[str, str] = {}
        content: bytes | None = None
        if method != "GET":
            headers["Content-Type"] = "application/json"
            if body is not None:
                content = jsonio.dumps(body)
        started = time.perf_counter()
        try:
            response = self._http.request(
                method, path, params=params, content=content, headers=headers
            )
        except ArgoCDError as login_error:  # raised by the login flow
            self._log_call(method, path, login_error.status_code, started, login_error)
            raise
        except httpx.HTTPError as exc:
            failure = to_argocd_error(
                exc, instance=self.instance_name, application=application, base_url=self.base_url
            )
            self._log_call(method, path, None, started, failure)
            raise failure from exc
        url_path = response.request.url.path
        if not response.is_success:
            err = to_argocd_error(
                response,
                instance=self.instance_name,
                application=application,
                project_given=project_given,
            )
            self._log_call(method, url_path, response.status_code, started, err)
            raise err
        self._log_call(method, url_path, response.status_code, started)
        try:
            return jsonio.loads(response.content) if response.content.strip() else {}
        except ValueError:
            content_type = response.headers.get("content-type", "no content type").split(";")[0]
            raise self._protocol_error(
                response, f"a body that is not JSON ({content_type})", application
            ) from None

    def _protocol_error(
        self, response: httpx.Response, problem: str, application: str | None
    ) -> ArgoCDProtocolError:
        request = response.request
        return ArgoCDProtocolError(
            f'Argo CD "{self.instance_name}" answered {response.status_code} with {problem} '
            f"for {request.method} {request.url.path}",
            instance=self.instance_name,
            method=request.method,
            path=request.url.path,
            status_code=response.status_code,
            application=application,
        )

    def _parse(
        self, model: type[_M], data: Any, method: str, path: str, application: str | None = None
    ) -> _M:
        """Validate ``data`` into ``model``; a mismatch is a one-line ArgoCDProtocolError."""
        if not isinstance(data, dict):
            raise ArgoCDProtocolError(
                f'Argo CD "{self.instance_name}" answered {method} {path} with JSON that is not '
                f"an object (expected {model.__name__})",
                instance=self.instance_name,
                method=method,
                path=path,
                application=application,
            )
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(root)"
            raise ArgoCDProtocolError(
                f'Argo CD "{self.instance_name}" answered {method} {path} with JSON that does not '
                f"fit {model.__name__}: {where}: {first['msg']} ({exc.error_count()} problem(s))",
                instance=self.instance_name,
                method=method,
                path=path,
                application=application,
            ) from None

    def _items(
        self, model: type[_M], data: Any, method: str, path: str, application: str | None = None
    ) -> list[_M]:
        """Parse ``{"items": [...]}`` (``items`` may be absent or null when empty)."""
        if not isinstance(data, dict):
            return [self._parse(model, data, method, path, application)]  # raises
        items = data.get("items")
        if items is None:
            return []
        if not isinstance(items, list):
            raise ArgoCDProtocolError(
                f'Argo CD "{self.instance_name}" answered {method} {path} with "items" that is '
                "not a list",
                instance=self.instance_name,
                method=method,
                path=path,
                application=application,
            )
        return [self._parse(model, item, method, path, application) for item in items]

    def _app_path(self, name: str, *rest: str) -> str:
        parts = ["/api/v1/applications", path_segment(check_name(name, "application"), "name")]
        parts.extend(rest)
        return "/".join(parts)

    # -- calls ------------------------------------------------------------------------------

    def version(self) -> VersionInfo:
        """``GET /api/version``; only ``Version`` is filled without a valid session."""
        path = "/api/version"
        return self._parse(VersionInfo, self._send("GET", path), "GET", path)

    def user_info(self) -> UserInfo:
        """``GET /api/v1/session/userinfo``; ``logged_in`` is False for a missing/invalid token."""
        path = "/api/v1/session/userinfo"
        return self._parse(UserInfo, self._send("GET", path), "GET", path)

    def login(self) -> None:
        """Open a new username/password session now (otherwise done on the first call).

        A no-op for a token client.
        """
        session = self._session
        if session is None:
            return
        request = session.login_request()
        path = request.url.path
        started = time.perf_counter()
        try:
            response = self._http.send(request, auth=None)
            response.read()
        except httpx.HTTPError as exc:
            err = to_argocd_error(exc, instance=self.instance_name, base_url=self.base_url)
            self._log_call("POST", path, None, started, err)
            raise err from exc
        session.accept_login(response, time.perf_counter() - started)

    def list_applications(
        self,
        *,
        projects: Sequence[str] = (),
        app_namespace: str | None = None,
        selector: str | None = None,
        name: str | None = None,
        repo: str | None = None,
    ) -> list[Application]:
        """``GET /api/v1/applications``, sorted by name; apps the account cannot read are absent."""
        apps, _ = self.list_applications_at(
            projects=projects, app_namespace=app_namespace, selector=selector, name=name, repo=repo
        )
        return apps

    def list_applications_at(
        self,
        *,
        projects: Sequence[str] = (),
        app_namespace: str | None = None,
        selector: str | None = None,
        name: str | None = None,
        repo: str | None = None,
    ) -> tuple[list[Application], str]:
        """:meth:`list_applications` and the list's ``metadata.resourceVersion`` (``""`` when
        absent): the version a watch started after this list resumes from."""
        if isinstance(projects, str):
            projects = [projects]
        path = "/api/v1/applications"
        params = _params(
            projects=[check_name(p, "project") for p in projects],
            appNamespace=_namespace(app_namespace),
            selector=selector,
            name=None if name is None else check_name(name, "application"),
            repo=repo,
        )
        data = self._send("GET", path, params=params)
        meta = data.get("metadata") if isinstance(data, dict) else None
        version = meta.get("resourceVersion") if isinstance(meta, dict) else None
        return self._items(Application, data, "GET", path), str(version or "")

    def get_application(
        self,
        name: str,
        *,
        project: str | None = None,
        app_namespace: str | None = None,
        refresh: str | None = None,
    ) -> Application:
        """``GET /api/v1/applications/{name}``.

        ``refresh`` (``normal`` or ``hard``) makes the server block until the controller has
        reconciled, so it can take long. Without ``project`` a missing app is a 403
        (:class:`ArgoCDPermissionDenied` with ``maybe_not_found``), with it a 404.
        """
        path = self._app_path(name)
        params = _params(
            project=_project(project), appNamespace=_namespace(app_namespace), refresh=refresh
        )
        data = self._send("GET", path, params=params, application=name, project_given=bool(project))
        return self._parse(Application, data, "GET", path, name)

    def managed_resources(
        self, name: str, *, project: str | None = None, app_namespace: str | None = None
    ) -> list[ResourceDiff]:
        """``GET .../managed-resources``: per-resource states (JSON strings) and ``modified``."""
        path = self._app_path(name, "managed-resources")
        params = _params(project=_project(project), appNamespace=_namespace(app_namespace))
        data = self._send("GET", path, params=params, application=name, project_given=bool(project))
        return self._items(ResourceDiff, data, "GET", path, name)

    def resource_tree(
        self, name: str, *, project: str | None = None, app_namespace: str | None = None
    ) -> ApplicationTree:
        """``GET .../resource-tree``: live nodes with health and images."""
        path = self._app_path(name, "resource-tree")
        params = _params(project=_project(project), appNamespace=_namespace(app_namespace))
        data = self._send("GET", path, params=params, application=name, project_given=bool(project))
        return self._parse(ApplicationTree, data, "GET", path, name)

    def revision_metadata(
        self,
        name: str,
        revision: str,
        *,
        project: str | None = None,
        app_namespace: str | None = None,
        source_index: int | None = None,
    ) -> RevisionMetadata:
        """``GET .../revisions/{revision}/metadata``: author, date, message, tags."""
        path = self._app_path(name, "revisions", path_segment(revision, "revision"), "metadata")
        params = _params(
            project=_project(project),
            appNamespace=_namespace(app_namespace),
            sourceIndex=source_index,
        )
        data = self._send("GET", path, params=params, application=name, project_given=bool(project))
        return self._parse(RevisionMetadata, data, "GET", path, name)

    def events(
        self,
        name: str,
        *,
        project: str | None = None,
        app_namespace: str | None = None,
        resource_name: str | None = None,
        resource_namespace: str | None = None,
        resource_uid: str | None = None,
    ) -> list[KubeEvent]:
        """``GET .../events``: the application's own events, or one of its resources' events."""
        path = self._app_path(name, "events")
        params = _params(
            project=_project(project),
            appNamespace=_namespace(app_namespace),
            resourceName=resource_name,
            resourceNamespace=resource_namespace,
            resourceUID=resource_uid,
        )
        data = self._send("GET", path, params=params, application=name, project_given=bool(project))
        return self._items(KubeEvent, data, "GET", path, name)

    def sync(
        self,
        name: str,
        request: SyncRequest,
        *,
        project: str | None = None,
        app_namespace: str | None = None,
    ) -> Application:
        """``POST .../sync``; returns the app with ``operation`` set (no queueing server-side).

        Raises :class:`OperationInProgress` (retryable) when another operation runs, and
        :class:`AutoSyncConflict` when auto-sync pins another revision.
        """
        path = self._app_path(name, "sync")
        body = request.to_wire()
        body["name"] = name
        # The sync body is the whole request message, so scoping travels in it; the query
        # copy is ignored by Argo CD but harmless.
        if project:
            body["project"] = project
        if app_namespace:
            body["appNamespace"] = app_namespace
        params = _params(project=_project(project), appNamespace=_namespace(app_namespace))
        data = self._send(
            "POST", path, params=params, body=body, application=name, project_given=bool(project)
        )
        return self._parse(Application, data, "POST", path, name)

    def terminate_operation(
        self, name: str, *, project: str | None = None, app_namespace: str | None = None
    ) -> None:
        """``DELETE .../operation``: ask the controller to stop the running operation.

        Termination is asynchronous; a 400 ``No operation is in progress`` is raised as
        :class:`ArgoCDBadRequest`.
        """
        path = self._app_path(name, "operation")
        params = _params(project=_project(project), appNamespace=_namespace(app_namespace))
        self._send("DELETE", path, params=params, application=name, project_given=bool(project))

    def can_i(self, resource: str, action: str, subresource: str) -> bool:
        """``GET /api/v1/account/can-i/{resource}/{action}/{subresource}`` (may hold ``/``)."""
        sub = "/".join(path_segment(part, "can-i subresource") for part in subresource.split("/"))
        path = (
            f"/api/v1/account/can-i/{path_segment(resource, 'can-i resource')}/"
            f"{path_segment(action, 'can-i action')}/{sub}"
        )
        data = self._send("GET", path)
        value = data.get("value") if isinstance(data, dict) else None
        if value not in ("yes", "no"):
            raise ArgoCDProtocolError(
                f'Argo CD "{self.instance_name}" answered GET {path} without "value": yes|no',
                instance=self.instance_name,
                method="GET",
                path=path,
                status_code=200,
            )
        return bool(value == "yes")

    def watch_applications(
        self,
        *,
        name: str | None = None,
        projects: Sequence[str] = (),
        app_namespace: str | None = None,
        selector: str | None = None,
        resource_version: str | None = None,
        read_timeout: float | None = None,
        sse: bool = False,
        on_open: Callable[[], object] | None = None,
        until: Callable[[], object] | None = None,
    ) -> Iterator[WatchEvent]:
        """Stream ``GET /api/v1/stream/applications`` as :class:`WatchEvent` objects.

        The request is sent on the first ``next()``; leaving the loop (or ``close()`` on the
        iterator) closes the connection. ``read_timeout`` bounds the wait for each next line
        (default :data:`DEFAULT_WATCH_READ_TIMEOUT`); a quiet stream ends in a retryable
        :class:`ArgoCDTimeout`, a dropped one in :class:`ArgoCDUnreachable`, and a server that
        ends the stream normally simply ends the iteration.

        ``sse`` asks for Server-Sent Events, whose keepalive comments (every 15 s) keep a quiet
        stream from timing out. ``on_open`` is called once the server has accepted the watch and
        before the first event is read (an informer lists then, so nothing that changed before the
        stream opened is missed: Argo CD does not replay changes older than the connection).
        ``until`` is called at each SSE keepalive; once it returns true the connection is closed
        and the iteration ends, as when the server ends the stream (an informer so re-lists on
        time even when no event comes).
        """
        if isinstance(projects, str):
            projects = [projects]
        params = _params(
            name=None if name is None else check_name(name, "application"),
            projects=[check_name(p, "project") for p in projects],
            appNamespace=_namespace(app_namespace),
            selector=selector,
            resourceVersion=resource_version,
        )
        wait = DEFAULT_WATCH_READ_TIMEOUT if read_timeout is None else read_timeout
        if wait <= 0:
            raise BadInput(f"watch read_timeout must be positive, got {read_timeout}")
        timeout = httpx.Timeout(self.timeout, read=wait)
        headers = {"Accept": "text/event-stream"} if sse else None
        return self._watch(params, timeout, name, headers, on_open, until)

    def _watch(
        self,
        params: _Params,
        timeout: httpx.Timeout,
        application: str | None,
        headers: dict[str, str] | None = None,
        on_open: Callable[[], object] | None = None,
        until: Callable[[], object] | None = None,
    ) -> Iterator[WatchEvent]:
        path = "/api/v1/stream/applications"
        started = time.perf_counter()
        opened = False
        try:
            with self._http.stream(
                "GET", path, params=params, timeout=timeout, headers=headers
            ) as response:
                if not response.is_success:
                    response.read()
                    err = to_argocd_error(
                        response, instance=self.instance_name, application=application
                    )
                    self._log_call("GET", path, response.status_code, started, err)
                    raise err
                self._log_call("GET", path, response.status_code, started)
                opened = True
                if on_open is not None:
                    on_open()
                content_type = response.headers.get("content-type", "")
                lines = response.iter_lines()
                if "text/event-stream" in content_type:
                    payloads = iter_sse_payloads(lines, until=until)
                else:
                    payloads = iter_ndjson_payloads(lines)
                for payload in payloads:
                    yield parse_watch_payload(payload, instance=self.instance_name, path=path)
        except ArgoCDError:
            raise
        except httpx.HTTPError as exc:
            err = to_argocd_error(
                exc, instance=self.instance_name, application=application, base_url=self.base_url
            )
            if opened:  # the call itself was logged when it opened; this is how it ended
                _log.warning(
                    "argocd.watch_ended",
                    instance=self.instance_name,
                    path=path,
                    error=type(err).__name__,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                )
            else:
                self._log_call("GET", path, None, started, err)
            raise err from exc


InstanceClientFactory = Callable[["ArgoCDInstance"], ArgoCDClient]
"""Builds the client for a configured instance (:meth:`ArgoCDClient.from_instance`; tests may plug
in a transport). The deploy worker's opener, which takes an instance *name* and yields a client
as a context manager, is a different thing with a different name."""
