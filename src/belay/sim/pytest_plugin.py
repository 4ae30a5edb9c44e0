"""A pytest fixture for the simulator: ``pytest_plugins = ["belay.sim.pytest_plugin"]``.

``argocd_sim`` serves the built-in sample state unless the test is marked
``@pytest.mark.argocd_state(<dict or path>)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from belay.sim.sample import sample_state
from belay.sim.testing import RunningSimulator, running_simulator

__all__ = ["argocd_sim"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``argocd_state`` marker."""
    config.addinivalue_line("markers", "argocd_state(state): the state argocd_sim serves")


@pytest.fixture
def argocd_sim(request: pytest.FixtureRequest) -> Iterator[RunningSimulator]:
    """A running simulator (sample state, or the ``argocd_state`` marker's state)."""
    marker = request.node.get_closest_marker("argocd_state")
    state = marker.args[0] if marker else sample_state()
    with running_simulator(state) as sim:
        yield sim
