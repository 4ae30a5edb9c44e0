"""Servers as real processes (``belay serve``, the simulator, Alertmanager): start and stop."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = ["start_server", "stop_process", "stopped_at_exit"]


def start_server(
    command: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start ``command`` with its output dropped and its stderr kept on a pipe, so that
    :func:`tests.support.wait_http` can say why it exited."""
    return subprocess.Popen(
        list(command), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def stop_process(proc: subprocess.Popen[bytes], *, timeout: float = 20) -> None:
    """SIGTERM, and SIGKILL when it has not ended within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


@contextmanager
def stopped_at_exit(*procs: subprocess.Popen[bytes]) -> Iterator[None]:
    """Stop ``procs``, in this order, when the block ends (whatever ends it)."""
    try:
        yield
    finally:
        for proc in procs:
            stop_process(proc)
