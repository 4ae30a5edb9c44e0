"""What ``belay integrations add`` and ``list`` do with the store: checked writes, masked views."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from belay.config.errors import ConfigError
from belay.config.instance import (
    Labelled,
    RawInstance,
    build_instance,
    normalise_tags,
    register_credential,
)
from belay.config.integrations_file import SERVICE, load_store, upsert_argocd_instance
from belay.config.models import ArgoCDInstance, RejectedInstance
from belay.config.records import TOKEN_KEYS, raw_from_entry
from belay.redact import mask, redact_text

__all__ = ["StoreInstanceView", "add_store_instance", "list_store_instances"]


class StoreInstanceView(BaseModel):
    """One Argo CD instance of the store as ``integrations list`` shows it (secrets masked)."""

    model_config = ConfigDict(frozen=True)

    record_id: str
    name: str
    status: str
    base_url: str | None = None
    token: str | None = None
    """Masked (``****`` plus at most the last four characters), or ``None``."""
    username: str | None = None
    password: str | None = None
    """Masked, or ``None``."""
    project: str | None = None
    app_namespace: str | None = None
    verify_ssl: bool | str | None = None
    tags: tuple[str, ...] = ()
    problem: str | None = None
    """Why the resolver would reject this entry, if it would."""


def add_store_instance(
    path: Path,
    *,
    base_url: str,
    name: str = "default",
    token: str | None = None,
    username: str | None = None,
    password: str | None = None,
    project: str | None = None,
    app_namespace: str | None = None,
    verify_ssl: bool = True,
    ca_bundle: str | None = None,
    tags: Sequence[str] = (),
) -> ArgoCDInstance:
    """Check the values with the resolver's rules, then add (or replace by name) the instance.

    Raises :class:`ConfigError` (one line, no secret) when a rule refuses the values or the store
    cannot be read or written safely. Returns the instance as the resolver will see it, with its
    warnings (plain-http loopback, verification off).
    """
    register_credential(token)
    register_credential(password)
    if not name.strip():
        raise ConfigError("--name must not be empty")
    try:
        tag_tuple = normalise_tags(list(tags), "--tags")
    except ValueError as err:
        raise ConfigError(str(err)) from None
    raw = RawInstance(
        name=name.strip(),
        source=f"store:{path}",
        base_urls=[Labelled("--base-url", base_url)],
        tokens=[Labelled("--token", token)],
        username=Labelled("--username", username),
        password=Labelled("--password", password),
        project=Labelled("--project", project),
        app_namespace=Labelled("--app-namespace", app_namespace),
        verify_ssl=Labelled("--no-verify-ssl", verify_ssl),
        ca_bundle=Labelled("--ca-bundle", ca_bundle),
        tags=Labelled("--tags", list(tag_tuple)),
    )
    result = build_instance(raw)
    if isinstance(result, RejectedInstance):
        raise ConfigError(redact_text(result.reason))
    credentials: dict[str, Any] = {"base_url": result.base_url}
    if result.token is not None:
        credentials["token"] = result.token.get_secret_value()
    if result.username is not None and result.password is not None:
        credentials["username"] = result.username
        credentials["password"] = result.password.get_secret_value()
    if result.project:
        credentials["project"] = result.project
    if result.app_namespace:
        credentials["app_namespace"] = result.app_namespace
    credentials["verify_ssl"] = result.verify_ssl
    if result.ca_bundle is not None:
        credentials["ca_bundle"] = str(result.ca_bundle)
    upsert_argocd_instance(
        path, {"name": result.name, "tags": list(result.tags), "credentials": credentials}
    )
    return result


def list_store_instances(path: Path) -> list[StoreInstanceView]:
    """Every Argo CD instance in the store, active or not, with secrets masked.

    Raises :class:`ConfigError` for a store that cannot be read (missing file: empty list).
    """
    document = load_store(path)
    if document is None:
        return []
    version = document.get("version", 1)
    views: list[StoreInstanceView] = []
    for index, record in enumerate(document.get("integrations", [])):
        if not isinstance(record, Mapping) or record.get("service") != SERVICE:
            continue
        record_id = str(record.get("id") or f"store[{index}]")
        status = str(record.get("status") or "")
        if version == 1:
            entries: list[Any] = [record]
        else:
            instances = record.get("instances")
            entries = instances if isinstance(instances, list) else []
            if not entries:
                views.append(
                    StoreInstanceView(
                        record_id=record_id,
                        name=record_id,
                        status=status,
                        problem="'instances' must be a non-empty array",
                    )
                )
        for position, entry in enumerate(entries):
            default = record_id if len(entries) == 1 else f"{record_id}-{position}"
            views.append(_view(entry, record_id, status, default, path))
    return views


def _view(entry: Any, record_id: str, status: str, default: str, path: Path) -> StoreInstanceView:
    if not isinstance(entry, Mapping):
        return StoreInstanceView(
            record_id=record_id, name=default, status=status, problem="not a JSON object"
        )
    body = {k: v for k, v in entry.items() if k not in ("id", "service", "status")}
    raw = raw_from_entry(
        body, label=f"store:{record_id}", source="", default_name=default, base_dir=path.parent
    )
    if isinstance(raw, str):
        return StoreInstanceView(record_id=record_id, name=default, status=status, problem=raw)
    nested = entry.get("credentials")
    creds: Mapping[str, Any] = nested if isinstance(nested, Mapping) else entry
    token = next((creds.get(k) for k in TOKEN_KEYS if isinstance(creds.get(k), str)), None)
    password = creds.get("password")
    built = build_instance(raw)
    try:
        tags = normalise_tags(entry.get("tags"), "tags")
    except ValueError:
        tags = ()

    def text(key: str) -> str | None:
        value = creds.get(key)
        return redact_text(value) if isinstance(value, str) else None

    verify = creds.get("verify_ssl")
    return StoreInstanceView(
        record_id=record_id,
        name=raw.name,
        status=status,
        base_url=text("base_url"),
        token=mask(token) if token else None,
        username=text("username"),
        password=mask(password) if isinstance(password, str) and password else None,
        project=text("project"),
        app_namespace=text("app_namespace"),
        verify_ssl=verify if isinstance(verify, bool | str) else None,
        tags=tuple(redact_text(t) for t in tags),
        problem=redact_text(built.reason) if isinstance(built, RejectedInstance) else None,
    )
