"""Fault injection over real sockets (errors, drops, watch cuts, expiry, windows) and TLS."""

from __future__ import annotations

import json
import ssl
from typing import Any

import httpx
import pytest

from belay.sim.testing import RunningSimulator, running_simulator

from .conftest import TOKEN_DEPLOYER, client, make_state


def test_dropped_connection_cuts_tcp(sim: RunningSimulator) -> None:
    """dropConnections=1 cuts the connection mid-response; a real client sees a protocol error."""
    sim.set_faults({"dropConnections": 1.0, "paths": ["/api/v1/applications"]})
    with client(sim, TOKEN_DEPLOYER) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.get("/api/v1/applications")
        assert c.get("/api/version").status_code == 200  # other paths are untouched
    logged = [r for r in sim.requests() if r.path == "/api/v1/applications"]
    assert logged[0].fault == "drop"


def _read_watch(c: httpx.Client, into: list[dict[str, Any]]) -> None:
    with c.stream("GET", "/api/v1/stream/applications") as stream:
        into.extend(json.loads(line) for line in stream.iter_lines() if line)


def test_watch_stream_cut_after_events() -> None:
    """dropWatchAfterEvents=1 ends the watch stream abruptly after the first event."""
    state = make_state()
    state["faults"] = {"dropWatchAfterEvents": 1}
    with running_simulator(state) as sim, client(sim, sim.token_for("admin")) as c:
        received: list[dict[str, Any]] = []
        with pytest.raises(httpx.RemoteProtocolError):
            _read_watch(c, received)
        assert len(received) == 1
        assert received[0]["result"]["type"] == "ADDED"


def test_seeded_error_rate_is_repeatable() -> None:
    """The same seed gives the same sequence of injected statuses."""
    statuses = []
    for _ in range(2):
        state = make_state()
        state["faults"] = {"errorRate": 0.5, "statusCodes": [502, 503], "seed": 42}
        with running_simulator(state) as sim, client(sim, TOKEN_DEPLOYER) as c:
            statuses.append([c.get("/api/v1/applications").status_code for _ in range(12)])
    assert statuses[0] == statuses[1]
    assert {200, 502, 503} >= set(statuses[0]) and len(set(statuses[0])) > 1


def test_runtime_faults_endpoint_and_expired_accounts(sim: RunningSimulator) -> None:
    """POST /_sim/faults expires an account's token and adds latency; bad faults are a 400."""
    with client(sim, TOKEN_DEPLOYER) as c:
        assert c.get("/api/v1/applications").status_code == 200
        set_ = c.post("/_sim/faults", json={"expiredAccounts": ["deployer"], "latencyMs": 5})
        assert set_.status_code == 200
        expired = c.get("/api/v1/applications")
        assert expired.status_code == 401
        assert (
            expired.json()["message"]
            == "invalid session: token has invalid claims: token is expired"
        )
        assert c.post("/_sim/faults", json={"errorRate": 3}).status_code == 400
        assert c.get("/_sim/faults").json()["expiredAccounts"] == ["deployer"]


def test_sync_window_set_at_run_time(sim: RunningSimulator) -> None:
    """A deny window added at run time blocks syncs with 403; one that has ended does not."""
    with client(sim, TOKEN_DEPLOYER) as c:
        sim.set_faults(
            {"syncWindows": {"guest*": [{"kind": "deny", "until": "2000-01-01T00:00:00Z"}]}}
        )
        assert (
            c.post("/api/v1/applications/guestbook/sync", json={"dryRun": True}).status_code == 200
        )
        sim.wait_for("guestbook", lambda a: "operation" not in a)
        sim.set_faults({"syncWindows": {"guest*": [{"kind": "deny", "from": 0}]}})
        blocked = c.post("/api/v1/applications/guestbook/sync", json={})
        assert blocked.status_code == 403
        assert blocked.json() == {
            "error": "cannot sync: blocked by sync window",
            "code": 7,
            "message": "cannot sync: blocked by sync window",
        }


def test_tls_with_the_throwaway_ca() -> None:
    """With tls=True the simulator serves HTTPS trusted through its CA file only."""
    with running_simulator(make_state(), tls=True) as sim:
        assert sim.url.startswith("https://127.0.0.1:")
        assert sim.ca_path is not None and sim.ca_path.is_file()
        with httpx.Client(verify=sim.verify) as good:
            assert good.get(sim.url + "/api/version").json() == {"Version": "v3.5.1"}
        with (
            httpx.Client(verify=ssl.create_default_context()) as bad,
            pytest.raises(httpx.ConnectError),
        ):
            bad.get(sim.url + "/api/version")


def test_request_cut_before_its_body_is_complete_is_not_acted_on(sim: RunningSimulator) -> None:
    """A client killed while sending its sync (half the body sent, then the socket closed) gets
    no sync: Argo CD cannot act on a body it never received (Belay's crash test found the
    simulator syncing with an empty body)."""
    import socket
    import time
    from urllib.parse import urlsplit

    body = json.dumps({"revision": "HEAD", "prune": True}).encode()
    where = urlsplit(sim.url)
    head = (
        "POST /api/v1/applications/guestbook/sync HTTP/1.1\r\n"
        f"Host: {where.netloc}\r\nAuthorization: Bearer {TOKEN_DEPLOYER}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((where.hostname, where.port)) as sock:
        sock.sendall(head + body[: len(body) // 2])
        time.sleep(0.2)
    deadline = time.monotonic() + 5
    while not [r for r in sim.requests() if r.path.endswith("/sync")]:
        assert time.monotonic() < deadline, "the cut request was never seen"
        time.sleep(0.02)
    (logged,) = [r for r in sim.requests() if r.path.endswith("/sync")]
    assert logged.status is None and logged.fault is not None and "body" in logged.fault
    with client(sim, TOKEN_DEPLOYER) as c:
        app = c.get("/api/v1/applications/guestbook").json()
    assert app.get("operation") is None
    assert "operationState" not in app["status"] or app["status"]["operationState"] is None
