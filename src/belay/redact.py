"""The one redaction module: everything Belay prints, logs, stores or returns passes through here.

Two mechanisms work together:

* **Known secrets.** Every secret Belay loads (Argo CD tokens and passwords, submit tokens,
  webhook secrets) is registered with :func:`register_secret`; any later occurrence of that exact
  value, wherever it appears, is replaced. This catches secrets that have no recognisable shape.
* **Shapes.** Patterns catch what was never registered: bearer tokens, JWT-like strings, PEM
  private keys, credentials in URLs, ``key=value`` pairs whose key names a secret, and the
  prefixes of well-known token formats (GitLab, GitHub, Slack, AWS, ...).

:func:`redact_text` cleans a string, :func:`redact_data` walks JSON-like data (dict keys that
name a secret lose their value entirely), and :func:`mask` shows that a secret is set without
showing it.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = [
    "REDACTED",
    "is_secret_key",
    "mask",
    "redact_data",
    "redact_text",
    "register_secret",
]

REDACTED = "[REDACTED]"

# Shorter values are not registered: replacing every "abc" in a report would destroy it, and a
# secret that short is not worth hiding from anyone.
_MIN_REGISTERED_LENGTH = 6

_SECRET_KEY_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "apikey",
    "api_key",
    "api-key",
    "private_key",
    "privatekey",
    "credential",
    "cookie",
    "session",
    "signature",
    "authheader",
)
# Keys that contain a secret word but hold no secret.
_NOT_SECRET_KEYS = frozenset(
    {
        "token_env",
        "tokens_env",
        "url_env",
        "webhook_secret_env",
        "gitlab_token_env",
        "secret_name",
        "secretname",
        "secretkeyref",
        "token_expires_at",
        "token_exp",
        "token_sha256",
        "session_duration",
    }
)

_SECRET_WORDS = (
    r"(?:password|passwd|secret|token|api[_\-]?key|private[_\-]?key|credential|signature)"
)

# Each pattern comes with lower-case "needles": literal fragments every match must contain. A
# pattern runs only on text holding one of them, which spares the regex pass on the vast majority
# of strings (rule names, messages) without changing what is redacted.
_PATTERNS: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = (
    # PEM private keys (any kind), whole block.
    (
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
            re.DOTALL,
        ),
        REDACTED,
        ("private key-----",),
    ),
    # Authorization header values.
    (
        re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=\-]{6,}"),
        rf"\1\2{REDACTED}",
        ("bearer", "basic"),
    ),
    # "token <value>" when the value looks like a token (it holds a digit), not "token expires".
    (
        re.compile(r"(?i)\b(token)(\s+)(?=[A-Za-z._~+/=\-]*\d)[A-Za-z0-9._~+/=\-]{8,}"),
        rf"\1\2{REDACTED}",
        ("token",),
    ),
    # JWT-like: three base64url parts, the first starting like a JSON object header.
    (
        re.compile(r"\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]*"),
        REDACTED,
        ("eyj",),
    ),
    # Credentials inside URLs: scheme://user:password@host
    (
        re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^/\s:@]+):([^/\s@]+)@"),
        rf"\1\2:{REDACTED}@",
        ("://",),
    ),
    # Well-known token prefixes.
    (
        re.compile(
            r"\b(?:glpat-[A-Za-z0-9_\-]{16,}|gl(?:dt|rt|cbt|ptt|ft|imt|agent|soat)-[A-Za-z0-9_\-]{16,}"
            r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
            r"|xox[abposr]-[A-Za-z0-9\-]{10,}|(?:AKIA|ASIA)[A-Z0-9]{16}"
            r"|sk-[A-Za-z0-9_\-]{20,}|whsec_[A-Za-z0-9+/=]{16,})"
        ),
        REDACTED,
        ("gl", "gh", "github_pat_", "xox", "akia", "asia", "sk-", "whsec_"),
    ),
    # key=value / key: value / "key": "value" where the key names a secret.
    (
        re.compile(
            r"(?i)([\"']?\b(?:"
            # key=value, whatever the key's form ("passwords=...", "DB_CREDENTIALS=...")
            rf"[\w\-]*{_SECRET_WORDS}[\w\-]*[\"']?\s*="
            # key: value with a compound key ("db_password:", "api_tokens:")
            rf"|[\w\-]+[_\-]{_SECRET_WORDS}[\w\-]*[\"']?\s*:"
            # key: value with a bare key; a bare plural ("Argo CD refused the credentials: ...")
            # is prose, not a key
            rf"|{_SECRET_WORDS}(?!s\b)[\w\-]*[\"']?\s*:"
            r")\s*)"
            # Pure numbers ("tokens: 3") are counts, not secrets.
            r"(?!\d+\b)(\"[^\"]*\"|'[^']*'|[^\s,&;}\]\"']+)"
        ),
        rf"\1{REDACTED}",
        ("password", "passwd", "secret", "token", "api", "private", "credential", "signature"),
    ),
)

_ALL_NEEDLES = tuple(dict.fromkeys(n for _, _, needles in _PATTERNS for n in needles))

_known_secrets: set[str] = set()
_known_lock = threading.Lock()
_known_pattern: re.Pattern[str] | None = None
_known_dirty = False


def register_secret(value: str | None) -> None:
    """Remember a secret value so that every later occurrence of it is redacted.

    Only Belay's own secrets belong here (its configuration, the credentials it loads): the set
    is process-wide, so a value someone *sent* would black out every other answer. Registering
    the same value twice, ``None``, or a value shorter than six characters is a no-op; a
    ``Bearer `` prefix is stripped and the bare token registered too. Registering costs a set
    insertion; the matcher is rebuilt once, on the next redaction after a change.
    """
    global _known_dirty
    if not value:
        return
    candidates = {value.strip()}
    if value.lower().startswith("bearer "):
        candidates.add(value[7:].strip())
    candidates = {c for c in candidates if len(c) >= _MIN_REGISTERED_LENGTH}
    with _known_lock:
        if candidates <= _known_secrets:
            return
        _known_secrets.update(candidates)
        _known_dirty = True


def _secrets_pattern() -> re.Pattern[str] | None:
    """The matcher of the registered secrets, rebuilt here when one was added since."""
    global _known_pattern, _known_dirty
    if not _known_dirty:
        return _known_pattern
    with _known_lock:
        if _known_dirty:
            # Longest first so that a secret containing another is replaced whole.
            ordered = sorted(_known_secrets, key=len, reverse=True)
            _known_pattern = re.compile("|".join(re.escape(s) for s in ordered))
            _known_dirty = False
        return _known_pattern


def redact_text(text: str) -> str:
    """Return ``text`` with every known secret and every secret-shaped substring replaced."""
    pattern = _secrets_pattern()
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    lowered = text.lower()
    for regex, replacement, needles in _PATTERNS:
        for needle in needles:
            if needle in lowered:
                text = regex.sub(replacement, text)
                lowered = text.lower()
                break
    return text


def _text_is_clean(text: str) -> bool:
    """True when :func:`redact_text` would leave ``text`` as it is (no secret, no needle)."""
    pattern = _secrets_pattern()
    if pattern is not None and pattern.search(text) is not None:
        return False
    lowered = text.lower()
    return not any(needle in lowered for needle in _ALL_NEEDLES)


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """Tell whether a mapping key names a value that must never be shown (``password``, ...)."""
    lowered = key.lower()
    if lowered in _NOT_SECRET_KEYS or lowered.endswith("_env"):
        return False
    compact = lowered.replace("-", "_")
    return any(word in compact for word in _SECRET_KEY_WORDS)


def redact_data(data: Any, *, name_maps: frozenset[str] = frozenset()) -> Any:
    """Return a redacted copy of JSON-like ``data`` (mappings, sequences, strings, scalars).

    A mapping value whose key names a secret becomes ``[REDACTED]`` whatever its type (an empty
    value stays empty so that "not set" remains visible); strings are cleaned with
    :func:`redact_text`; other scalars are returned as they are.

    ``name_maps`` names top-level keys whose mapping is keyed by names, not fields (a manifest's
    ``files``, where ``gitleaks-secrets-report.json`` is a file name): there, a key that names a
    secret does not blank a mapping value (its fields are redacted as usual), and the keys are
    cleaned as text. Deeper down, and for any other value, the usual rule holds.
    """
    # Stored documents hold a hundred short strings or more, and almost never a secret: one
    # check over all of them joined spares the per-string passes. A string that would be
    # changed is found in the joined text too (nothing is split), so nothing is missed.
    strings: list[str] = []
    _collect_strings(data, strings)
    if name_maps and isinstance(data, Mapping):
        for key in name_maps & data.keys():
            if isinstance(data[key], Mapping):
                strings.extend(k for k in data[key] if isinstance(k, str))
    clean_text = _unchanged if _text_is_clean("\x00".join(strings)) else redact_text
    if not (name_maps and isinstance(data, Mapping)):
        return _copy(data, clean_text)
    cleaned = _copy({k: v for k, v in data.items() if k not in name_maps}, clean_text)
    for key in name_maps & data.keys():
        value = data[key]
        cleaned[key] = (
            _copy_name_map(value, clean_text)
            if isinstance(value, Mapping)
            else _copy({key: value}, clean_text)[key]
        )
    return {k: cleaned[k] for k in data}


def _copy_name_map(names: Mapping[Any, Any], clean_text: Callable[[str], str]) -> dict[Any, Any]:
    """A mapping keyed by names: a mapping value is kept (and redacted inside) whatever its
    key says; any other value follows the usual secret-key rule."""
    out: dict[Any, Any] = {}
    for name, value in names.items():
        shown = clean_text(name) if isinstance(name, str) else name
        out[shown] = (
            _copy(value, clean_text)
            if isinstance(value, Mapping)
            else _copy({name: value}, clean_text)[name]
        )
    return out


def _unchanged(text: str) -> str:
    return text


def _collect_strings(data: Any, out: list[str]) -> None:
    if isinstance(data, str):
        out.append(data)
    elif isinstance(data, Mapping):
        for value in data.values():
            _collect_strings(value, out)
    elif isinstance(data, Sequence) and not isinstance(data, bytes | bytearray):
        for item in data:
            _collect_strings(item, out)


def _copy(data: Any, clean_text: Callable[[str], str]) -> Any:
    kind = type(data)
    # Exact-type checks first: JSON data is str/dict/list/scalars, and ABC checks are slow.
    if kind is str:
        return clean_text(data)
    if kind is bool or kind is int or kind is float or data is None:
        return data
    if kind is list:
        return [_copy(item, clean_text) for item in data]
    if isinstance(data, str):
        return clean_text(data)
    if isinstance(data, Mapping):
        cleaned: dict[Any, Any] = {}
        for key, value in data.items():
            if isinstance(key, str) and is_secret_key(key) and value not in (None, "", [], {}):
                if isinstance(value, bool | int | float):
                    cleaned[key] = value
                else:
                    cleaned[key] = REDACTED
            else:
                cleaned[key] = _copy(value, clean_text)
        return cleaned
    if isinstance(data, Sequence) and not isinstance(data, bytes | bytearray):
        return [_copy(item, clean_text) for item in data]
    return data


def mask(secret: str | None) -> str:
    """Show that a secret is set without showing it: ``****`` plus at most its last four characters.

    Only secrets of 16 characters or more keep their last four, so a short password is never
    narrowed down. ``None`` or an empty value gives ``(not set)``.
    """
    if not secret:
        return "(not set)"
    if len(secret) >= 16:
        return "****" + secret[-4:]
    return "****"
