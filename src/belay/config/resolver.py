"""The one configuration resolver: every command asks it which Argo CD instances exist.

Precedence (documented in README's Configuration section, the same for every command):

1. ``ARGOCD_INSTANCES`` (environment, then ``.env``): when set, the single-instance variables are
   ignored; its first valid entry comes first.
2. Otherwise the single-instance variables (environment wins over ``.env``), named ``default``.
3. Then the active Argo CD records of the integration store, in file order.

The default instance is the first usable one. An instance whose name an earlier source already
uses is rejected as shadowed. Nothing is dropped silently: every configuration that cannot be
used becomes a :class:`RejectedInstance` with its source and reason, and malformed sources
(bad JSON, unknown store version) do too, so ``resolve_argocd`` never raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from belay.config.env import (
    INSTANCES_VAR,
    SINGLE_INSTANCE_VARS,
    merged_environ,
    process_environ,
    single_instance,
)
from belay.config.errors import ConfigError
from belay.config.instance import RawInstance, build_instance
from belay.config.integrations_file import (
    default_store_path,
    load_store,
    store_entries,
    store_mode_warning,
)
from belay.config.models import ArgoCDInstance, ArgoCDResolution, RejectedInstance
from belay.config.records import raw_from_entry, register_entry_secrets
from belay.jsonio import JSONDecodeError, loads
from belay.redact import redact_text

__all__ = ["resolve_argocd"]


def resolve_argocd(
    environ: Mapping[str, str] | None = None,
    *,
    dotenv_path: Path | None = None,
    store_path: Path | None = None,
) -> ArgoCDResolution:
    """Resolve every Argo CD instance from the environment, ``.env`` and the integration store.

    Defaults: the process environment; ``./.env`` in the current directory; the store at
    ``BELAY_INTEGRATIONS_FILE`` or ``~/.tracer/integrations.json``. Never raises for bad
    configuration: problems come back in ``rejected`` (and ``warnings``).
    """
    source_environ = process_environ(environ)
    dotenv = dotenv_path if dotenv_path is not None else Path.cwd() / ".env"
    merged, origin, dotenv_problem = merged_environ(source_environ, dotenv)

    instances: list[ArgoCDInstance] = []
    rejected: list[RejectedInstance] = []
    warnings: list[str] = []
    if dotenv_problem:
        warnings.append(dotenv_problem)

    def add(raw: RawInstance) -> None:
        result = build_instance(raw)
        if isinstance(result, RejectedInstance):
            rejected.append(_clean(result))
            return
        earlier = next((i for i in instances if i.name == result.name), None)
        if earlier is not None:
            rejected.append(
                _clean(
                    RejectedInstance(
                        name=result.name,
                        source=result.source,
                        reason=(
                            f"shadowed: an instance named {result.name!r} already comes from "
                            f"{earlier.source}, which takes precedence"
                        ),
                    )
                )
            )
            return
        instances.append(result)

    instances_json = merged.get(INSTANCES_VAR)
    if instances_json is not None and instances_json.strip():
        source = origin.get(INSTANCES_VAR, "env")
        label = INSTANCES_VAR if source == "env" else f"{INSTANCES_VAR} (.env)"
        raws, problems = _parse_instances(instances_json, label)
        rejected.extend(_clean(p) for p in problems)
        for raw in raws:
            add(raw)
        ignored = [n for n in SINGLE_INSTANCE_VARS if (merged.get(n) or "").strip()]
        if ignored:
            warnings.append(
                f"{INSTANCES_VAR} is set, so these variables are ignored: {', '.join(ignored)}"
            )
    else:
        raw_single = single_instance(merged, origin)
        if raw_single is not None:
            add(raw_single)

    document = None
    path: Path | None
    try:
        path = store_path if store_path is not None else default_store_path(merged)
    except RuntimeError:  # no home folder to find ~/.tracer in
        warnings.append("the home folder is unknown, so the integration store was not read")
        path = None
    if path is not None:
        try:
            document = load_store(path)
        except ConfigError as err:
            rejected.append(
                _clean(RejectedInstance(name="store", source=f"store:{path}", reason=str(err)))
            )
    if document is not None and path is not None:
        mode_warning = store_mode_warning(path)
        if mode_warning:
            warnings.append(mode_warning)
        for entry in store_entries(document, path):
            if entry.raw is None:
                reason = entry.problem or "unusable entry"
                rejected.append(
                    _clean(RejectedInstance(name=entry.name, source=entry.source, reason=reason))
                )
            else:
                add(entry.raw)

    return ArgoCDResolution(
        instances=tuple(instances),
        rejected=tuple(rejected),
        warnings=tuple(redact_text(w) for w in warnings),
    )


def _parse_instances(text: str, label: str) -> tuple[list[RawInstance], list[RejectedInstance]]:
    """Raw instances from the ``ARGOCD_INSTANCES`` JSON, plus rejections for malformed parts."""
    try:
        data = loads(text)
    except JSONDecodeError as err:
        line, column = getattr(err, "lineno", None), getattr(err, "colno", None)
        where = f" (line {line}, column {column})" if line is not None else ""
        return [], [RejectedInstance(name=label, source=label, reason=f"not valid JSON{where}")]
    if not isinstance(data, list):
        # Secrets inside a wrongly shaped value are registered before anything is reported.
        register_entry_secrets(data)
        return [], [
            RejectedInstance(name=label, source=label, reason="must be a JSON array of instances")
        ]
    for item in data:
        register_entry_secrets(item)
    if not data:
        return [], [
            RejectedInstance(name=label, source=label, reason="is an empty array: no instance")
        ]
    raws: list[RawInstance] = []
    problems: list[RejectedInstance] = []
    for index, item in enumerate(data):
        item_label = f"{label}[{index}]"
        default_name = "default" if index == 0 else f"instance-{index}"
        if not isinstance(item, Mapping):
            problems.append(
                RejectedInstance(name=item_label, source=item_label, reason="is not a JSON object")
            )
            continue
        raw = raw_from_entry(item, label=item_label, source=item_label, default_name=default_name)
        if isinstance(raw, str):
            name = item.get("name")
            problems.append(
                RejectedInstance(
                    name=name if isinstance(name, str) and name else default_name,
                    source=item_label,
                    reason=raw,
                )
            )
        else:
            raws.append(raw)
    return raws, problems


def _clean(rejected: RejectedInstance) -> RejectedInstance:
    """The rejection with its text redacted (belt and braces: reasons never quote secrets)."""
    return RejectedInstance(
        name=redact_text(rejected.name),
        source=redact_text(rejected.source),
        reason=redact_text(rejected.reason),
    )
