"""The integration store ``~/.tracer/integrations.json``: read (version 1 and 2) and write (2).

Version 1 holds one credentials object per record::

    {"version": 1, "integrations": [{"id", "service": "argocd", "status": "active",
                                     "credentials": {...}}]}

Version 2 holds named, tagged instances per record::

    {"version": 2, "integrations": [{"id", "service", "status",
                                     "instances": [{"name", "tags", "credentials": {...}}]}]}

A file without ``version`` is read as version 1. Only ``argocd`` records whose ``status`` is
``active`` count; others are kept untouched when the file is rewritten. Writes are atomic
(temporary file in the same folder, ``fsync``, rename) and the file always has mode 0600.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from belay.config.errors import ConfigError
from belay.config.instance import RawInstance
from belay.config.records import raw_from_entry, register_entry_secrets
from belay.jsonio import JSONDecodeError, dumps, loads

__all__ = [
    "STORE_ENV_VAR",
    "StoreEntry",
    "default_store_path",
    "load_store",
    "store_entries",
    "store_mode_warning",
    "upsert_argocd_instance",
]

STORE_ENV_VAR = "BELAY_INTEGRATIONS_FILE"
SERVICE = "argocd"
_KNOWN_VERSIONS = (1, 2)
_MAX_STORE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class StoreEntry:
    """One Argo CD instance entry found in the store: raw values, or the problem with its shape."""

    name: str
    source: str
    raw: RawInstance | None
    problem: str | None = None


def default_store_path(environ: Mapping[str, str]) -> Path:
    """``BELAY_INTEGRATIONS_FILE`` when set, else ``~/.tracer/integrations.json``."""
    override = environ.get(STORE_ENV_VAR, "").strip()
    if override:
        return Path(override).expanduser()
    return Path.home() / ".tracer" / "integrations.json"


def load_store(path: Path) -> dict[str, Any] | None:
    """The store's JSON object, ``None`` when the file does not exist.

    Raises :class:`ConfigError` naming the file and the problem for an unreadable file, one that
    is not JSON, not an object, has an unknown version, or no ``integrations`` list.
    """
    where = f"integration store {path}"
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_STORE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise ConfigError(f"{where} cannot be read: {err.strerror or type(err).__name__}") from None
    if len(data) > _MAX_STORE_BYTES:
        raise ConfigError(f"{where} is larger than {_MAX_STORE_BYTES} bytes")
    if not data.strip():
        raise ConfigError(f"{where} is empty (expected a JSON object)")
    try:
        document = loads(data)
    except JSONDecodeError as err:
        raise ConfigError(f"{where} is not valid JSON ({_json_position(err)})") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{where} must hold a JSON object with 'version' and 'integrations'")
    # The secrets are registered before any later message could quote a record.
    integrations = document.get("integrations", [])
    if isinstance(integrations, list):
        for record in integrations:
            register_entry_secrets(record)
            if isinstance(record, dict) and isinstance(record.get("instances"), list):
                for entry in record["instances"]:
                    register_entry_secrets(entry)
    version = document.get("version", 1)
    if isinstance(version, bool) or version not in _KNOWN_VERSIONS:
        shown = repr(version) if isinstance(version, int | float) else type(version).__name__
        raise ConfigError(f"{where} has an unknown version {shown} (expected 1 or 2)")
    if not isinstance(integrations, list):
        raise ConfigError(f"{where}: 'integrations' must be a JSON array")
    return document


def store_entries(document: Mapping[str, Any], path: Path) -> list[StoreEntry]:
    """The active Argo CD entries of a loaded store, in file order."""
    version = document.get("version", 1)
    entries: list[StoreEntry] = []
    base_dir = path.parent
    for index, record in enumerate(document.get("integrations", [])):
        where = f"store[{index}]"
        if not isinstance(record, Mapping):
            entries.append(StoreEntry(where, where, None, f"{where} is not a JSON object"))
            continue
        if record.get("service") != SERVICE or record.get("status") != "active":
            continue
        record_id = record.get("id")
        record_id = record_id if isinstance(record_id, str) and record_id.strip() else where
        label = f"store:{record_id}"
        if version == 1:
            raw = raw_from_entry(
                {k: v for k, v in record.items() if k not in ("id", "service", "status")},
                label=label,
                source=label,
                default_name=record_id,
                base_dir=base_dir,
            )
            if "credentials" not in record:
                raw = f"{label} has no 'credentials' object"
            entries.append(_entry(raw, record_id, label))
            continue
        instances = record.get("instances")
        if not isinstance(instances, list) or not instances:
            entries.append(
                StoreEntry(
                    record_id, label, None, f"{label}: 'instances' must be a non-empty array"
                )
            )
            continue
        for position, item in enumerate(instances):
            item_label = f"{label}.instances[{position}]"
            if not isinstance(item, Mapping):
                entries.append(
                    StoreEntry(record_id, item_label, None, f"{item_label} is not a JSON object")
                )
                continue
            default_name = record_id if len(instances) == 1 else f"{record_id}-{position}"
            name = item.get("name")
            shown = name.strip() if isinstance(name, str) and name.strip() else default_name
            raw = raw_from_entry(
                item,
                label=item_label,
                source=f"store:{record_id}/{shown}",
                default_name=default_name,
                base_dir=base_dir,
            )
            entries.append(_entry(raw, shown, f"store:{record_id}/{shown}"))
    return entries


def store_mode_warning(path: Path) -> str | None:
    """A warning when the store file can be read or written by others than its owner."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if mode & 0o077:
        return (
            f"integration store {path} has mode {mode:04o}; it holds credentials, "
            f"run: chmod 600 {path}"
        )
    return None


def upsert_argocd_instance(path: Path, entry: Mapping[str, Any]) -> None:
    """Add the instance ``entry`` (``{name, tags, credentials}``) to the store, or replace the
    active Argo CD instance of the same name; write a version 2 file with mode 0600.

    A version 1 file is converted: each of its records becomes a one-instance record. Records of
    other services and inactive records are kept as they are. Raises :class:`ConfigError` when
    the existing file cannot be read safely (it is never overwritten then).
    """
    document = load_store(path) or {"version": 2, "integrations": []}
    integrations: list[Any] = list(document["integrations"])
    if document.get("version", 1) == 1:
        integrations = [_to_v2(r) for r in integrations]
    name = entry["name"]
    placed = False
    for record in integrations:
        if not _is_active_argocd(record) or not isinstance(record.get("instances"), list):
            continue
        for position, item in enumerate(record["instances"]):
            if isinstance(item, Mapping) and item.get("name") == name:
                record["instances"][position] = dict(entry)
                placed = True
                break
        if placed:
            break
    if not placed:
        target = next(
            (
                r
                for r in integrations
                if _is_active_argocd(r) and isinstance(r.get("instances"), list)
            ),
            None,
        )
        if target is None:
            ids = {r.get("id") for r in integrations if isinstance(r, Mapping)}
            new_id = SERVICE
            counter = 2
            while new_id in ids:
                new_id = f"{SERVICE}-{counter}"
                counter += 1
            target = {"id": new_id, "service": SERVICE, "status": "active", "instances": []}
            integrations.append(target)
        target["instances"].append(dict(entry))
    new_document = {
        **{k: v for k, v in document.items() if k not in ("version", "integrations")},
        "version": 2,
        "integrations": integrations,
    }
    _write_private(path, dumps(new_document, indent=True) + b"\n")


def _entry(raw: RawInstance | str, name: str, source: str) -> StoreEntry:
    if isinstance(raw, str):
        return StoreEntry(name, source, None, raw)
    return StoreEntry(raw.name, source, raw)


def _is_active_argocd(record: object) -> bool:
    return (
        isinstance(record, Mapping)
        and record.get("service") == SERVICE
        and record.get("status") == "active"
    )


def _to_v2(record: Any) -> Any:
    """A version 1 record as a version 2 one; anything else unchanged."""
    if (
        isinstance(record, dict)
        and "instances" not in record
        and isinstance(record.get("credentials"), Mapping)
        and record.get("service") == SERVICE
    ):
        converted = {k: v for k, v in record.items() if k not in ("credentials", "name", "tags")}
        instance: dict[str, Any] = {"name": record.get("name") or record.get("id") or SERVICE}
        if "tags" in record:
            instance["tags"] = record["tags"]
        instance["credentials"] = record["credentials"]
        converted["instances"] = [instance]
        return converted
    return record


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600, creating the folder (mode 0700)."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), 0o600)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        os.chmod(path, 0o600)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as err:
        raise ConfigError(
            f"integration store {path} cannot be written: {err.strerror or type(err).__name__}"
        ) from None


def _json_position(err: JSONDecodeError) -> str:
    line = getattr(err, "lineno", None)
    column = getattr(err, "colno", None)
    if line is not None and column is not None:
        return f"line {line}, column {column}"
    return "parse error"
