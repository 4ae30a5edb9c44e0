"""gatecheck bundles: a ``.tar.gz`` of flat files plus ``gatecheck-manifest.json``.

Reading happens in memory (:mod:`belay.gate.archive`) and refuses, rather than unpacks, anything
unsafe or too big: those are :class:`BundleError` (bad input). Problems of content (no manifest,
a manifest listing more files than a bundle may hold, a file missing from or not listed in the
manifest, a digest mismatch, JSON nested too deep) are failing checks ``bundle.manifest`` and
``bundle.digest`` on the :class:`Bundle`, so the verdict shows them.

Two entries are configuration, not reports, and are never judged: Portage's
``portage-config.json`` and the policy Portage used, ``gatecheck-config.yml``. Each is taken as
configuration only under the file name Portage writes *and* when its content has the shape of
that configuration; a tag (``type:portage-config``, ``type:gatecheck-config``) on any other entry
is ignored and the entry is judged like every other, so a tag cannot hide a report.

``portage-config.json`` may hold a webhook secret (``WebhookAuthHeader``) and registry passwords.
Its secret-looking values are this bundle's own business: they are redacted from this bundle's
stored copy (:attr:`Bundle.stored_copy`) and from its kept configuration, and never registered
with the process-wide redaction (one submitter's values must not black out another's verdicts).
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import zlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from belay import jsonio
from belay.gate.archive import BundleLimits, read_tar_gz
from belay.gate.errors import BundleError, ReportError, clip
from belay.gate.reports import detect_kind
from belay.gate.reports._common import parse_time
from belay.gate.verdict import Reason
from belay.redact import REDACTED, is_secret_key, redact_data, redact_text

__all__ = [
    "MANIFEST_NAME",
    "Bundle",
    "BundleLimits",
    "BundleManifest",
    "GitContext",
    "ManifestFile",
    "bundle_tag",
    "name_list",
    "read_bundle",
    "write_bundle",
]

MANIFEST_NAME = "gatecheck-manifest.json"
PORTAGE_CONFIG_NAME = "portage-config.json"
GATECHECK_CONFIG_NAMES = frozenset({"gatecheck-config.yml", "gatecheck-config.yaml"})
# The top-level keys of a gatecheck policy (gatecheck's config and Belay's extension).
_GATECHECK_KEYS = frozenset(
    {
        "version",
        "metadata",
        "grype",
        "cyclonedx",
        "semgrep",
        "gitleaks",
        "coverage",
        "api",
        "belay",
        "branches",
    }
)
# A configuration entry is small; a bigger one is not taken for configuration (it is judged).
_MAX_CONFIG_BYTES = 1024 * 1024
_MAX_POLICY_BYTES = 64 * 1024
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NAMES_SHOWN = 5
_NAME_MAPS = frozenset({"files"})
_MAX_MANIFEST_BYTES = 4 * 1024 * 1024


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

    ``entries`` holds the entries to judge: never the manifest or a configuration entry.
    ``portage_config`` is Portage's configuration, redacted; ``declared_policy`` the bundle's own
    ``gatecheck-config.yml`` (recorded, never applied). ``stored_copy`` is the bundle as it may
    be kept: the upload itself, or, when it carried a configuration secret, a copy rebuilt with
    that secret redacted (the manifest's digests updated to match the redacted entries).
    """

    model_config = ConfigDict(frozen=True)

    name: str
    manifest: BundleManifest | None
    entries: dict[str, bytes] = Field(repr=False)
    tags: dict[str, tuple[str, ...]] = {}
    checks: tuple[Reason, ...] = ()
    portage_config: Any = None
    declared_policy: str | None = None
    stored_copy: bytes = Field(default=b"", repr=False)

    def report_entries(self) -> list[tuple[str, bytes]]:
        """The entries to parse as reports."""
        return list(self.entries.items())


def name_list(labels: Sequence[str], limit: int = _NAMES_SHOWN) -> str:
    """At most ``limit`` names, then how many more: a message stays short whatever is sent."""
    shown = ", ".join(clip(label) for label in labels[:limit])
    if len(labels) > limit:
        shown += f" and {len(labels) - limit} more"
    return shown


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """True when ``value`` (parsed JSON) nests containers more than ``limit`` levels deep."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _normal_digest(value: str) -> str:
    value = value.strip().lower()
    return value.removeprefix("sha256:")


def _portage_secret_key(key: str) -> bool:
    # Portage's Go field names: "WebhookAuthHeader" holds the raw Authorization value.
    lowered = key.lower()
    return is_secret_key(key) or "authheader" in lowered or lowered.endswith("auth")


def _scrub_portage(data: Any) -> Any:
    """A redacted copy of Portage's configuration (recursive: the caller checked the depth)."""
    if isinstance(data, dict):
        cleaned: dict[Any, Any] = {}
        for key, value in data.items():
            if isinstance(key, str) and _portage_secret_key(key) and value not in (None, ""):
                cleaned[key] = REDACTED
            else:
                cleaned[key] = _scrub_portage(value)
        return cleaned
    if isinstance(data, list):
        return [_scrub_portage(item) for item in data]
    return redact_data(data)


def _portage_config(data: bytes, limits: BundleLimits) -> Any:
    """Portage's configuration, redacted, with its secret values; ``None`` if not its shape.

    The shape: a JSON object, not nested too deep, that no report parser recognises.
    """
    if len(data) > _MAX_CONFIG_BYTES:
        return None
    try:
        parsed = jsonio.loads(data)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or json_depth_exceeds(parsed, limits.max_json_depth):
        return None
    try:
        detect_kind(data, PORTAGE_CONFIG_NAME)
    except ReportError:
        return _scrub_portage(parsed)
    return None


def _is_gatecheck_config(data: bytes) -> bool:
    """The shape of a gatecheck policy: a YAML mapping of gatecheck's top-level keys only.

    Only small entries are tried (real ones are a few kilobytes), with the C loader where
    there is one: YAML parsing in Python is slow enough to be a cost an upload could impose.
    """
    if len(data) > _MAX_POLICY_BYTES:
        return False
    try:
        parsed = yaml.load(data, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    except (yaml.YAMLError, UnicodeError, RecursionError):
        return False
    return (
        isinstance(parsed, dict)
        and bool(parsed)
        and all(isinstance(k, str) and k in _GATECHECK_KEYS for k in parsed)
    )


def _manifest_check(name: str, raw: bytes, limits: BundleLimits) -> BundleManifest | Reason:
    """The manifest, or the failing ``bundle.manifest`` check that says why it is not usable."""

    def fail(why: str) -> Reason:
        return Reason(rule="bundle.manifest", status="fail", message=f"{name}: {why}")

    if len(raw) > _MAX_MANIFEST_BYTES:
        # Real manifests are a few kilobytes; a bigger one would be stored and shown whole.
        return fail(f"{MANIFEST_NAME} is larger than {_MAX_MANIFEST_BYTES // 1024 // 1024} MiB")
    try:
        parsed = jsonio.loads(raw)
    except ValueError:
        return fail(f"{MANIFEST_NAME} is not valid JSON (or nested too deep)")
    if json_depth_exceeds(parsed, limits.max_json_depth):
        return fail(f"{MANIFEST_NAME} is nested more than {limits.max_json_depth} levels deep")
    files = parsed.get("files") if isinstance(parsed, dict) else None
    if isinstance(files, dict) and len(files) > limits.max_entries:
        return fail(
            f"{MANIFEST_NAME} lists {len(files)} files, more than a bundle may hold "
            f"({limits.max_entries})"
        )
    try:
        return BundleManifest.model_validate(parsed)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(clip(str(p), 40) for p in first["loc"])
        return fail(f"{MANIFEST_NAME} is not a gatecheck manifest ({where}: {first['msg']})")


def _stored_copy(
    entries: dict[str, bytes],
    manifest_raw: bytes | None,
    replaced: dict[str, bytes],
    created: datetime | None,
) -> bytes:
    """The bundle rebuilt for storage: configuration entries as ``replaced`` (redacted), the
    manifest's strings redacted (a remote with a CI job token in it) and its digests updated
    to match; the judged entries exactly as sent, so a replay judges what the intake judged."""
    manifest_out = manifest_raw
    if manifest_raw is not None:
        try:
            parsed = jsonio.loads(manifest_raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            listed = parsed.get("files")
            if isinstance(listed, dict):
                for label, data in replaced.items():
                    entry = listed.get(label)
                    # Only a digest that matched what was sent follows the redacted entry; a
                    # wrong one stays wrong, so the copy is judged as the upload was.
                    if (
                        isinstance(entry, dict)
                        and isinstance(entry.get("digest"), str)
                        and label in entries
                        and _normal_digest(entry["digest"])
                        == hashlib.sha256(entries[label]).hexdigest()
                    ):
                        entry["digest"] = hashlib.sha256(data).hexdigest()
            manifest_out = jsonio.dumps(redact_data(parsed, name_maps=_NAME_MAPS), indent=True)
        else:
            manifest_out = redact_text(manifest_raw.decode("utf-8", errors="replace")).encode()
    members = ([(MANIFEST_NAME, manifest_out)] if manifest_out is not None else []) + list(
        {**entries, **replaced}.items()
    )
    return _pack(members, created or datetime.now(UTC), level=1)


def _needs_rebuild(manifest_raw: bytes | None) -> bool:
    """True when the manifest holds something redaction would change (a token in a URL)."""
    if manifest_raw is None:
        return False
    text = manifest_raw.decode("utf-8", errors="replace")
    return redact_text(text) != text


def read_bundle(data: bytes, name: str, *, limits: BundleLimits | None = None) -> Bundle:
    """Read a gatecheck bundle from bytes, check it against its manifest, and return it."""
    limits = limits or BundleLimits()
    entries = read_tar_gz(data, name, limits)
    checks: list[Reason] = []
    manifest: BundleManifest | None = None
    raw_manifest = entries.pop(MANIFEST_NAME, None)
    sent = dict(entries)
    if raw_manifest is None:
        checks.append(
            Reason(rule="bundle.manifest", status="fail", message=f"{name} has no {MANIFEST_NAME}")
        )
    else:
        found = _manifest_check(name, raw_manifest, limits)
        if isinstance(found, Reason):
            checks.append(found)
        else:
            manifest = found

    tags: dict[str, tuple[str, ...]] = {}
    if manifest is not None:
        listed = set(manifest.files)
        present = set(entries)
        missing = sorted(listed - present)
        extra = sorted(present - listed)
        problems = []
        if missing:
            problems.append(f"listed but missing: {name_list(missing)}")
        if extra:
            problems.append(f"not in the manifest: {name_list(extra)}")
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
                    f"{name}: SHA-256 does not match the manifest for {name_list(mismatched)}"
                    if mismatched
                    else f"{name}: every SHA-256 matches the manifest"
                ),
            )
        )

    portage = None
    replaced: dict[str, bytes] = {}
    config_data = entries.get(PORTAGE_CONFIG_NAME)
    if config_data is not None:
        found_config = _portage_config(config_data, limits)
        if found_config is not None:
            portage = found_config
            entries.pop(PORTAGE_CONFIG_NAME)
            replaced[PORTAGE_CONFIG_NAME] = jsonio.dumps(portage, indent=True)
    declared = None
    for label in sorted(GATECHECK_CONFIG_NAMES & set(entries)):
        if declared is None and _is_gatecheck_config(entries[label]):
            declared_bytes = entries.pop(label)
            declared = declared_bytes.decode("utf-8", errors="replace")
    created = parse_time(manifest.created_at) if manifest is not None else None
    # Portage's configuration is never stored as sent (a duplicate key can hide a secret from
    # the parsed view), nor a manifest holding a credential: the stored copy is rebuilt.
    rebuild = bool(replaced) or _needs_rebuild(raw_manifest)
    stored = _stored_copy(sent, raw_manifest, replaced, created) if rebuild else data
    return Bundle(
        name=name,
        manifest=manifest,
        entries=entries,
        tags=tags,
        checks=tuple(checks),
        portage_config=portage,
        declared_policy=declared,
        stored_copy=stored,
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
    members = [(MANIFEST_NAME, jsonio.dumps(manifest, indent=True))]
    members += [(label, data) for label, data, _ in files]
    return _pack(members, created_at, level=6)


def _pack(members: Sequence[tuple[str, bytes]], created_at: datetime, *, level: int) -> bytes:
    """A ``.tar.gz`` of flat files, each stamped with ``created_at``."""
    mtime = int(created_at.timestamp())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for label, data in members:
            info = tarfile.TarInfo(label)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = mtime
            archive.addfile(info, io.BytesIO(data))
    compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(buffer.getvalue()) + compressor.flush()


_TYPE_TAGS = {
    "grype": "type:grype",
    "semgrep": "type:semgrep",
    "gitleaks": "type:gitleaks",
    "clamav": "type:clamscan",
    "coverage": "type:coverage",
    "sarif": "type:sarif",
    "trivy": "type:trivy",
    "syft": "type:syft",
    "spdx": "type:spdx",
}


def bundle_tag(kind: str, producer: str) -> str:
    """The tag Portage gives a report of this kind (a syft CycloneDX SBOM is ``type:syft``)."""
    if kind == "cyclonedx":
        return "type:syft" if producer == "syft" else "type:cyclonedx"
    return _TYPE_TAGS.get(kind, f"type:{kind}")
