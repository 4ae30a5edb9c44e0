"""The client against the simulator: grpc-gateway stream errors and code-9 repository errors."""

from __future__ import annotations

import pytest

from belay.argocd import (
    ArgoCDAuthError,
    ArgoCDClient,
    ArgoCDServerError,
    AutoSyncConflict,
    RepositoryUnavailable,
    SyncRequest,
)
from belay.sim.sample import sample_state
from belay.sim.testing import running_simulator


def test_watch_refusal_in_stream_shape_is_read() -> None:
    """A 401 in grpc-gateway's stream shape keeps its gRPC code and Argo CD's message."""
    with (
        running_simulator(sample_state()) as sim,
        ArgoCDClient(sim.url, token="not-a-jwt") as client,
        pytest.raises(ArgoCDAuthError) as err,
    ):
        next(client.watch_applications(name="guestbook", read_timeout=5))
    assert err.value.grpc_code == 16
    assert err.value.server_message == "no session information"


def test_stream_error_line_becomes_a_retryable_error() -> None:
    """An ``{"error": {...}}`` line mid-stream is raised with its class and code."""
    state = sample_state()
    state["faults"] = {"watchErrorAfterEvents": 1}
    with (
        running_simulator(state) as sim,
        ArgoCDClient(sim.url, username="admin", password="admin") as client,
    ):
        events = client.watch_applications(name="guestbook", read_timeout=5)
        assert next(events).type == "ADDED"
        with pytest.raises(ArgoCDServerError) as err:
            next(events)
    assert err.value.grpc_code == 14
    assert err.value.retryable


def test_repository_errors_are_retryable_other_code_9_are_not() -> None:
    """``error resolving repo revision`` is RepositoryUnavailable (retryable); the auto-sync pin
    stays a terminal AutoSyncConflict."""
    state = sample_state()
    state["faults"] = {"repoErrors": 1}
    with (
        running_simulator(state) as sim,
        ArgoCDClient(sim.url, username="admin", password="admin") as client,
    ):
        with pytest.raises(RepositoryUnavailable) as err:
            client.sync("guestbook", SyncRequest())
        assert err.value.grpc_code == 9 and err.value.retryable
    state = sample_state()
    state["applications"][0]["spec"]["syncPolicy"] = {"automated": {}}
    with (
        running_simulator(state) as sim,
        ArgoCDClient(sim.url, username="admin", password="admin") as client,
        pytest.raises(AutoSyncConflict) as conflict,
    ):
        client.sync("guestbook", SyncRequest(revision="v2"))
    assert not conflict.value.retryable
