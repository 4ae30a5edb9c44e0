"""The gate's cost under hostile bundles: a 100,000-file manifest and a 500 MiB inflation bomb.

* ``hostile.manifest_100k``: a bundle whose manifest lists 100,000 files, posted to ``belay
  serve`` (SQLite, no worker). Its answer time (best of three) and size, with the answer time of
  an ordinary Portage bundle to the same server as the reference.
* ``hostile.bomb_peak``: the peak memory of reading a bundle that inflates to 500 MiB at a ratio
  of about 120 (under the ratio check, so only the size limits stop it), in a process of its
  own: the growth of the peak resident set over the process's size once the upload is in
  memory, against twice the configured inflation limit. Two layouts: one 500 MiB entry, and
  four entries of 125 MiB (each under the per-entry limit, together over the total).
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

import httpx

from belay import jsonio
from belay.config.settings import IntakeSettings
from benchmarks.common import (
    BELAY,
    CONTENT_TYPE,
    TOKEN,
    Figure,
    commit_for,
    failed,
    free_port,
    make_bundles,
    multipart_body,
    project_yaml,
    server_process,
    settings_yaml,
)

REMOTE = "https://gitlab.com/bench/hostile-app.git"
ANSWER_SECONDS_GOAL = 1.0
ANSWER_BYTES_GOAL = 64 * 1024
_MIB = 1024 * 1024


def _manifest_bundle(files: int) -> bytes:
    listed = {f"report-{i:06d}.json": {"digest": "0" * 64, "tags": []} for i in range(files)}
    manifest = jsonio.dumps(
        {
            "version": "1",
            "files": listed,
            "context": {"commitHash": commit_for(1), "branch": "main", "remote": REMOTE},
        }
    )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("gatecheck-manifest.json")
        info.size = len(manifest)
        archive.addfile(info, io.BytesIO(manifest))
    return gzip.compress(buffer.getvalue())


def _timed_post(client: httpx.Client, url: str, body: bytes) -> tuple[float, httpx.Response]:
    start = time.perf_counter()
    response = client.post(
        url,
        content=body,
        headers={"Content-Type": CONTENT_TYPE, "Authorization": f"Bearer {TOKEN}"},
    )
    return time.perf_counter() - start, response


def _manifest_figure() -> Figure:
    name, unit = "hostile.manifest_100k", "s"
    goal = f"< {ANSWER_SECONDS_GOAL:g} s, answer < 64 KB"
    files = 100_000
    hostile = multipart_body(_manifest_bundle(files))
    ordinary = [multipart_body(b) for b in make_bundles(4, [REMOTE])]
    with tempfile.TemporaryDirectory(prefix="belay-bench-hostile-") as tmp:
        work = Path(tmp)
        config = work / "belay.yaml"
        config.write_text(
            settings_yaml(f"sqlite:///{work / 'h.db'}", [project_yaml("h", REMOTE, "h")])
        )
        port = free_port()
        argv = [BELAY, "serve", "--config", str(config), "--port", str(port), "--no-worker"]
        url = f"http://127.0.0.1:{port}/Build/SubmitArtifacts"
        with (
            server_process(argv, port=port, log=work / "serve.log"),
            httpx.Client(timeout=60) as client,
        ):
            reference = min(_timed_post(client, url, body)[0] for body in ordinary[:3])
            timings, sizes = [], []
            for _ in range(3):
                seconds, response = _timed_post(client, url, hostile)
                if response.status_code != 200:
                    return failed(name, unit, goal, f"answered {response.status_code}")
                timings.append(seconds)
                sizes.append(len(response.content))
    best = min(timings)
    met = best < ANSWER_SECONDS_GOAL and max(sizes) < ANSWER_BYTES_GOAL
    return Figure(
        name=name,
        value=round(best, 3),
        unit=unit,
        goal=goal,
        met=met,
        reference=round(reference, 4),
        ratio=round(best / reference, 1),
        note=f"manifest of {files:,} files in a {len(hostile) // 1024} KB upload; answer "
        f"{max(sizes):,} bytes; reference: an ordinary bundle's answer",
        details={"answer_bytes": max(sizes), "upload_bytes": len(hostile)},
    )


def _bomb(path: Path, entries: int, total_mib: int) -> None:
    """A .tar.gz inflating to ``total_mib`` MiB in ``entries`` entries, ratio about 120."""
    size = total_mib // entries * _MIB
    chunk = os.urandom(8 * 1024) + bytes(_MIB - 8 * 1024)
    compressor = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    with path.open("wb") as out:
        for n in range(entries):
            info = tarfile.TarInfo(f"grype-{n}.json")
            info.size = size
            out.write(compressor.compress(info.tobuf(format=tarfile.PAX_FORMAT)))
            for _ in range(size // _MIB):
                out.write(compressor.compress(chunk))
        out.write(compressor.compress(bytes(1024)))  # end-of-archive blocks
        out.write(compressor.flush())


_CHILD = """
import resource, sys
from belay.gate import BundleError, read_bundle
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    read_bundle(data, "bomb.tgz")
    outcome = "read"
except BundleError as err:
    outcome = str(err)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((peak - before) * 1024, outcome, sep="\\t")
"""


def _bomb_figure(entries: int) -> Figure:
    limit = IntakeSettings().max_inflated_bytes
    name, unit = f"hostile.bomb_peak.{entries}_entries", "MiB"
    goal = f"< {2 * limit // _MIB} MiB (2 x max_inflated_bytes)"
    with tempfile.TemporaryDirectory(prefix="belay-bench-bomb-") as tmp:
        path = Path(tmp) / "bomb.tgz"
        _bomb(path, entries, 500)
        result = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        compressed = path.stat().st_size
    if result.returncode != 0:
        return failed(name, unit, goal, result.stderr.strip().splitlines()[-1][:200])
    grown, outcome = result.stdout.strip().split("\t", 1)
    value = int(grown) / _MIB
    return Figure(
        name=name,
        value=round(value, 1),
        unit=unit,
        goal=goal,
        met=value < 2 * limit / _MIB and outcome != "read",
        note=f"{compressed // 1024} KB inflating to 500 MiB in {entries} entries: {outcome[:120]}",
    )


def measure(quick: bool) -> list[Figure]:
    """Both figures (``quick`` changes nothing: each takes seconds)."""
    del quick
    return [_manifest_figure(), _bomb_figure(1), _bomb_figure(4)]
