"""Configuration: which Argo CD instances exist, how to reach them, and what was rejected.

:func:`resolve_argocd` is the one resolver every command uses (environment, ``.env``,
``ARGOCD_INSTANCES``, the integration store). :func:`add_store_instance` writes the store.
:func:`token_expiry` reads a token's ``exp`` claim for expiry warnings.
"""

from __future__ import annotations

from belay.config.errors import ConfigError
from belay.config.integrations_file import default_store_path, load_store
from belay.config.models import ArgoCDInstance, ArgoCDResolution, RejectedInstance
from belay.config.resolver import resolve_argocd
from belay.config.tokens import EXPIRY_WARNING_WINDOW, is_jwt, token_expiry
from belay.config.writer import StoreInstanceView, add_store_instance, list_store_instances

__all__ = [
    "EXPIRY_WARNING_WINDOW",
    "ArgoCDInstance",
    "ArgoCDResolution",
    "ConfigError",
    "RejectedInstance",
    "StoreInstanceView",
    "add_store_instance",
    "default_store_path",
    "is_jwt",
    "list_store_instances",
    "load_store",
    "resolve_argocd",
    "token_expiry",
]
