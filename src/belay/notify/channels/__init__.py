"""Notification channels (Slack, Mattermost, a generic webhook, SMTP) and their builder.

:func:`build_channels` turns ``notifications`` from belay.yaml into channel objects, reading the
secrets their ``*_env`` keys name and registering every secret (webhook URLs included: a Slack
or Mattermost URL is itself the credential) with :mod:`belay.redact`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from belay.config import ConfigError, NotificationChannel, is_loopback_host, process_environ
from belay.notify.channels.base import (
    DEFAULT_DELIVERY_TIMEOUT,
    Channel,
    DeliveryError,
    post_json,
)
from belay.notify.channels.mattermost import MattermostChannel
from belay.notify.channels.slack import SlackChannel
from belay.notify.channels.smtp import SMTPChannel
from belay.notify.channels.webhook import WebhookChannel, delivery_id
from belay.notify.model import AlertEvent
from belay.redact import register_secret
from belay.webhooks import decode_webhook_secret

__all__ = [
    "DEFAULT_DELIVERY_TIMEOUT",
    "Channel",
    "DeliveryError",
    "MattermostChannel",
    "SMTPChannel",
    "SlackChannel",
    "WebhookChannel",
    "build_channel",
    "build_channels",
    "delivery_id",
    "post_json",
]


def build_channels(
    configs: Sequence[NotificationChannel],
    *,
    environ: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_DELIVERY_TIMEOUT,
) -> tuple[Channel, ...]:
    """One channel per ``notifications`` entry, named ``<type>#<position from 1>``.

    Raises :class:`ConfigError` (one line naming the entry) for an entry that cannot be used: a
    missing URL or variable, a plain-http URL to a remote host, an invalid signing secret, an
    SMTP entry without host, sender or recipients.
    """
    env = process_environ(environ)
    return tuple(
        build_channel(config, index=i, environ=env, timeout=timeout)
        for i, config in enumerate(configs, start=1)
    )


def build_channel(
    config: NotificationChannel,
    *,
    index: int,
    environ: Mapping[str, str],
    timeout: float = DEFAULT_DELIVERY_TIMEOUT,
) -> Channel:
    """The channel of one ``notifications`` entry (see :func:`build_channels`)."""
    name = f"{config.type}#{index}"
    where = f"notifications[{index - 1}] ({config.type})"
    events = frozenset(AlertEvent(e) for e in config.events)
    if config.type == "smtp":
        return _smtp(config, name=name, where=where, events=events, env=environ, timeout=timeout)
    url = _url(config, where=where, env=environ)
    if config.type == "slack":
        return SlackChannel(name=name, url=url, events=events, timeout=timeout)
    if config.type == "mattermost":
        return MattermostChannel(name=name, url=url, events=events, timeout=timeout)
    key = None
    if config.secret_env:
        secret = _env(environ, config.secret_env, where=where, key="secret_env")
        register_secret(secret)
        try:
            key = decode_webhook_secret(secret)
        except ValueError as err:
            raise ConfigError(f"{where}: secret_env {config.secret_env}: {err}") from None
    return WebhookChannel(name=name, url=url, events=events, signing_key=key, timeout=timeout)


def _env(environ: Mapping[str, str], var: str, *, where: str, key: str) -> str:
    value = environ.get(var, "").strip()
    if not value:
        raise ConfigError(f"{where}: {key}: the variable {var} is not set")
    return value


def _url(config: NotificationChannel, *, where: str, env: Mapping[str, str]) -> str:
    if config.url and config.url_env:
        raise ConfigError(f"{where}: give url or url_env, not both")
    if config.url_env:
        url = _env(env, config.url_env, where=where, key="url_env")
    elif config.url:
        url = config.url.strip()
    else:
        raise ConfigError(f"{where}: url or url_env is required")
    register_secret(url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: the URL is not an http(s) URL with a host")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigError(f"{where}: a remote URL must use https:// (http only for localhost)")
    return url


def _smtp(
    config: NotificationChannel,
    *,
    name: str,
    where: str,
    events: frozenset[AlertEvent],
    env: Mapping[str, str],
    timeout: float,
) -> SMTPChannel:
    if not config.host:
        raise ConfigError(f"{where}: host is required")
    if not config.from_:
        raise ConfigError(f"{where}: from is required")
    if not config.to:
        raise ConfigError(f"{where}: to needs at least one address")
    username = password = None
    if config.username_env or config.password_env:
        if not (config.username_env and config.password_env):
            raise ConfigError(f"{where}: username_env and password_env go together")
        username = _env(env, config.username_env, where=where, key="username_env")
        password = _env(env, config.password_env, where=where, key="password_env")
        register_secret(password)
    port = config.port or (587 if config.starttls else 25)
    return SMTPChannel(
        name=name,
        host=config.host,
        port=port,
        sender=config.from_,
        recipients=config.to,
        events=events,
        username=username,
        password=password,
        starttls=config.starttls,
        timeout=timeout,
    )
