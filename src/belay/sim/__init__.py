"""The Argo CD API simulator: a faithful stand-in for an Argo CD v3.5 API server.

``create_app(state)`` builds the ASGI app; ``load_state(path)`` / ``parse_state(data)`` read the
state file of DESIGN.md §6; ``belay.sim.testing.running_simulator`` serves it on a free port for
tests.
"""

from __future__ import annotations

from belay.sim.app_store import RequestRecord
from belay.sim.sample import sample_state
from belay.sim.server import create_app
from belay.sim.state import Behavior, Faults, SimState, StateFileError, load_state, parse_state
from belay.sim.testing import (
    make_tls_files,
    quiet_dropped_connections,
    running_simulator,
    serve_config,
)

__all__ = [
    "Behavior",
    "Faults",
    "RequestRecord",
    "SimState",
    "StateFileError",
    "create_app",
    "load_state",
    "make_tls_files",
    "parse_state",
    "quiet_dropped_connections",
    "running_simulator",
    "sample_state",
    "serve_config",
]
