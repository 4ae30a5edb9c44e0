"""Build one :class:`ArgoCDInstance` from raw values, or a :class:`RejectedInstance` saying why.

Every source (environment, ``.env``, ``ARGOCD_INSTANCES``, the integration store, the ``add``
command's flags) goes through :func:`build_instance`, so the rules are the same everywhere:
one base URL (aliases must agree), a token *or* a username and password (never both), a boolean
``verify_ssl``, an existing CA bundle file. Each raw value travels with the label the user knows
it by (``ARGOCD_AUTH_TOKEN``, ``ARGOCD_INSTANCES[1].credentials.token``), and messages name that
label, never the secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from belay.config.models import ArgoCDInstance, RejectedInstance
from belay.config.urls import BaseURLProblem, normalise_base_url
from belay.redact import register_secret

__all__ = [
    "Labelled",
    "RawInstance",
    "build_instance",
    "normalise_tags",
    "parse_bool",
    "register_credential",
    "strip_bearer",
]

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class Labelled:
    """A raw value and the name the user gave it (``None`` value: not set)."""

    label: str
    value: object = field(default=None, repr=False)
    """Left out of the repr: it may be a token or a password."""

    @property
    def is_set(self) -> bool:
        """True unless the value is missing or an empty/blank string."""
        if self.value is None:
            return False
        return not (isinstance(self.value, str) and not self.value.strip())


@dataclass(frozen=True)
class RawInstance:
    """Raw, unchecked values of one instance, as read from one source."""

    name: str
    source: str
    base_urls: Sequence[Labelled]
    """The base URL under each name it may have (``ARGOCD_BASE_URL``, ``ARGOCD_API_URL``)."""
    tokens: Sequence[Labelled]
    """The token under each alias (``ARGOCD_AUTH_TOKEN``, ``ARGOCD_TOKEN``, ...)."""
    username: Labelled
    password: Labelled
    project: Labelled
    app_namespace: Labelled
    verify_ssl: Labelled
    ca_bundle: Labelled
    tags: Labelled
    warnings: Sequence[str] = field(default_factory=tuple)
    """Warnings found while reading the source (unknown keys, ...), kept on the instance."""
    base_dir: Path | None = None
    """Folder a relative CA bundle path is relative to (the current directory when ``None``)."""


def strip_bearer(token: str) -> str:
    """The token without surrounding blanks and without a leading ``Bearer `` (any case)."""
    token = token.strip()
    head, _, rest = token.partition(" ")
    if head.lower() == "bearer":
        return rest.strip()
    return "" if token.lower() == "bearer" else token


def register_credential(value: object) -> None:
    """Register a token or password read from any source (a bare ``Bearer`` registers nothing)."""
    if isinstance(value, str) and strip_bearer(value):
        register_secret(value)
        register_secret(strip_bearer(value))


def parse_bool(value: object) -> bool | None:
    """``True``/``False`` for a bool or a usual spelling (true/false, 1/0, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return None


def normalise_tags(value: object, label: str) -> tuple[str, ...]:
    """Tags as a tuple of strings: a list of strings as is, a mapping as ``key=value`` entries.

    A comma-separated string (``team=payments,prod``) is accepted too. Raises ``ValueError``
    naming ``label`` for anything else.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(t.strip() for t in value.split(",") if t.strip())
    if isinstance(value, Mapping):
        tags = []
        for key, item in value.items():
            if not isinstance(key, str) or not isinstance(item, str | int | float | bool):
                raise ValueError(f"{label} must map strings to strings")
            text = str(item).lower() if isinstance(item, bool) else str(item)
            tags.append(f"{key}={text}")
        return tuple(tags)
    if isinstance(value, list | tuple):
        if not all(isinstance(t, str) for t in value):
            raise ValueError(f"{label} must be a list of strings or a mapping")
        return tuple(t.strip() for t in value if t.strip())
    raise ValueError(f"{label} must be a list of strings or a mapping")


def build_instance(raw: RawInstance) -> ArgoCDInstance | RejectedInstance:
    """Check ``raw`` against every rule; return the instance or a rejection with all reasons."""
    # Register secrets first, whatever happens next, so that no later message can show them.
    for item in (*raw.tokens, raw.password):
        register_credential(item.value)

    problems: list[str] = []
    warnings: list[str] = list(raw.warnings)

    base_url = _base_url(raw.base_urls, problems, warnings)
    token = _token(raw.tokens, problems)
    username = _text(raw.username, problems)
    password = _text(raw.password, problems, secret=True)
    project = _text(raw.project, problems)
    app_namespace = _text(raw.app_namespace, problems)

    if token is not None and (username is not None or password is not None):
        given = [raw.username.label] if username is not None else []
        given += [raw.password.label] if password is not None else []
        problems.append(
            f"ambiguous authentication: a token ({_first_set(raw.tokens)}) and "
            f"{' and '.join(given)} are both set; set only one of them"
        )
    elif token is None:
        if username is not None and password is None:
            problems.append(f"{raw.username.label} is set but {raw.password.label} is not")
        elif password is not None and username is None:
            problems.append(f"{raw.password.label} is set but {raw.username.label} is not")
        elif username is None and not _any_set(raw.tokens):
            token_name = raw.tokens[0].label if raw.tokens else "a token"
            problems.append(
                f"no credentials given; set {token_name} or "
                f"{raw.username.label} and {raw.password.label}"
            )

    verify_ssl = True
    if raw.verify_ssl.is_set:
        parsed = parse_bool(raw.verify_ssl.value)
        if parsed is None:
            problems.append(f"{raw.verify_ssl.label} must be true or false")
        else:
            verify_ssl = parsed

    ca_bundle = _ca_bundle(raw.ca_bundle, raw.base_dir, problems)

    try:
        tags = normalise_tags(raw.tags.value, raw.tags.label)
    except ValueError as err:
        problems.append(str(err))
        tags = ()

    if problems:
        return RejectedInstance(name=raw.name, source=raw.source, reason="; ".join(problems))
    assert base_url is not None  # a missing base URL is a problem above

    if not verify_ssl and base_url.startswith("https://"):
        warnings.append(
            f"TLS certificate verification is off ({raw.verify_ssl.label}=false) for "
            f"{base_url}; use this only with a test server"
        )
        if ca_bundle is not None:
            warnings.append(f"{raw.ca_bundle.label} is ignored because verification is off")
    return ArgoCDInstance(
        name=raw.name,
        base_url=base_url,
        token=SecretStr(token) if token is not None else None,
        username=username,
        password=SecretStr(password) if password is not None else None,
        project=project,
        app_namespace=app_namespace,
        verify_ssl=verify_ssl,
        ca_bundle=ca_bundle,
        tags=tags,
        source=raw.source,
        warnings=tuple(warnings),
    )


def _any_set(items: Sequence[Labelled]) -> bool:
    return any(i.is_set for i in items)


def _first_set(items: Sequence[Labelled]) -> str:
    return next((i.label for i in items if i.is_set), "token")


def _text(item: Labelled, problems: list[str], *, secret: bool = False) -> str | None:
    if not item.is_set:
        return None
    if not isinstance(item.value, str):
        problems.append(f"{item.label} must be a string")
        return None
    return item.value if secret else item.value.strip()


def _base_url(items: Sequence[Labelled], problems: list[str], warnings: list[str]) -> str | None:
    found: list[tuple[str, str, tuple[str, ...]]] = []
    for item in items:
        if not item.is_set:
            continue
        if not isinstance(item.value, str):
            problems.append(f"{item.label} must be a string")
            return None
        try:
            url, url_warnings = normalise_base_url(item.value, item.label)
        except BaseURLProblem as err:
            problems.append(str(err))
            return None
        found.append((item.label, url, url_warnings))
    if not found:
        problems.append(f"{items[0].label} is not set" if items else "no base URL")
        return None
    first_label, url, url_warnings = found[0]
    for label, other, _ in found[1:]:
        if other != url:
            problems.append(f"conflicting aliases: {first_label} and {label} differ")
            return None
    warnings.extend(url_warnings)
    return url


def _token(items: Sequence[Labelled], problems: list[str]) -> str | None:
    found: list[tuple[str, str]] = []
    for item in items:
        if not item.is_set:
            continue
        if not isinstance(item.value, str):
            problems.append(f"{item.label} must be a string")
            return None
        token = strip_bearer(item.value)
        if not token:
            problems.append(f"{item.label} holds only the word Bearer, no token")
            return None
        if any(ch.isspace() for ch in token):
            problems.append(f"{item.label} contains whitespace inside the token")
            return None
        found.append((item.label, token))
    if not found:
        return None
    first_label, token = found[0]
    for label, other in found[1:]:
        if other != token:
            problems.append(
                f"conflicting aliases: {first_label} and {label} are both set with different values"
            )
            return None
    return token


def _ca_bundle(item: Labelled, base_dir: Path | None, problems: list[str]) -> Path | None:
    if not item.is_set:
        return None
    if not isinstance(item.value, str):
        problems.append(f"{item.label} must be a file path")
        return None
    path = Path(item.value.strip()).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    if not path.is_file():
        problems.append(f"{item.label} names a file that does not exist: {path}")
        return None
    try:
        content = path.read_bytes()
    except OSError as err:
        problems.append(f"{item.label} cannot be read: {err.strerror or type(err).__name__}")
        return None
    if b"-----BEGIN CERTIFICATE-----" not in content:
        problems.append(f"{item.label} is not a PEM certificate file: {path}")
        return None
    return path
