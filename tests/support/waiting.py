"""Ports and readiness: waiting for a server (a subprocess, usually) to answer."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable

import httpx

__all__ = ["free_port", "wait_http"]


def free_port() -> int:
    """A loopback TCP port nothing listened on a moment ago (bound, read, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(
    url: str,
    proc: subprocess.Popen[bytes] | None = None,
    *,
    timeout: float = 30,
    ready: Callable[[httpx.Response], bool] | None = None,
) -> None:
    """Wait until ``url`` answers (any status, or one that ``ready`` accepts).

    When ``proc`` (the server's process) exits first, raise at once with its captured stderr
    (the tail of it); after ``timeout`` seconds raise :class:`TimeoutError`.
    """
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"process exited with {proc.returncode}: {err[-4000:]}")
        try:
            response = httpx.get(url, timeout=1)
            if ready is None or ready(response):
                return
        except (httpx.HTTPError, ValueError):  # not up yet, or (ready) not the JSON expected
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(url)
        time.sleep(0.05)
