"""``belay data refresh``: download the CISA KEV catalog and the EPSS scores for offline use.

An adapter beside the gate (it speaks HTTP; the gate itself does no I/O): the files it writes
are the ones :func:`belay.gate.load_intel` reads.

Each download is checked (parsed) before it replaces the previous file, atomically, so a
half-written or wrong file never reaches the gate. Network and HTTP errors are
:class:`DataRefreshError` (exit 1).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import httpx
from pydantic import BaseModel, ConfigDict

from belay.gate import DataRefreshError, GateError, parse_epss, parse_kev

__all__ = [
    "DEFAULT_EPSS_URL",
    "DEFAULT_KEV_URL",
    "EPSS_FILENAME",
    "KEV_FILENAME",
    "RefreshResult",
    "refresh_data",
]

DEFAULT_KEV_URL = (
    "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
)
DEFAULT_EPSS_URL = "https://epss.cyentia.com/epss_scores-current.csv.gz"
KEV_FILENAME = "known_exploited_vulnerabilities.json"
EPSS_FILENAME = "epss_scores-current.csv.gz"
_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_MAX_BYTES = 256 * 1024 * 1024


class RefreshResult(BaseModel):
    """What was written: file paths and a one-line description of each."""

    model_config = ConfigDict(frozen=True)

    kev_path: str
    kev_count: int
    epss_path: str
    epss_count: int


def _fetch(client: httpx.Client, url: str) -> bytes:
    try:
        with client.stream("GET", url) as response:
            if response.status_code >= 400:
                raise DataRefreshError(f"{url}: HTTP {response.status_code}")
            chunks = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > _MAX_BYTES:
                    raise DataRefreshError(f"{url}: larger than {_MAX_BYTES} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as err:
        raise DataRefreshError(f"{url}: {err.__class__.__name__}: {err}") from None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def refresh_data(
    out_dir: Path,
    *,
    kev_url: str = DEFAULT_KEV_URL,
    epss_url: str = DEFAULT_EPSS_URL,
    client: httpx.Client | None = None,
) -> RefreshResult:
    """Download, check and store both files in ``out_dir``."""
    own = client is None
    http = client or httpx.Client(timeout=_TIMEOUT, follow_redirects=True)
    try:
        kev_data = _fetch(http, kev_url)
        epss_data = _fetch(http, epss_url)
    finally:
        if own:
            http.close()
    try:
        kev = parse_kev(kev_data, kev_url)
        epss = parse_epss(epss_data, epss_url)
    except GateError as err:
        raise DataRefreshError(str(err)) from None
    kev_path = out_dir / KEV_FILENAME
    epss_path = out_dir / EPSS_FILENAME
    _write_atomic(kev_path, kev_data)
    _write_atomic(epss_path, epss_data)
    return RefreshResult(
        kev_path=str(kev_path),
        kev_count=len(kev.cves),
        epss_path=str(epss_path),
        epss_count=len(epss.scores),
    )
