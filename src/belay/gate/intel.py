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
from pydantic import BaseModel, ConfigDict, Field

from belay.gate.errors import GateError

__all__ = [
    "DataFile",
    "EpssScores",
    "Intel",
    "KevCatalog",
    "intel_from_files",
    "load_intel",
    "parse_epss",
    "parse_kev",
    "read_data_files",
]

_MAX_DATA_BYTES = 512 * 1024 * 1024


class KevCatalog(BaseModel):
    """The CVE ids in CISA's Known Exploited Vulnerabilities catalog."""

    model_config = ConfigDict(frozen=True)

    version: str = ""
    cves: frozenset[str]


class EpssScores(BaseModel):
    """EPSS probability per CVE id."""

    model_config = ConfigDict(frozen=True)

    score_date: str = ""
    scores: dict[str, float]


class Intel(BaseModel):
    """What the evaluation knows: KEV and EPSS when loaded, and why not when a load failed."""

    model_config = ConfigDict(frozen=True)

    kev: KevCatalog | None = None
    epss: EpssScores | None = None
    kev_problem: str | None = None
    epss_problem: str | None = None
    kev_sha256: str | None = None
    """SHA-256 of the KEV file as read (what a decision records, and what a replay looks up)."""
    epss_sha256: str | None = None

    def digests(self) -> dict[str, str]:
        """The digests of the data files that were loaded, by kind (``kev``, ``epss``)."""
        found = {"kev": self.kev_sha256, "epss": self.epss_sha256}
        return {kind: digest for kind, digest in found.items() if digest}


class DataFile(BaseModel):
    """One KEV or EPSS file as read: its kind, where it came from, its bytes and their digest."""

    model_config = ConfigDict(frozen=True)

    kind: str
    name: str
    content: bytes = Field(repr=False)
    sha256: str


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
    )


def parse_epss(data: bytes, name: str) -> EpssScores:
    """Parse an EPSS CSV (gzip or plain)."""
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
    return EpssScores(score_date=score_date, scores=scores)


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise GateError(f"{path}: not a regular file")
    if path.stat().st_size > _MAX_DATA_BYTES:
        raise GateError(f"{path}: larger than {_MAX_DATA_BYTES} bytes")
    with path.open("rb") as handle:
        data = handle.read(_MAX_DATA_BYTES + 1)
    if len(data) > _MAX_DATA_BYTES:
        raise GateError(f"{path}: larger than {_MAX_DATA_BYTES} bytes")
    return data


def read_data_files(
    kev_path: Path | None, epss_path: Path | None
) -> tuple[dict[str, DataFile], dict[str, str]]:
    """Read the named files: what was read, by kind, and why a file could not be, by kind."""
    files: dict[str, DataFile] = {}
    problems: dict[str, str] = {}
    for kind, label, path in (("kev", "KEV catalog", kev_path), ("epss", "EPSS file", epss_path)):
        if path is None:
            continue
        try:
            content = _read(path)
        except OSError as err:
            problems[kind] = f"{label} {path} cannot be read ({err.strerror or err})"
        except GateError as err:
            problems[kind] = str(err)
        else:
            digest = hashlib.sha256(content).hexdigest()
            files[kind] = DataFile(kind=kind, name=str(path), content=content, sha256=digest)
    return files, problems


def intel_from_files(files: dict[str, DataFile], problems: dict[str, str] | None = None) -> Intel:
    """Parse KEV and EPSS files already read; a file that does not parse is recorded, not raised.

    The evaluation then fails closed on the rules that needed it (a KEV limit without a
    catalog fails; EPSS acceptance without scores accepts nothing).
    """
    found = dict(problems or {})
    kev = epss = None
    kev_file, epss_file = files.get("kev"), files.get("epss")
    if kev_file is not None:
        try:
            kev = parse_kev(kev_file.content, kev_file.name)
        except GateError as err:
            found["kev"] = str(err)
    if epss_file is not None:
        try:
            epss = parse_epss(epss_file.content, epss_file.name)
        except GateError as err:
            found["epss"] = str(err)
    return Intel(
        kev=kev,
        epss=epss,
        kev_problem=found.get("kev"),
        epss_problem=found.get("epss"),
        kev_sha256=kev_file.sha256 if kev is not None and kev_file is not None else None,
        epss_sha256=epss_file.sha256 if epss is not None and epss_file is not None else None,
    )


def load_intel(kev_path: Path | None, epss_path: Path | None) -> Intel:
    """Read and parse the named files (see :func:`intel_from_files`)."""
    return intel_from_files(*read_data_files(kev_path, epss_path))
