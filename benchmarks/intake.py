"""Intake throughput: Portage-shaped submissions per second and their latency, with wrk.

One server process per measurement, each on a fresh store: the reference (``refserver.py``: the
same app, middleware and uvicorn settings, a route that reads the same multipart body and
answers a fixed JSON), then ``belay serve --no-worker`` on SQLite (WAL, synchronous=FULL) and,
when ``BELAY_TEST_DATABASE_URL`` is set, on a fresh PostgreSQL database (dropped afterwards).

The load generator is wrk (``post_bodies.lua``) on loopback: every body is a distinct
pre-built ~20 KB bundle (its own commit, so its own idempotency key), each posted once with the
project's token; a warm-up of a few sequential posts precedes the timed run. The deployment
worker is off: this is the API's cost; the worker's figures are in ``pipeline.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import (
    BELAY,
    CONTENT_TYPE,
    TOKEN,
    Figure,
    failed,
    free_port,
    make_bundles,
    multipart_body,
    project_yaml,
    server_process,
    settings_yaml,
    write_body_files,
)

REMOTE = "https://gitlab.com/bench/intake-app.git"
CONNECTIONS = 16
WARMUP = 30
RATE_GOAL = 500.0
RATIO_GOAL = 0.15


def _wrk(url: str, bodies: Path, offsets: Path, seconds: int) -> dict[str, Any]:
    script = Path(__file__).with_name("post_bodies.lua")
    argv = [
        "wrk",
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        url,
        "--",
        str(bodies),
        str(offsets),
        TOKEN,
        CONTENT_TYPE,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH "):
            result: dict[str, Any] = json.loads(line[6:])
            return result
    raise RuntimeError(f"wrk printed no result: {done.stdout[-500:]} {done.stderr[-500:]}")


def _warm(url: str, bodies: list[bytes]) -> None:
    with httpx.Client(timeout=30) as client:
        for body in bodies:
            response = client.post(
                url, content=body, headers={"Authorization": TOKEN, "Content-Type": CONTENT_TYPE}
            )
            if response.status_code != 200:
                raise RuntimeError(f"warm-up got {response.status_code}: {response.text[:300]}")


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database on the server of ``admin_url``; dropped when the block ends."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"belay_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _run_one(
    label: str,
    work: Path,
    database_url: str,
    bodies: list[bytes],
    files: tuple[Path, Path],
    *,
    reference: bool,
    seconds: int,
) -> dict[str, Any]:
    config = work / f"belay-{label}.yaml"
    config.write_text(
        settings_yaml(database_url, [project_yaml("intake-app", REMOTE, "intake-app")])
    )
    port = free_port()
    if reference:
        argv = [sys.executable, str(Path(__file__).with_name("refserver.py"))]
        argv += ["--config", str(config), "--port", str(port)]
        path = "/bench/reference"
    else:
        argv = [BELAY, "serve", "--config", str(config), "--port", str(port), "--no-worker"]
        path = "/Build/SubmitArtifacts"
    url = f"http://127.0.0.1:{port}{path}"
    with server_process(argv, port=port, log=work / f"{label}.log"):
        _warm(url, bodies[:WARMUP])
        result = _wrk(url, *files, seconds=seconds)
    result["rate"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def measure(quick: bool) -> list[Figure]:
    """The intake figures: reference, SQLite and (when configured) PostgreSQL."""
    if shutil.which("wrk") is None:
        why = "wrk is not installed (Debian package wrk)"
        return [failed("intake.sqlite.rate", "submissions/s", f">= {RATE_GOAL:g}/s", why)]
    seconds, count = (5, 2500) if quick else (10, 6000)
    bodies = [multipart_body(b) for b in make_bundles(count + WARMUP, [REMOTE])]
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="belay-bench-intake-") as tmp:
        work = Path(tmp)
        files = write_body_files(bodies[WARMUP:], work)

        def run(label: str, url: str, *, reference: bool = False) -> dict[str, Any]:
            return _run_one(label, work, url, bodies, files, reference=reference, seconds=seconds)

        ref = run("reference", f"sqlite:///{work / 'ref.db'}", reference=True)
        figures += _figures("reference", ref, None)
        pg_admin = os.environ.get("BELAY_TEST_DATABASE_URL")
        for backend in ("sqlite", "postgres"):
            try:
                if backend == "sqlite":
                    result = run(backend, f"sqlite:///{work / 'intake.db'}")
                elif pg_admin:
                    with postgres_database(pg_admin) as url:
                        result = run(backend, url)
                else:
                    why = "BELAY_TEST_DATABASE_URL is not set"
                    figures.append(failed("intake.postgres.rate", "submissions/s", "-", why))
                    continue
            except (RuntimeError, subprocess.SubprocessError, OSError) as err:
                figures.append(failed(f"intake.{backend}.rate", "submissions/s", "-", str(err)))
                continue
            figures += _figures(backend, result, ref)
    return figures


def _figures(label: str, result: dict[str, Any], ref: dict[str, Any] | None) -> list[Figure]:
    rate = float(result["rate"])
    sent = int(result["requests"])
    note = (
        f"wrk, 1 thread, {CONNECTIONS} connections, {sent} requests "
        f"({result['wrapped']} repeated bodies); "
        f"statuses {result['statuses']}, passes {result['passes']}, errors {result['errors']}"
    )
    bad = result["errors"] or result["statuses"].get("200", 0) != sent
    if result["wrapped"] and label != "reference":
        note += f"; bodies ran out, {result['wrapped']} repeats (duplicate path) were measured"
        bad = True
    if ref is None:
        rate_fig = Figure(
            name=f"intake.{label}.rate",
            value=round(rate, 1),
            unit="requests/s",
            goal="reference (no goal)",
            met=None,
            note=note,
        )
    else:
        ratio = rate / float(ref["rate"])
        goal = f">= {RATIO_GOAL} x reference"
        met = ratio >= RATIO_GOAL
        if label == "sqlite":
            goal += f" and >= {RATE_GOAL:g}/s"
            met = met and rate >= RATE_GOAL
        if label != "reference" and result["passes"] != sent:
            note += "; NOT every submission passed"
            met = False
        rate_fig = Figure(
            name=f"intake.{label}.rate",
            value=round(rate, 1),
            unit="submissions/s",
            goal=goal,
            met=met and not bad,
            reference=round(float(ref["rate"]), 1),
            ratio=round(ratio, 3),
            note=note,
        )
    latency = [
        Figure(
            name=f"intake.{label}.{p}",
            value=round(result[f"{p}_us"] / 1000, 2),
            unit="ms",
            goal="reported (no goal)",
            met=None,
        )
        for p in ("p50", "p99")
    ]
    return [rate_fig, *latency]
