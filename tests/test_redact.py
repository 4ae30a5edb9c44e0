"""The redaction module: known secrets and secret shapes never survive."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from belay import redact
from belay.redact import REDACTED, is_secret_key, mask, redact_data, redact_text, register_secret

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiZWxheSJ9.c2lnbmF0dXJlLXBhcnQ"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"Authorization: Bearer {JWT}", JWT),
        (f"token {JWT} rejected", JWT),
        ("token Zx81opQw77LmNb52TyUi", "Zx81opQw77LmNb52TyUi"),
        # Plural or compound keys with a value are keys, not prose (a review found them passing).
        ("passwords=hunter2abc", "hunter2abc"),
        ("DB_CREDENTIALS=admin:pw12345", "admin:pw12345"),
        ("api_tokens=abcdef123456", "abcdef123456"),
        ("db_password: x9y8z7q", "x9y8z7q"),
        ("token abcdef123456789", "abcdef123456789"),
        ("Bearer abcdef123456", "abcdef123456"),
        ("https://user:hunter2hunter2@gitlab.example.com/x.git", "hunter2hunter2"),
        ("password=s3cr3t-value&user=x", "s3cr3t-value"),
        ('{"password": "s3cr3t-value"}', "s3cr3t-value"),
        ("glpat-abcdefghijklmnopqrstu", "glpat-abcdefghijklmnopqrstu"),
        ("ghp_abcdefghijklmnopqrstuvwxyz0123", "ghp_abcdefghijklmnopqrstuvwxyz0123"),
        ("xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij"),
        ("key AKIAABCDEFGHIJKLMNOP end", "AKIAABCDEFGHIJKLMNOP"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
            "MIIEow",
        ),
        ("argocd.token=" + JWT, JWT),
    ],
)
def test_secret_shapes_are_redacted(text: str, secret: str) -> None:
    """Each secret shape is replaced and the marker left in its place."""
    cleaned = redact_text(text)
    assert secret not in cleaned
    assert REDACTED in cleaned


def test_registered_secret_is_redacted_anywhere() -> None:
    """A registered value with no recognisable shape is still removed, even inside words."""
    register_secret("plainvalue-zz91")
    assert redact_text("xx plainvalue-zz91yy") == f"xx {REDACTED}yy"


def test_registered_bearer_prefix_registers_bare_token() -> None:
    """Registering 'Bearer X' also hides a bare X."""
    register_secret("Bearer opaque-canary-77")
    assert "opaque-canary-77" not in redact_text("sent opaque-canary-77")


def test_short_values_are_not_registered() -> None:
    """Very short values would wreck reports, so they are not registered."""
    register_secret("abc")
    assert redact_text("abc") == "abc"


def test_ordinary_text_is_untouched() -> None:
    """Text without secrets passes unchanged."""
    text = (
        "application guestbook is OutOfSync at revision 4f1c2a9 (tokens: 3 resources); "
        "the token expires on 2026-12-01; Argo CD refused the credentials: Argo CD said 401"
    )
    assert redact_text(text) == text


def test_redact_data_walks_structures() -> None:
    """Secret-named keys lose their value; strings inside lists are cleaned; scalars stay."""
    data = {
        "password": "pw-123456",
        "token_env": "BELAY_TOKEN_APP",
        "nested": [{"authToken": "x" * 20}, f"Bearer {JWT}"],
        "count": 3,
        "password_set": True,
        "apiKey": "",
    }
    out = redact_data(data)
    assert out["password"] == REDACTED
    assert out["token_env"] == "BELAY_TOKEN_APP"
    assert out["nested"][0]["authToken"] == REDACTED
    assert JWT not in out["nested"][1]
    assert out["count"] == 3
    assert out["password_set"] is True
    assert out["apiKey"] == ""


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("password", True),
        ("X-Gitlab-Token", True),
        ("WebhookAuthHeader", True),
        ("token_env", False),
        ("name", False),
    ],
)
def test_is_secret_key(key: str, expected: bool) -> None:
    """Key names are classified by the words they contain, with known exceptions."""
    assert is_secret_key(key) is expected


def test_mask() -> None:
    """mask() shows whether a secret is set and at most its last four characters."""
    assert mask(None) == "(not set)"
    assert mask("short") == "****"
    assert mask("a-long-secret-value-1234") == "****1234"


def test_module_loggers_follow_later_configuration() -> None:
    """A logger made at import time obeys configure_logging() called afterwards (level, stream)."""
    import io

    from belay.logs import configure_logging, get_logger

    early = get_logger("belay.early")
    stream = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=stream)
    early.debug("hidden.debug")
    early.info("shown.info", password="pw-canary-123")
    out = stream.getvalue()
    assert "hidden.debug" not in out
    assert "shown.info" in out
    assert "pw-canary-123" not in out
    assert '"component":"belay.early"' in out


_FRAGMENTS = [
    "Bearer ",
    "basic ",
    "token ",
    "TOKEN=",
    "password: ",
    '"secret": "',
    "api_key=",
    "private-key:",
    "credentials: ",
    "signature=",
    "eyJhbGciOiJIUzI1NiJ9.",
    "eyJzdWIiOiJ4In0.",
    "c2ln",
    "https://",
    "user:pw@",
    "host/x",
    "glpat-",
    "ghp_",
    "AKIA",
    "xoxb-",
    "sk-",
    "whsec_",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    "abcdefghijklmnopqrstuvwxyz0123456789",
    "ABCDEFGHIJKLMNOP",
    " ",
    "\n",
    "3",
    "Argo CD",
    ",",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=12).map("".join))
def test_needle_shortcut_changes_nothing(text: str) -> None:
    """Skipping a pattern when its needles are absent redacts exactly what running it would."""
    import belay.redact as redact

    expected = text
    pattern = redact._secrets_pattern()
    if pattern is not None:
        expected = pattern.sub(REDACTED, expected)
    for regex, replacement, _needles in redact._PATTERNS:
        expected = regex.sub(replacement, expected)
    assert redact_text(text) == expected


def test_registering_many_secrets_compiles_the_matcher_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Registration used to rebuild the regex each time: 1,000 values cost n squared (50 s).

    Now a registration is a set insertion, and the matcher is rebuilt once, on the next use.
    """
    compiled: list[str] = []
    real_compile = redact.re.compile

    def counting(pattern: str, *args: object) -> object:
        compiled.append(pattern)
        return real_compile(pattern, *args)

    monkeypatch.setattr(redact.re, "compile", counting)
    # A set of this test's own, so the 2,000 values do not stay registered for the others.
    monkeypatch.setattr(redact, "_known_secrets", set())
    monkeypatch.setattr(redact, "_known_pattern", None)
    monkeypatch.setattr(redact, "_known_dirty", False)
    values = [f"bulk-secret-{n:05d}-value" for n in range(2000)]
    for value in values:
        register_secret(value)
    assert compiled == []
    assert redact_text(f"a {values[0]} b {values[-1]}") == f"a {REDACTED} b {REDACTED}"
    assert len(compiled) == 1
    redact_text("nothing new")
    assert len(compiled) == 1


def test_name_maps_keep_file_names_but_not_secrets() -> None:
    """A manifest's files keep names such as gitleaks-secrets-report.json, but a secret-named
    field inside an entry, a secret-named scalar, a registered secret used as a name, and a
    "files" key anywhere but the top are redacted as ever."""
    names = frozenset({"files"})
    register_secret("name-canary-secret-5521")
    doc = {
        "files": {
            "gitleaks-secrets-report.json": {"digest": "d", "password": "p-canary-1234"},
            "secret_key": "abcdefgh-canary",
            "name-canary-secret-5521": {"digest": "e"},
        },
        "context": {"files": {"secret_key": "deeper-canary-77"}},
    }
    out = redact_data(doc, name_maps=names)
    files = out["files"]
    assert files["gitleaks-secrets-report.json"] == {"digest": "d", "password": REDACTED}
    assert files["secret_key"] == REDACTED
    assert "name-canary-secret-5521" not in files and files[REDACTED] == {"digest": "e"}
    assert out["context"]["files"]["secret_key"] == REDACTED
