"""Serve the simulator for tests: ``with running_simulator(state) as sim: ... sim.url ...``.

The simulator runs under uvicorn in a background thread on 127.0.0.1 and a free port (so clients
talk real HTTP, optionally TLS with a throw-away CA). ``sim.requests()`` is the request log,
``sim.application(name)`` the current JSON of an app, ``sim.set_faults({...})`` changes the faults
and ``sim.token_for(account)`` mints a login token. For pytest, either use the context manager or
add ``pytest_plugins = ["belay.sim.pytest_plugin"]`` and take the ``argocd_sim`` fixture.
"""

from __future__ import annotations

import logging
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from belay.sim.app_store import RequestRecord, SimStore
from belay.sim.server import DropConnection, create_app
from belay.sim.state import Faults, SimState, load_state, parse_state

__all__ = ["RunningSimulator", "quiet_dropped_connections", "running_simulator", "serve_config"]

_START_TIMEOUT = 10.0


class _DropFilter(logging.Filter):
    """Hide uvicorn's traceback for connections the simulator cuts on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, DropConnection):
                return False
            if isinstance(exc, BaseExceptionGroup) and any(
                isinstance(e, DropConnection) for e in exc.exceptions
            ):
                return False
            exc = exc.__cause__ or exc.__context__
        return True


def quiet_dropped_connections() -> None:
    """Install the filter that keeps deliberate connection drops out of uvicorn's error log."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropFilter) for f in logger.filters):
        logger.addFilter(_DropFilter())


def serve_config(
    state: SimState,
    *,
    host: str,
    port: int,
    tls_files: tuple[Path, Path] | None,
    clock: Callable[[], float] = time.time,
) -> tuple[uvicorn.Config, SimStore]:
    """The uvicorn configuration serving ``state`` (shared by the CLI and the tests)."""
    app = create_app(state, clock=clock)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
        ssl_certfile=str(tls_files[0]) if tls_files else None,
        ssl_keyfile=str(tls_files[1]) if tls_files else None,
    )
    store: SimStore = app.state.store
    return config, store


def make_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1/localhost: (cert, key, ca)."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    cert_path, key_path, ca_path = (directory / n for n in ("server.pem", "server.key", "ca.pem"))
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(cert_path), append=True)
    cert.private_key_pem.write_to_path(str(key_path))
    ca.cert_pem.write_to_path(str(ca_path))
    return cert_path, key_path, ca_path


class RunningSimulator:
    """A simulator being served; see the module docstring."""

    def __init__(self, url: str, store: SimStore, ca_path: Path | None) -> None:
        self.url = url
        self.store = store
        self.ca_path = ca_path

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What to give httpx's ``verify=``: a context trusting only the CA under TLS."""
        if self.ca_path is None:
            return True
        return ssl.create_default_context(cafile=str(self.ca_path))

    def requests(self) -> list[RequestRecord]:
        """Every request received so far (``/_sim/`` calls excluded), in order."""
        return self.store.requests()

    def reset(self) -> None:
        """Clear the request log (and login-failure counters)."""
        self.store.reset()

    def set_faults(self, faults: dict[str, Any]) -> None:
        """Replace the faults (same keys as the state file's ``faults``)."""
        self.store.set_faults(Faults.model_validate(faults))

    def application(self, name: str) -> dict[str, Any]:
        """The current JSON of the app ``name``; ``KeyError`` if there is none."""
        app = self.store.find_anywhere(name)
        if app is None:
            raise KeyError(name)
        return app

    def token_for(self, account: str) -> str:
        """A valid login token for ``account`` (its state-file token if it has one)."""
        for candidate in self.store.state.accounts:
            if candidate.name == account:
                return candidate.token or self.store.issuer.issue(candidate, time.time())
        raise KeyError(account)

    def wait_for(self, name: str, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
        """Poll the app until ``predicate(app)`` holds; ``TimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            app = self.application(name)
            if predicate(app):
                return app
            if time.monotonic() > deadline:
                raise TimeoutError(f"application {name!r} did not reach the expected state")
            time.sleep(0.01)


def _to_state(state: SimState | dict[str, Any] | Path | str) -> SimState:
    if isinstance(state, SimState):
        return state
    if isinstance(state, dict):
        return parse_state(state, source="state")
    return load_state(state)


@contextmanager
def running_simulator(
    state: SimState | dict[str, Any] | Path | str,
    *,
    tls: bool = False,
    port: int = 0,
    clock: Callable[[], float] = time.time,
) -> Iterator[RunningSimulator]:
    """Serve ``state`` on 127.0.0.1 (a free port unless ``port``) until the block ends.

    ``clock`` replaces the simulator's wall clock (login lockout, token expiry, operation times).
    """
    quiet_dropped_connections()
    sim_state = _to_state(state)
    with tempfile.TemporaryDirectory(prefix="belay-sim-") as tmp:
        tls_files = make_tls_files(Path(tmp)) if tls else None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        bound_port = sock.getsockname()[1]
        config, store = serve_config(
            sim_state,
            host="127.0.0.1",
            port=bound_port,
            tls_files=(tls_files[0], tls_files[1]) if tls_files else None,
            clock=clock,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="belay-sim", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError("the Argo CD simulator did not start")
            time.sleep(0.005)
        scheme = "https" if tls else "http"
        try:
            yield RunningSimulator(
                f"{scheme}://127.0.0.1:{bound_port}", store, tls_files[2] if tls_files else None
            )
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()
