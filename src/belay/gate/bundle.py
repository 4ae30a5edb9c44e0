"""gatecheck bundles: a ``.tar.gz`` of flat files plus ``gatecheck-manifest.json``.

Reading happens in memory and refuses, rather than unpacks, anything unsafe: entries that are
not regular files (links, devices, directories), names with a path in them (``../x``, ``a/b``,
absolute), duplicate names, more than ``max_entries`` entries, more than ``max_total_bytes``
unpacked, or a compression ratio that only a bomb has. Those are :class:`BundleError` (bad
input). Problems of content (no manifest, a file missing from or not listed in the manifest, a
digest mismatch) are recorded on the :class:`Bundle` as failing checks ``bundle.manifest`` and
``bundle.digest``, so the verdict shows them.

The ``portage-config.json`` entry (a dump of Portage's config) may hold a webhook secret: its
secret-looking values are registered with :mod:`belay.redact` and only a redacted copy is kept.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from belay import jsonio
from belay.gate.errors import BundleError
from belay.gate.verdict import Reason
from belay.redact import REDACTED, is_secret_key, redact_data, register_secret

__all__ = [
    "MANIFEST_NAME",
    "Bundle",
    "BundleLimits",
    "BundleManifest",
    "GitContext",
    "ManifestFile",
    "bundle_tag",
    "read_bundle",
    "write_bundle",
]

MANIFEST_NAME = "gatecheck-manifest.json"
PORTAGE_CONFIG_TAG = "type:portage-config"
GATECHECK_CONFIG_TAG = "type:gatecheck-config"


class BundleLimits(BaseModel):
    """Bounds on what a bundle may unpack to (defaults fit real Portage bundles with room)."""

    model_config = ConfigDict(frozen=True)

    max_compressed_bytes: int = 128 * 1024 * 1024
    max_total_bytes: int = 512 * 1024 * 1024
    max_entries: int = 64
    max_ratio: float = 200.0
    ratio_floor_bytes: int = 8 * 1024 * 1024


class ManifestFile(BaseModel):
    """One ``files`` entry of the manifest."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    digest: str
    tags: list[str] | None = None
    added_at: str | None = Field(default=None, alias="addedAt")


class GitContext(BaseModel):
    """The manifest's ``context`` (easy-up fork): the scanned commit and where it came from."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    commit_hash: str | None = Field(default=None, alias="commitHash")
    commit_date: str | None = Field(default=None, alias="commitDate")
    branch: str | None = None
    remote: str | None = None


class BundleManifest(BaseModel):
    """``gatecheck-manifest.json``."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    version: str | None = None
    created_at: str | None = Field(default=None, alias="createdAt")
    files: dict[str, ManifestFile]
    context: GitContext | None = None


class Bundle(BaseModel):
    """A bundle read in memory: its entries (label → bytes), manifest and integrity checks.

    ``entries`` never holds ``portage-config.json`` (only ``portage_config``, redacted).
    ``declared_policy`` is the bundle's own ``gatecheck-config.yml``: recorded, never applied.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    manifest: BundleManifest | None
    entries: dict[str, bytes]
    tags: dict[str, tuple[str, ...]] = {}
    checks: tuple[Reason, ...] = ()
    portage_config: Any = None
    declared_policy: str | None = None

    def report_entries(self) -> list[tuple[str, bytes]]:
        """The entries to parse as reports (everything but the configuration entries)."""
        return [
            (label, data)
            for label, data in self.entries.items()
            if label != MANIFEST_NAME and label != self._declared_policy_label()
        ]

    def _declared_policy_label(self) -> str | None:
        for label, tags in self.tags.items():
            if GATECHECK_CONFIG_TAG in tags:
                return label
        return "gatecheck-config.yml" if "gatecheck-config.yml" in self.entries else None


def _gunzip(data: bytes, name: str, limits: BundleLimits) -> bytes:
    if len(data) > limits.max_compressed_bytes:
        raise BundleError(name, f"larger than {limits.max_compressed_bytes} bytes")
    if data[:2] != b"\x1f\x8b":
        raise BundleError(name, "not a gzip file")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = io.BytesIO()
    chunk = 1024 * 1024
    pending = data
    try:
        while pending:
            piece = inflater.decompress(pending, chunk)
            out.write(piece)
            size = out.tell()
            if size > limits.max_total_bytes:
                raise BundleError(name, f"unpacks to more than {limits.max_total_bytes} bytes")
            if size > limits.ratio_floor_bytes and size > limits.max_ratio * len(data):
                raise BundleError(
                    name, f"compression ratio above {limits.max_ratio:g} (refused as a bomb)"
                )
            pending = inflater.unconsumed_tail
            if inflater.eof:
                break
        out.write(inflater.flush())
    except zlib.error as err:
        raise BundleError(name, f"broken gzip data: {err}") from None
    if not inflater.eof:
        raise BundleError(name, "truncated gzip data")
    if inflater.unused_data.strip(b"\x00"):
        raise BundleError(name, "data after the end of the gzip stream")
    return out.getvalue()


def _safe_label(member: tarfile.TarInfo, name: str) -> str:
    label = member.name
    if label.startswith("./"):
        label = label[2:]
    if (
        not label
        or label in (".", "..")
        or "/" in label
        or "\\" in label
        or "\x00" in label
        or label.startswith("~")
    ):
        raise BundleError(name, f"entry {member.name!r} is not a plain file name")
    if not member.isreg():
        raise BundleError(name, f"entry {member.name!r} is not a regular file (links refused)")
    return label


def _untar(raw: bytes, name: str, limits: BundleLimits) -> dict[str, bytes]:
    entries: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
            for count, member in enumerate(archive, start=1):
                if count > limits.max_entries:
                    raise BundleError(name, f"more than {limits.max_entries} entries")
                label = _safe_label(member, name)
                if label in entries:
                    raise BundleError(name, f"entry {label!r} appears twice")
                handle = archive.extractfile(member)
                if handle is None:  # pragma: no cover - regular files always have data
                    raise BundleError(name, f"entry {label!r} has no data")
                entries[label] = handle.read()
    except (tarfile.TarError, EOFError, OSError, ValueError, UnicodeError) as err:
        raise BundleError(name, f"not a readable tar archive: {err}") from None
    return entries


def _normal_digest(value: str) -> str:
    value = value.strip().lower()
    return value.removeprefix("sha256:")


def _portage_secret_key(key: str) -> bool:
    # Portage's Go field names: "WebhookAuthHeader" holds the raw Authorization value.
    lowered = key.lower()
    return is_secret_key(key) or "authheader" in lowered or lowered.endswith("auth")


def _scrub_portage(data: Any) -> Any:
    if isinstance(data, dict):
        cleaned: dict[Any, Any] = {}
        for key, value in data.items():
            if isinstance(key, str) and _portage_secret_key(key) and value not in (None, ""):
                if isinstance(value, str):
                    register_secret(value)
                cleaned[key] = REDACTED
            else:
                cleaned[key] = _scrub_portage(value)
        return cleaned
    if isinstance(data, list):
        return [_scrub_portage(item) for item in data]
    return redact_data(data)


def _portage_config(data: bytes) -> Any:
    try:
        parsed = jsonio.loads(data)
    except ValueError:
        return {"unreadable": True}
    return _scrub_portage(parsed)


def read_bundle(data: bytes, name: str, *, limits: BundleLimits | None = None) -> Bundle:
    """Read a gatecheck bundle from bytes, check it against its manifest, and return it."""
    limits = limits or BundleLimits()
    entries = _untar(_gunzip(data, name, limits), name, limits)
    checks: list[Reason] = []
    manifest: BundleManifest | None = None
    raw_manifest = entries.pop(MANIFEST_NAME, None)
    if raw_manifest is None:
        checks.append(
            Reason(rule="bundle.manifest", status="fail", message=f"{name} has no {MANIFEST_NAME}")
        )
    else:
        try:
            manifest = BundleManifest.model_validate(jsonio.loads(raw_manifest))
        except (ValueError, ValidationError) as err:
            first = err.errors()[0] if isinstance(err, ValidationError) else None
            why = (
                f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
                if first
                else "not valid JSON"
            )
            checks.append(
                Reason(
                    rule="bundle.manifest",
                    status="fail",
                    message=f"{name}: {MANIFEST_NAME} is not a gatecheck manifest ({why})",
                )
            )

    tags: dict[str, tuple[str, ...]] = {}
    if manifest is not None:
        listed = set(manifest.files)
        present = set(entries)
        missing = sorted(listed - present)
        extra = sorted(present - listed)
        problems = []
        if missing:
            problems.append(f"listed but missing: {', '.join(missing)}")
        if extra:
            problems.append(f"not in the manifest: {', '.join(extra)}")
        checks.append(
            Reason(
                rule="bundle.manifest",
                status="fail" if problems else "pass",
                message=f"{name}: " + ("; ".join(problems) if problems else f"{len(listed)} files"),
            )
        )
        mismatched = []
        for label in sorted(listed & present):
            actual = hashlib.sha256(entries[label]).hexdigest()
            if actual != _normal_digest(manifest.files[label].digest):
                mismatched.append(label)
            tags[label] = tuple(manifest.files[label].tags or ())
        checks.append(
            Reason(
                rule="bundle.digest",
                status="fail" if mismatched else "pass",
                message=(
                    f"{name}: SHA-256 does not match the manifest for {', '.join(mismatched)}"
                    if mismatched
                    else f"{name}: every SHA-256 matches the manifest"
                ),
            )
        )

    portage = None
    for label in list(entries):
        if label == "portage-config.json" or PORTAGE_CONFIG_TAG in tags.get(label, ()):
            portage = _portage_config(entries.pop(label))
    declared = None
    for label, payload in entries.items():
        if label == "gatecheck-config.yml" or GATECHECK_CONFIG_TAG in tags.get(label, ()):
            declared = payload.decode("utf-8", errors="replace")
    return Bundle(
        name=name,
        manifest=manifest,
        entries=entries,
        tags=tags,
        checks=tuple(checks),
        portage_config=portage,
        declared_policy=declared,
    )


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def write_bundle(
    files: Sequence[tuple[str, bytes, Sequence[str]]],
    *,
    created_at: datetime,
    commit: str | None = None,
    branch: str | None = None,
    remote: str | None = None,
    commit_date: str | None = None,
) -> bytes:
    """Build a gatecheck bundle (``.tar.gz`` bytes) from ``(label, data, tags)`` triples.

    The manifest lists each file with its SHA-256, tags and ``addedAt``; ``context`` is written
    when a commit is given, as the easy-up gatecheck fork does.
    """
    stamp = _rfc3339(created_at)
    labels = [label for label, _, _ in files]
    if len(set(labels)) != len(labels):
        raise BundleError("bundle", "two files have the same name")
    manifest: dict[str, Any] = {"version": "1", "createdAt": stamp, "files": {}}
    for label, data, file_tags in files:
        if "/" in label or label in ("", ".", "..", MANIFEST_NAME):
            raise BundleError(label, "not usable as a bundle entry name")
        manifest["files"][label] = {
            "addedAt": stamp,
            "properties": {},
            "tags": list(file_tags),
            "digest": hashlib.sha256(data).hexdigest(),
        }
    if commit:
        manifest["context"] = {
            "commitHash": commit,
            "commitDate": commit_date or "",
            "branch": branch or "",
            "remote": remote or "",
            "status": [],
        }
    mtime = int(created_at.timestamp())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for label, data in [(MANIFEST_NAME, jsonio.dumps(manifest, indent=True))] + [
            (label, data) for label, data, _ in files
        ]:
            info = tarfile.TarInfo(label)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = mtime
            archive.addfile(info, io.BytesIO(data))
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(buffer.getvalue()) + compressor.flush()


_TYPE_TAGS = {
    "grype": "type:grype",
    "semgrep": "type:semgrep",
    "gitleaks": "type:gitleaks",
    "clamav": "type:clamscan",
    "coverage": "type:coverage",
    "sarif": "type:sarif",
    "trivy": "type:trivy",
}


def bundle_tag(kind: str, producer: str) -> str:
    """The tag Portage gives a report of this kind (a syft CycloneDX SBOM is ``type:syft``)."""
    if kind == "cyclonedx":
        return "type:syft" if producer == "syft" else "type:cyclonedx"
    return _TYPE_TAGS.get(kind, f"type:{kind}")
