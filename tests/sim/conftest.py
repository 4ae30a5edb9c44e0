"""Fixtures for the simulator's tests: a small state and HTTP clients against a running sim."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from belay.sim import sample_state
from belay.sim.testing import RunningSimulator, running_simulator

TOKEN_VIEWER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ2aWV3ZXIifQ.c2lnbmF0dXJl"
TOKEN_DEPLOYER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXBsb3llciJ9.c2lnbmF0dXJl"
# exp = 1000000000 (2001): long expired.
TOKEN_EXPIRED = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvbGQiLCJleHAiOjEwMDAwMDAwMDB9.c2lnbmF0dXJl"


def make_state(**behavior: Any) -> dict[str, Any]:
    """The sample state plus accounts, a second project's app and a fast sync behaviour."""
    state = sample_state()
    guestbook = state["applications"][0]
    other = copy.deepcopy(guestbook)
    other["metadata"].update(name="billing", uid="7d3c0b52-0000-4000-8000-000000000002")
    other["metadata"]["labels"] = {"team": "payments"}
    other["spec"]["project"] = "payments"
    state["applications"].append(other)
    state["accounts"] = [
        {"name": "admin", "password": "admin"},
        {
            "name": "viewer",
            "token": TOKEN_VIEWER,
            "policies": ["p, role:viewer, applications, get, default/*, allow"],
        },
        {
            "name": "deployer",
            "token": TOKEN_DEPLOYER,
            "password": "s3cret-pass",
            "policies": [
                "p, role:deployer, applications, get, */*, allow",
                "p, role:deployer, applications, sync, default/*, allow",
            ],
        },
        {"name": "old", "token": TOKEN_EXPIRED, "policies": []},
    ]
    state["syncBehavior"] = {
        "guestbook": {"seconds": 0.05, "phase": "Succeeded", "health": "Healthy", **behavior}
    }
    return state


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    """A running simulator on :func:`make_state`."""
    with running_simulator(make_state()) as running:
        yield running


def client(sim: RunningSimulator, token: str | None = None) -> httpx.Client:
    """An httpx client for ``sim``, with a bearer token when given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=sim.url, headers=headers, timeout=10, verify=sim.verify)


@pytest.fixture
def admin(sim: RunningSimulator) -> Iterator[httpx.Client]:
    """A client logged in as admin."""
    with client(sim, sim.token_for("admin")) as c:
        yield c
