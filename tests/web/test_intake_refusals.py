"""Unauthenticated intake requests: refused before the body is read, throttled, and audited in
bounded, aggregated events."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from tests.support import NATIVE_PATH, post_delivery

from .conftest import SUBMIT_TOKEN, bundle, start_belay

LARGE = 63 * 1024 * 1024


def test_no_token_large_body_is_refused_before_it_is_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A no-token POST announcing 63 MiB gets 401 while the client has sent only 64 KiB of it
    (before: the server waited for the whole body, then answered)."""
    gen = start_belay(tmp_path, monkeypatch)
    running = next(gen)
    try:
        address = urlsplit(running.url)
        head = (
            "POST /Build/SubmitArtifacts HTTP/1.1\r\n"
            f"Host: {address.netloc}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {LARGE}\r\n\r\n"
        ).encode()
        with socket.create_connection((address.hostname, address.port), timeout=20) as sock:
            sock.sendall(head + b"0" * 65536)
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(4096)  # the deadline above fails the test if nothing comes
                if not chunk:
                    break
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
        assert b"www-authenticate: bearer" in answer.lower()
    finally:
        gen.close()


def test_refusal_flood_gives_bounded_audit_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 no-token requests: twenty 401s, then 429 with Retry-After; two refusal events and
    one lockout event, whose counts add up to every refused request (before: 300 events)."""
    gen = start_belay(tmp_path, monkeypatch)
    running = next(gen)
    store = running.services.store
    try:
        with httpx.Client(base_url=running.url, timeout=10) as client:
            answers = [
                client.post(
                    "/Build/SubmitArtifacts",
                    content=b"--b--\r\n",
                    headers={"Content-Type": "multipart/form-data; boundary=b"},
                )
                for _ in range(300)
            ]
        codes = [a.status_code for a in answers]
        assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}
        assert all(1 <= int(a.headers["retry-after"]) <= 60 for a in answers[20:])
        with store.unit_of_work() as uow:
            during = uow.audit.list()
        assert [e.kind for e in during] == ["intake.unauthorized", "intake.locked_out"]
        # Every sender here shares 127.0.0.1 (as CI runners behind one proxy would): while it
        # is locked out, a valid token is still served, and a wrong one still gets 429.
        served = httpx.post(
            f"{running.url}/Build/SubmitArtifacts",
            content=b"",
            headers={"Authorization": f"Bearer {SUBMIT_TOKEN}"},
            timeout=10,
        )
        assert served.status_code not in (401, 429), served.text
        wrong = httpx.post(
            f"{running.url}/Build/SubmitArtifacts",
            content=b"",
            headers={"Authorization": "Bearer wrong-token-during-lockout"},
            timeout=10,
        )
        assert wrong.status_code == 429
    finally:
        gen.close()  # shutdown writes the pending counts
    with store.unit_of_work() as uow:
        after = uow.audit.list()
    refused = [e for e in after if e.kind == "intake.unauthorized"]
    assert len(after) <= 3 and len(refused) == 2
    assert sum(e.data["count"] for e in refused) == 301
    assert {e.data["client"] for e in after} == {"127.0.0.1"}
    store.dispose()


def test_valid_token_is_checked_before_the_body_and_still_submits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delivery with the right token is judged as before; a wrong one is one 401 and one
    audit event at once."""
    gen = start_belay(tmp_path, monkeypatch)
    running = next(gen)
    try:
        verdict = running.submit(bundle())
        assert verdict["decision"] == "pass"
        wrong = post_delivery(
            running.url,
            bundle(),
            path=NATIVE_PATH,
            fields={},
            filename="b.tar.gz",
            authorization="Bearer not-the-token-Tt5",
            timeout=10,
        )
        assert wrong.status_code == 401 and "not-the-token" not in wrong.text
        with running.services.store.unit_of_work() as uow:
            kinds = [e.kind for e in uow.audit.list()]
        assert kinds.count("intake.unauthorized") == 1
    finally:
        gen.close()
