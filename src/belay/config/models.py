"""Typed results of configuration resolution: usable Argo CD instances and rejected ones.

These are the values every command works from. They are frozen, built once, and their ``repr``
never shows a secret (pydantic's ``SecretStr`` masks tokens and passwords).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr

__all__ = ["ArgoCDInstance", "ArgoCDResolution", "RejectedInstance"]


class ArgoCDInstance(BaseModel):
    """One usable Argo CD instance: where it is, how to authenticate, and its defaults."""

    model_config = ConfigDict(frozen=True)

    name: str
    """Instance name (``default`` for the single-instance variables)."""
    base_url: str
    """Normalised base URL, scheme and host, no trailing slash (``https://argocd.example.com``)."""
    token: SecretStr | None = None
    """Bearer token without the ``Bearer `` prefix; exclusive with username/password."""
    username: str | None = None
    password: SecretStr | None = None
    project: str | None = None
    """Default Argo CD project used to scope calls (and to get real 404s instead of 403s)."""
    app_namespace: str | None = None
    verify_ssl: bool = True
    ca_bundle: Path | None = None
    """A PEM file of CAs to trust instead of the system store."""
    tags: tuple[str, ...] = ()
    """Free tags; ``key=value`` tags match alert labels, plain ones match any label value."""
    source: str = ""
    """Where it came from: ``env``, ``.env``, ``ARGOCD_INSTANCES[0]``, ``store:<id>``."""
    warnings: tuple[str, ...] = ()
    """Things the user should hear about (plain-http loopback, TLS verification off)."""

    @property
    def uses_token(self) -> bool:
        """True when the instance authenticates with a bearer token (not a session login)."""
        return self.token is not None


class RejectedInstance(BaseModel):
    """A configuration found but unusable, with the reason (never silently dropped)."""

    model_config = ConfigDict(frozen=True)

    name: str
    source: str
    reason: str


class ArgoCDResolution(BaseModel):
    """Everything the resolver found for the Argo CD service, in precedence order."""

    model_config = ConfigDict(frozen=True)

    instances: tuple[ArgoCDInstance, ...] = ()
    rejected: tuple[RejectedInstance, ...] = ()
    warnings: tuple[str, ...] = ()
    """Resolution-wide notes (ignored variables, a store readable by others); print on stderr."""

    @property
    def default(self) -> ArgoCDInstance | None:
        """The first usable instance, or ``None``."""
        return self.instances[0] if self.instances else None

    def get(self, name: str) -> ArgoCDInstance | None:
        """The usable instance called ``name``, or ``None``."""
        return next((i for i in self.instances if i.name == name), None)
