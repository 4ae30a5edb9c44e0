"""Real receivers for alert tests: an HTTP server in a thread, a refused port, and aiosmtpd."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from tests.support import free_port

from belay import jsonio


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return jsonio.loads(self.body)


@dataclass
class Receiver:
    """A local HTTP receiver: records every POST; answers ``statuses`` in turn, then 200.

    With ``hang`` set, every request waits until ``release`` is set (a channel that hangs).
    """

    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    hang: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Poll until ``count`` requests arrived (bounded); the requests."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        with self.lock:
            return list(self.received)


def _serve(receiver_factory: Any) -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver = state["r"]
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            receiver.arrived.set()
            if receiver.hang:
                receiver.release.wait(30)
            with receiver.lock:
                receiver.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = receiver_factory(f"http://127.0.0.1:{server.server_address[1]}/hook")
    state["r"] = receiver
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A local HTTP receiver that answers 200."""
    yield from _serve(Receiver)


@pytest.fixture
def second_receiver() -> Iterator[Receiver]:
    """Another local HTTP receiver."""
    yield from _serve(Receiver)


@pytest.fixture
def hanging_receiver() -> Iterator[Receiver]:
    """A receiver that accepts the connection and then does not answer until released."""
    yield from _serve(lambda url: Receiver(url, hang=True))


@pytest.fixture
def refused_url() -> str:
    """A URL on a local port where nothing listens (connection refused)."""
    return f"http://127.0.0.1:{free_port()}/hook"


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@dataclass
class SMTPServer:
    """A running aiosmtpd server and what it received."""

    host: str
    port: int
    mailbox: _Mailbox

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[str, list[str], bytes]]:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.mailbox.lock:
                if len(self.mailbox.messages) >= count:
                    return list(self.mailbox.messages)
            time.sleep(0.01)
        with self.mailbox.lock:
            return list(self.mailbox.messages)


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    """A real SMTP server (aiosmtpd) on a free local port."""
    mailbox = _Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SMTPServer("127.0.0.1", port, mailbox)
    finally:
        controller.stop()
