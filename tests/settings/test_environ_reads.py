"""Settings read the environment in one place: belay.config.env.process_environ."""

from __future__ import annotations

import os
import re
from pathlib import Path

from belay.config.env import process_environ

SRC = Path(__file__).resolve().parents[2] / "src" / "belay"
_READ = re.compile(r"\bos\.environ\b|\bgetenv\b")
ALLOWED = {
    "config/env.py",  # the one reader
}


def test_process_environ_is_the_environment_unless_given_one() -> None:
    assert process_environ() is os.environ
    given = {"BELAY_X": "1"}
    assert process_environ(given) is given


def test_only_config_env_reads_os_environ() -> None:
    """Outside the simulator, no module reads os.environ or getenv itself."""
    readers = set()
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith("sim/"):
            continue
        if _READ.search(path.read_text(encoding="utf-8")):
            readers.add(relative)
    assert readers <= ALLOWED, sorted(readers - ALLOWED)
