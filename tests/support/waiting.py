"""Ports and readiness: waiting for a server (a subprocess, usually) to answer, or for any
condition to hold."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

import httpx

__all__ = ["free_port", "wait_http", "wait_until"]

T = TypeVar("T")


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


def wait_until(
    check: Callable[[], T],
    *,
    timeout: float = 60,
    interval: float = 0.05,
    what: str | Callable[[], str] = "condition not reached in time",
) -> T:
    """Call ``check`` until it returns something truthy, and return that.

    After ``timeout`` seconds raise :class:`TimeoutError` saying ``what`` (called, when it is a
    function, so the message can show the state at that moment).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(what() if callable(what) else what)
        time.sleep(interval)
