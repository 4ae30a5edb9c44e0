"""Threat data for the gate: the CISA KEV catalog and EPSS scores, read from local files.

Both are read once and handed to the (pure) evaluation; nothing is fetched at decision time.
:func:`parse_kev` reads the CISA JSON feed (``vulnerabilities[].cveID``); :func:`parse_epss`
reads FIRST's CSV (``cve,epss,percentile``, optional ``#model_version...`` comment line, plain or
gzip). Errors are :class:`~belay.gate.errors.GateError` values naming the file.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import zlib
from pathlib import Path

import msgspec
from pydantic import BaseModel, ConfigDict

from belay.gate.errors import GateError

__all__ = ["EpssScores", "Intel", "KevCatalog", "load_intel", "parse_epss", "parse_kev"]

_MAX_DATA_BYTES = 512 * 1024 * 1024


class KevCatalog(BaseModel):
    """The CVE ids in CISA's Known Exploited Vulnerabilities catalog."""

    model_config = ConfigDict(frozen=True)

    version: str = ""
    cves: frozenset[str]
    sha256: str = ""
    """Hex SHA-256 of the file as read (named in signed verdicts)."""


class EpssScores(BaseModel):
    """EPSS probability per CVE id."""

    model_config = ConfigDict(frozen=True)

    score_date: str = ""
    scores: dict[str, float]
    sha256: str = ""
    """Hex SHA-256 of the file as read (gzip or plain; named in signed verdicts)."""


class Intel(BaseModel):
    """What the evaluation knows: KEV and EPSS when loaded, and why not when a load failed."""

    model_config = ConfigDict(frozen=True)

    kev: KevCatalog | None = None
    epss: EpssScores | None = None
    kev_problem: str | None = None
    epss_problem: str | None = None


class _KevEntry(msgspec.Struct):
    cveID: str


class _KevDocument(msgspec.Struct):
    vulnerabilities: list[_KevEntry]
    catalogVersion: str | None = None


def parse_kev(data: bytes, name: str) -> KevCatalog:
    """Parse the CISA KEV JSON feed."""
    try:
        doc = msgspec.json.decode(data, type=_KevDocument)
    except msgspec.DecodeError as err:
        raise GateError(f"{name}: not a CISA KEV catalog: {err}") from None
    return KevCatalog(
        version=doc.catalogVersion or "",
        cves=frozenset(v.cveID.upper() for v in doc.vulnerabilities),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def parse_epss(data: bytes, name: str) -> EpssScores:
    """Parse an EPSS CSV (gzip or plain)."""
    digest = hashlib.sha256(data).hexdigest()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise GateError(f"{name}: broken gzip: {err}") from None
    text = data.decode("utf-8", errors="replace")
    score_date = ""
    lines = text.splitlines()
    if lines and lines[0].startswith("#"):
        for part in lines[0].lstrip("#").split(","):
            key, _, value = part.partition(":")
            if key.strip() == "score_date":
                score_date = value.strip()
        lines = lines[1:]
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header[:2]] != ["cve", "epss"]:
        raise GateError(f"{name}: not an EPSS CSV (expected a 'cve,epss,...' header)")
    scores: dict[str, float] = {}
    for number, row in enumerate(reader, start=2):
        if not row:
            continue
        try:
            score = float(row[1])
        except (IndexError, ValueError):
            raise GateError(f"{name}: line {number}: no EPSS score") from None
        if not 0.0 <= score <= 1.0:
            raise GateError(f"{name}: line {number}: EPSS score {score} is outside 0..1")
        scores[row[0].strip().upper()] = score
    return EpssScores(score_date=score_date, scores=scores, sha256=digest)


def _read(path: Path) -> bytes:
    if path.stat().st_size > _MAX_DATA_BYTES:
        raise GateError(f"{path}: larger than {_MAX_DATA_BYTES} bytes")
    return path.read_bytes()


def load_intel(kev_path: Path | None, epss_path: Path | None) -> Intel:
    """Load the named files; a file that cannot be read is recorded, not raised.

    The evaluation then fails closed on the rules that needed it (a KEV limit without a
    catalog fails; EPSS acceptance without scores accepts nothing).
    """
    kev = epss = None
    kev_problem = epss_problem = None
    if kev_path is not None:
        try:
            kev = parse_kev(_read(kev_path), str(kev_path))
        except OSError as err:
            kev_problem = f"KEV catalog {kev_path} cannot be read ({err.strerror or err})"
        except GateError as err:
            kev_problem = str(err)
    if epss_path is not None:
        try:
            epss = parse_epss(_read(epss_path), str(epss_path))
        except OSError as err:
            epss_problem = f"EPSS file {epss_path} cannot be read ({err.strerror or err})"
        except GateError as err:
            epss_problem = str(err)
    return Intel(kev=kev, epss=epss, kev_problem=kev_problem, epss_problem=epss_problem)
