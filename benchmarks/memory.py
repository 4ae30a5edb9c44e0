"""Idle memory: the resident set of ``belay serve`` (SQLite, worker on) once it has settled."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import (
    BELAY,
    Figure,
    free_port,
    project_yaml,
    rss_mb,
    server_process,
    settings_yaml,
)

GOAL_MB = 150.0


def measure(quick: bool) -> list[Figure]:
    """Start ``belay serve``, answer one health check, wait, read VmRSS."""
    settle = 3.0 if quick else 10.0
    with tempfile.TemporaryDirectory(prefix="belay-bench-idle-") as tmp:
        work = Path(tmp)
        config = work / "belay.yaml"
        remote = "https://gitlab.com/bench/idle.git"
        config.write_text(
            settings_yaml(f"sqlite:///{work / 'idle.db'}", [project_yaml("idle", remote, "idle")])
        )
        port = free_port()
        argv = [BELAY, "serve", "--config", str(config), "--port", str(port)]
        with server_process(argv, port=port, log=work / "serve.log") as proc:
            time.sleep(settle)
            rss = rss_mb(proc.pid)
    return [
        Figure(
            name="idle_memory.serve",
            value=round(rss, 1),
            unit="MB RSS",
            goal=f"< {GOAL_MB:g} MB",
            met=rss < GOAL_MB,
            note=f"belay serve on SQLite with its worker, {settle:g} s after it answered /healthz",
        )
    ]
