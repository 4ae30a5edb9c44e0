"""The gate's error tree.

::

    BelayError
     └── GateError                 anything the gate raises on purpose
          ├── ReportError          (also BadInput) a report file Belay cannot read
          ├── BundleError          (also BadInput) an archive that is unreadable or unsafe
          ├── PolicyError          (also BadInput) a policy file that is not valid
          └── DataRefreshError     KEV/EPSS download or content failure (exit 1)

Every message names the input (file, bundle entry, key path) and the problem on one line.
"""

from __future__ import annotations

from belay.errors import BadInput, BelayError

__all__ = [
    "BundleError",
    "DataRefreshError",
    "GateError",
    "PolicyError",
    "ReportError",
    "clip",
    "quoted",
]


def clip(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters (then ``...``): what a submitter sent can be any
    length, and a message quoting it must stay one short line."""
    return text if len(text) <= limit else text[:limit] + "..."


def quoted(text: str, limit: int = 80) -> str:
    """``text`` clipped and quoted, as a message names a value it refuses."""
    return repr(clip(text, limit))


class GateError(BelayError):
    """Base of the gate's errors."""


class ReportError(BadInput, GateError):
    """A report that cannot be read: not a known format, malformed, truncated."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


class BundleError(BadInput, GateError):
    """A bundle archive that cannot be read safely (bad gzip, unsafe tar entry, too large)."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


class PolicyError(BadInput, GateError):
    """A policy file that cannot be loaded: YAML errors, unknown keys, wrong types."""


class DataRefreshError(GateError):
    """Downloading or checking KEV/EPSS data failed."""
