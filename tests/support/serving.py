"""Test servers: an ASGI app on uvicorn in a thread, and Belay's services served with workers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    from belay.bootstrap import Services

__all__ = ["serve_app", "serve_services"]

_START_TIMEOUT = 10.0


@contextmanager
def serve_app(
    app: Any, *, certfile: str | None = None, keyfile: str | None = None, **config: Any
) -> Iterator[str]:
    """Serve ``app`` (HTTPS with ``certfile`` and ``keyfile``) until the block ends; yields its
    base URL once uvicorn has started.

    The socket is bound before uvicorn starts, so no other process can take the port between
    choosing it and listening on it. ``config`` is passed on to :class:`uvicorn.Config`
    (defaults: no lifespan, no access log, errors only).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options: dict[str, Any] = {"log_level": "error", "access_log": False, "lifespan": "off"}
    server = uvicorn.Server(
        uvicorn.Config(app, ssl_certfile=certfile, ssl_keyfile=keyfile, **{**options, **config})
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        yield f"{'https' if certfile else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def serve_services(
    services: Services, *, workers: int = 0, port: int = 0, join_timeout: float = 20
) -> Iterator[str]:
    """Belay as ``belay serve`` runs it, inside the test process: the app on uvicorn in a
    thread (on ``port``, or a free one) and ``workers`` deployment workers; yields the base URL.

    On leaving, the workers are told to stop and are waited for (``join_timeout`` each);
    closing ``services`` stays with the caller.
    """
    from belay.bootstrap import start_workers
    from belay.web import create_app, serve_in_thread

    stop = threading.Event()
    threads = start_workers(services, stop=stop, count=workers) if workers else []
    try:
        with serve_in_thread(create_app(services), port=port) as url:
            yield url
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=join_timeout)
