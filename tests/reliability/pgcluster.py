"""A private, throw-away PostgreSQL cluster (``initdb`` + ``pg_ctl`` on a free port).

The reliability suite restarts PostgreSQL in the middle of a run, which it must never do to the
shared server on 5432 (DESIGN §8). PostgreSQL refuses to run as root, so under root the cluster
runs as the ``postgres`` system user (Debian's package creates it), or as a ``belay-pg`` user
added for the purpose when there is none.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support import free_port

__all__ = ["PgCluster", "find_bindir"]


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<v>/bin`` holding initdb and pg_ctl (or ``PATH``'s)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    for directory in reversed(candidates):
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def _run_as() -> str | None:
    """The user to run PostgreSQL as when we are root (created if needed), else ``None``."""
    if os.geteuid() != 0:
        return None
    import pwd

    for name in ("postgres", "belay-pg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "belay-pg"],
        check=True,
        capture_output=True,
    )
    return "belay-pg"


class PgCluster:
    """``start()``, ``stop()``, ``restart()`` and ``destroy()`` a private cluster; ``url``."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.user = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="belay-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        if self.user is not None:
            import pwd

            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        os.chmod(self.root, 0o700)

    def _pg(self, tool: str, *args: str, timeout: float = 60) -> None:
        command = [str(self.bindir / tool), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} {args[:1]} failed: {result.stderr.strip()}\n{tail}")

    def init(self) -> None:
        """Create the cluster (trust auth for the superuser ``postgres``, no fsync)."""
        self._pg(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        """Start it on 127.0.0.1:port (socket in the cluster folder) and wait until it is up."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=200"
        )
        self._pg(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.log),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop it (``fast`` disconnects every client, as a real restart does)."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, down_seconds: float = 1.0) -> None:
        """Stop, stay down for ``down_seconds``, start again."""
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def destroy(self) -> None:
        """Stop it if it runs and delete every file."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
