"""``belay integrations verify|add|list``: check, write and show the Argo CD configuration.

A thin layer: it parses flags, calls :mod:`belay.config` and :mod:`belay.integrations`, and
renders their typed results. Warnings (plain-http loopback, TLS verification off, rejected
configurations) go to stderr; results go to stdout.
"""

from __future__ import annotations

import contextlib
import enum
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from belay.cli._common import TextOrJSON, handle_errors
from belay.config import (
    DEFAULT_SETTINGS_FILE,
    ArgoCDTarget,
    ConfigError,
    add_store_instance,
    default_store_path,
    list_store_instances,
    load_settings,
    process_environ,
    resolve_argocd,
)
from belay.integrations import InstanceCheck, VerifyReport, verify_argocd
from belay.jsonio import dumps_text
from belay.logs import configure_logging, notice
from belay.redact import redact_data, redact_text

__all__ = ["register"]


class Service(enum.StrEnum):
    """Services Belay integrates with."""

    argocd = "argocd"


integrations_app = typer.Typer(
    name="integrations",
    help="Verify, add and list integrations (Argo CD).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``integrations`` command group to ``app``."""
    app.add_typer(integrations_app, name="integrations")


def _quiet_logs() -> None:
    # Library log lines must never mix into the results on stdout; only warnings are worth it.
    configure_logging(level="WARNING")


def _warn(message: str) -> None:
    notice(message, level="warning")


@integrations_app.command("verify")
@handle_errors
def verify_command(
    service: Annotated[Service, typer.Argument(help="The service to verify.")],
    all_instances: Annotated[
        bool, typer.Option("--all", help="Verify every instance, not only the default one.")
    ] = False,
    output: Annotated[TextOrJSON, typer.Option("--output", "-o", help="text or json.")] = (
        TextOrJSON.text
    ),
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="belay.yaml whose mapped applications get least-privilege checks "
            "(default: ./belay.yaml when it exists).",
        ),
    ] = None,
) -> None:
    """Check the Argo CD configuration with read-only calls (exit 0 only if all passed)."""
    del service  # only argocd exists
    _quiet_logs()
    targets = _mapped_targets(config)
    # stdout carries only the result: anything a library prints meanwhile goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        resolution = resolve_argocd()
        report = verify_argocd(resolution, all_instances=all_instances, targets=targets)
    _print_warnings(report, all_instances=all_instances)
    if output is TextOrJSON.json:
        print(dumps_text(_verify_json(report, all_instances=all_instances), indent=True))
    else:
        print("\n\n".join(_check_text(c, show_instance=True) for c in report.checks))
    raise typer.Exit(0 if report.passed else 1)


def _mapped_targets(config: Path | None) -> tuple[ArgoCDTarget, ...]:
    """The Argo CD targets of belay.yaml; an explicit --config must load, the default may not."""
    if config is None and not DEFAULT_SETTINGS_FILE.exists():
        return ()
    try:
        settings = load_settings(config)
    except ConfigError as err:
        if config is not None:
            raise
        _warn(f"{err} (least-privilege checks skipped)")
        return ()
    return tuple(p.argocd for p in settings.projects if p.argocd is not None)


def _print_warnings(report: VerifyReport, *, all_instances: bool) -> None:
    for warning in report.warnings:
        _warn(warning)
    shown: set[str] = set()
    for check in report.checks:
        for warning in check.warnings:
            if warning not in shown:
                shown.add(warning)
                _warn(warning)
    if not all_instances and any(c.status != "missing" for c in report.checks):
        for rejected in report.rejected:
            _warn(f"configuration {rejected.source} ({rejected.name}) rejected: {rejected.reason}")


def _check_text(check: InstanceCheck, *, show_instance: bool) -> str:
    lines = [f"Service: {check.service}", f"Status: {check.status}", f"Detail: {check.detail}"]
    if show_instance and check.instance is not None:
        where = f"{check.instance} ({check.source})" if check.source else check.instance
        if check.base_url:
            where += f" {check.base_url}"
        lines.append(f"Instance: {where}")
    return redact_text("\n".join(lines))


def _check_json(check: InstanceCheck) -> dict[str, Any]:
    return dict(redact_data(check.model_dump(mode="json")))


def _verify_json(report: VerifyReport, *, all_instances: bool) -> Any:
    if all_instances:
        return [_check_json(c) for c in report.checks]
    data = _check_json(report.checks[0])
    data["rejected"] = redact_data([r.model_dump(mode="json") for r in report.rejected])
    return data


@integrations_app.command("add")
@handle_errors
def add_command(
    service: Annotated[Service, typer.Argument(help="The service to add.")],
    base_url: Annotated[str, typer.Option("--base-url", help="https://argocd.example.com")],
    token: Annotated[
        str | None, typer.Option("--token", help="API token ('-' reads it from stdin).")
    ] = None,
    username: Annotated[str | None, typer.Option("--username")] = None,
    password: Annotated[
        str | None, typer.Option("--password", help="Password ('-' reads it from stdin).")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="Instance name.")] = "default",
    project: Annotated[str | None, typer.Option("--project")] = None,
    app_namespace: Annotated[str | None, typer.Option("--app-namespace")] = None,
    no_verify_ssl: Annotated[
        bool, typer.Option("--no-verify-ssl", help="Do not check TLS certificates (test only).")
    ] = False,
    ca_bundle: Annotated[
        str | None, typer.Option("--ca-bundle", help="PEM file of CAs to trust.")
    ] = None,
    tags: Annotated[
        list[str] | None,
        typer.Option("--tags", help="Tags, comma-separated or repeated (env=prod,eu)."),
    ] = None,
) -> None:
    """Add (or replace, by name) an Argo CD instance in the integration store (mode 0600)."""
    del service
    _quiet_logs()
    if token == "-" and password == "-":
        raise ConfigError("only one of --token and --password can be read from stdin")
    token = _maybe_stdin(token, "--token")
    password = _maybe_stdin(password, "--password")
    tag_list = [t for value in tags or [] for t in value.split(",") if t.strip()]
    path = default_store_path(_environ())
    instance = add_store_instance(
        path,
        base_url=base_url,
        name=name,
        token=token,
        username=username,
        password=password,
        project=project,
        app_namespace=app_namespace,
        verify_ssl=not no_verify_ssl,
        ca_bundle=ca_bundle,
        tags=tag_list,
    )
    for warning in instance.warnings:
        _warn(warning)
    auth = "token" if instance.uses_token else f"username {instance.username}"
    print(
        redact_text(
            f"Saved Argo CD instance {instance.name!r} ({instance.base_url}, {auth}) to {path}."
        )
    )


@integrations_app.command("list")
@handle_errors
def list_command(
    output: Annotated[TextOrJSON, typer.Option("--output", "-o", help="text or json.")] = (
        TextOrJSON.text
    ),
) -> None:
    """Show the integration store's Argo CD instances, secrets masked."""
    _quiet_logs()
    path = default_store_path(_environ())
    views = list_store_instances(path)
    if output is TextOrJSON.json:
        # The views are already masked and redacted field by field; redact_data would also
        # blank the masked "token" and "password" hints.
        payload = {"store": str(path), "instances": [v.model_dump(mode="json") for v in views]}
        print(dumps_text(payload, indent=True))
        return
    if not views:
        print(f"No Argo CD instances in {path}.")
        return
    print(f"Store: {path}")
    for view in views:
        auth = f"token {view.token}" if view.token else ""
        if view.username:
            auth = f"username {view.username}, password {view.password or '(not set)'}"
        parts = [f"{view.record_id}/{view.name}", view.status, view.base_url or "(no base_url)"]
        parts += [auth] if auth else []
        parts += [f"project={view.project}"] if view.project else []
        parts += [f"app_namespace={view.app_namespace}"] if view.app_namespace else []
        parts += [f"verify_ssl={view.verify_ssl}"] if view.verify_ssl is not None else []
        parts += [f"tags={','.join(view.tags)}"] if view.tags else []
        parts += [f"PROBLEM: {view.problem}"] if view.problem else []
        print(redact_text("  ".join(parts)))


def _maybe_stdin(value: str | None, flag: str) -> str | None:
    if value != "-":
        return value
    line = sys.stdin.readline().strip()
    if not line:
        raise ConfigError(f"{flag} -: nothing was read from stdin")
    return line


def _environ() -> dict[str, str]:
    return dict(process_environ())
