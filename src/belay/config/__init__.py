"""Configuration: which Argo CD instances exist, how to reach them, and what was rejected.

:func:`resolve_argocd` is the one resolver every command uses (environment, ``.env``,
``ARGOCD_INSTANCES``, the integration store). :func:`add_store_instance` writes the store.
:func:`token_expiry` reads a token's ``exp`` claim for expiry warnings.
"""

from __future__ import annotations

from belay.config.env import process_environ
from belay.config.errors import ConfigError
from belay.config.integrations_file import default_store_path, load_store
from belay.config.models import ArgoCDInstance, ArgoCDResolution, RejectedInstance
from belay.config.resolver import resolve_argocd
from belay.config.settings import (
    DEFAULT_SETTINGS_FILE,
    AlertSettings,
    ArgoCDTarget,
    BelaySettings,
    IntakeSettings,
    InvestigationSettings,
    NotificationChannel,
    ProjectSettings,
    SyncSettings,
    ThrottleSettings,
    WebSettings,
    WorkerSettings,
    load_settings,
    normalize_remote,
)
from belay.config.tokens import EXPIRY_WARNING_WINDOW, is_jwt, jwt_claims, token_expiry
from belay.config.urls import is_loopback_host
from belay.config.writer import StoreInstanceView, add_store_instance, list_store_instances

__all__ = [
    "DEFAULT_SETTINGS_FILE",
    "EXPIRY_WARNING_WINDOW",
    "AlertSettings",
    "ArgoCDInstance",
    "ArgoCDResolution",
    "ArgoCDTarget",
    "BelaySettings",
    "ConfigError",
    "IntakeSettings",
    "InvestigationSettings",
    "NotificationChannel",
    "ProjectSettings",
    "RejectedInstance",
    "StoreInstanceView",
    "SyncSettings",
    "ThrottleSettings",
    "WebSettings",
    "WorkerSettings",
    "add_store_instance",
    "default_store_path",
    "is_jwt",
    "is_loopback_host",
    "jwt_claims",
    "list_store_instances",
    "load_settings",
    "load_store",
    "normalize_remote",
    "process_environ",
    "resolve_argocd",
    "token_expiry",
]
