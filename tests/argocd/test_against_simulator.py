"""The client against the Argo CD simulator over real HTTP: list, get, 403/404, sync + watch."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from belay.argocd import (
    ArgoCDAuthError,
    ArgoCDClient,
    ArgoCDNotFound,
    ArgoCDPermissionDenied,
    ArgoCDTLSError,
    Info,
    OperationInProgress,
    SyncRequest,
    SyncWindowBlocked,
)
from belay.sim import sample_state
from belay.sim.testing import RunningSimulator, running_simulator

READER_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJyZWFkZXIifQ.cmVhZGVyLXNpZ25hdHVyZQ"
WATCH_READ = 10.0


def _state() -> dict[str, Any]:
    state = sample_state()
    other = {
        "metadata": {"name": "billing", "namespace": "argocd"},
        "spec": {
            "project": "payments",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "billing"},
            "source": {"repoURL": "https://example.com/billing.git", "path": "."},
        },
        "status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}},
    }
    state["applications"].append(other)
    state["accounts"] = [
        {"name": "admin", "password": "admin-password-1"},
        {
            "name": "reader",
            "token": READER_TOKEN,
            "policies": ["p, role:reader, applications, get, default/*, allow"],
        },
    ]
    state["syncBehavior"] = {"guestbook": {"seconds": 0.3, "phase": "Succeeded"}}
    state["syncWindows"] = {"billing": [{"kind": "deny"}]}
    return state


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with running_simulator(_state()) as running:
        yield running


def _admin(sim: RunningSimulator) -> ArgoCDClient:
    return ArgoCDClient(
        sim.url, username="admin", password="admin-password-1", timeout=5.0, instance_name="sim"
    )


def test_version_and_login(sim: RunningSimulator) -> None:
    """A password login happens once, lazily, and the session sees the full version."""
    with _admin(sim) as client:
        assert client.user_info().logged_in is True
        assert client.version().version.startswith("v3.5.1")
    logins = [r for r in sim.requests() if r.path == "/api/v1/session" and r.method == "POST"]
    assert len(logins) == 1


def test_list_filters_and_silent_rbac(sim: RunningSimulator) -> None:
    """Admin sees both apps sorted; a project filter narrows; the reader sees only its project."""
    with _admin(sim) as client:
        assert [a.name for a in client.list_applications()] == ["billing", "guestbook"]
        assert [a.name for a in client.list_applications(projects=["payments"])] == ["billing"]
        assert [a.name for a in client.list_applications(name="guestbook")] == ["guestbook"]
    with ArgoCDClient(sim.url, token=READER_TOKEN, timeout=5.0) as reader:
        assert [a.name for a in reader.list_applications()] == ["guestbook"]
    query = next(r.query for r in sim.requests() if r.query.get("projects"))
    assert query["projects"] == ["payments"]


def test_get_and_the_403_versus_404_rule(sim: RunningSimulator) -> None:
    """Missing app: 403 (maybe not found) without project, 404 with it; real apps parse."""
    with _admin(sim) as client:
        app = client.get_application("guestbook", project="default")
        assert app.status.sync.status == "Synced"
        assert app.status.history[-1].revision == app.status.sync.revision
        with pytest.raises(ArgoCDPermissionDenied) as denied:
            client.get_application("ghost")
        assert denied.value.maybe_not_found
        with pytest.raises(ArgoCDNotFound):
            client.get_application("ghost", project="default")
        with pytest.raises(ArgoCDNotFound):
            client.get_application("billing", project="default")
    with (
        ArgoCDClient(sim.url, token=READER_TOKEN, timeout=5.0) as reader,
        pytest.raises(ArgoCDPermissionDenied),
    ):
        reader.get_application("billing")


def test_can_i(sim: RunningSimulator) -> None:
    """can-i answers for the reader's policy."""
    with ArgoCDClient(sim.url, token=READER_TOKEN, timeout=5.0) as reader:
        assert reader.can_i("applications", "get", "default/guestbook") is True
        assert reader.can_i("applications", "sync", "default/guestbook") is False


def test_bad_token_is_auth_error(sim: RunningSimulator) -> None:
    """An unknown token is refused with 401."""
    bad = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.YmFkLXNpZ25hdHVyZQ"
    with ArgoCDClient(sim.url, token=bad, timeout=5.0) as client, pytest.raises(ArgoCDAuthError):
        client.list_applications()


def test_sync_round_trip_with_watch(sim: RunningSimulator) -> None:
    """Sync with a correlation info, see the conflict, and watch the operation to Succeeded."""
    marker = str(uuid.uuid4())
    request = SyncRequest.hook(prune=True, infos=[Info(name="belay-decision", value=marker)])
    with _admin(sim) as client:
        started = client.sync("guestbook", request, project="default")
        assert started.operation is not None
        assert started.operation.info_value("belay-decision") == marker
        with pytest.raises(OperationInProgress):
            client.sync("guestbook", request, project="default")
        final = None
        for event in client.watch_applications(name="guestbook", read_timeout=WATCH_READ):
            app = event.application
            state = app.status.operation_state
            if (
                app.operation is None
                and state is not None
                and state.completed
                and state.operation.info_value("belay-decision") == marker
            ):
                final = app
                break
        assert final is not None
        assert final.status.operation_state is not None
        assert final.status.operation_state.phase == "Succeeded"
        again = client.get_application("guestbook", project="default")
        assert again.status.history[-1].id == 1
    syncs = [r for r in sim.requests() if r.path.endswith("/sync")]
    assert syncs[0].body["infos"] == [{"name": "belay-decision", "value": marker}]
    assert syncs[0].body["strategy"] == {"hook": {}}


def test_sync_window_blocks(sim: RunningSimulator) -> None:
    """A deny window gives SyncWindowBlocked, which is retryable."""
    with _admin(sim) as client, pytest.raises(SyncWindowBlocked) as info:
        client.sync("billing", SyncRequest(), project="payments")
    assert info.value.retryable


def test_simulator_tls() -> None:
    """The simulator's TLS mode: passes with its CA, fails closed without."""
    with running_simulator(_state(), tls=True) as sim:
        assert sim.ca_path is not None
        with ArgoCDClient(
            sim.url, token=READER_TOKEN, verify=str(sim.ca_path), timeout=5.0
        ) as client:
            assert [a.name for a in client.list_applications()] == ["guestbook"]
        with (
            ArgoCDClient(sim.url, token=READER_TOKEN, timeout=5.0) as client,
            pytest.raises(ArgoCDTLSError),
        ):
            client.list_applications()
