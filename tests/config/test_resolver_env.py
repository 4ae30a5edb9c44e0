"""The single-instance variables, their aliases and the URL/auth/TLS rules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

from belay.config import ArgoCDResolution
from belay.redact import REDACTED, redact_text

Resolve = Callable[..., ArgoCDResolution]

TOKEN = "tok-env-0123456789abcdef"


def test_nothing_configured_gives_no_instance(resolve: Resolve) -> None:
    """With no variables, no .env and no store there is nothing, and nothing is rejected."""
    result = resolve({})
    assert result.instances == ()
    assert result.rejected == ()
    assert result.default is None


def test_token_instance_is_normalised(resolve: Resolve) -> None:
    """Base URL loses its trailing slash and upper case; the token loses its Bearer prefix."""
    result = resolve(
        {
            "ARGOCD_BASE_URL": "HTTPS://ArgoCD.Example.com:8443/",
            "ARGOCD_AUTH_TOKEN": f"Bearer {TOKEN}",
            "ARGOCD_PROJECT": "payments",
            "ARGOCD_APP_NAMESPACE": "argocd-apps",
        }
    )
    instance = result.default
    assert instance is not None
    assert instance.name == "default"
    assert instance.source == "env"
    assert instance.base_url == "https://argocd.example.com:8443"
    assert instance.token is not None and instance.token.get_secret_value() == TOKEN
    assert instance.project == "payments"
    assert instance.app_namespace == "argocd-apps"
    assert instance.verify_ssl is True
    assert instance.warnings == ()
    assert TOKEN not in repr(instance)


@pytest.mark.parametrize("token_var", ["ARGOCD_TOKEN", "ARGOCD_API_TOKEN"])
def test_token_aliases(resolve: Resolve, token_var: str) -> None:
    """ARGOCD_TOKEN and the gate guide's ARGOCD_API_TOKEN work alone, with ARGOCD_API_URL."""
    result = resolve({"ARGOCD_API_URL": "https://argocd.example.com", token_var: TOKEN})
    assert result.default is not None
    assert result.default.token is not None
    assert result.default.token.get_secret_value() == TOKEN


def test_aliases_that_agree_are_fine(resolve: Resolve) -> None:
    """The same token under two names (one with Bearer) and the same URL twice are one value."""
    result = resolve(
        {
            "ARGOCD_BASE_URL": "https://argocd.example.com/",
            "ARGOCD_API_URL": "https://argocd.example.com",
            "ARGOCD_AUTH_TOKEN": TOKEN,
            "ARGOCD_API_TOKEN": f"Bearer {TOKEN}",
        }
    )
    assert result.default is not None
    assert result.rejected == ()


@pytest.mark.parametrize("other", ["ARGOCD_TOKEN", "ARGOCD_API_TOKEN"])
def test_token_aliases_that_disagree_are_rejected(resolve: Resolve, other: str) -> None:
    """Two token aliases with different values reject the configuration without showing either."""
    result = resolve(
        {
            "ARGOCD_BASE_URL": "https://argocd.example.com",
            "ARGOCD_AUTH_TOKEN": TOKEN,
            other: "another-token-value-42",
        }
    )
    assert result.instances == ()
    (rejected,) = result.rejected
    assert "conflicting aliases" in rejected.reason
    assert "ARGOCD_AUTH_TOKEN" in rejected.reason and other in rejected.reason
    assert TOKEN not in rejected.reason and "another-token-value-42" not in rejected.reason


def test_url_aliases_that_disagree_are_rejected(resolve: Resolve) -> None:
    """ARGOCD_BASE_URL and ARGOCD_API_URL naming different servers reject the configuration."""
    result = resolve(
        {
            "ARGOCD_BASE_URL": "https://a.example.com",
            "ARGOCD_API_URL": "https://b.example.com",
            "ARGOCD_AUTH_TOKEN": TOKEN,
        }
    )
    assert result.instances == ()
    assert "conflicting aliases: ARGOCD_BASE_URL and ARGOCD_API_URL" in result.rejected[0].reason


def test_username_password_instance(resolve: Resolve) -> None:
    """Username and password together make a session-login instance."""
    result = resolve(
        {
            "ARGOCD_BASE_URL": "https://argocd.example.com",
            "ARGOCD_USERNAME": "belay",
            "ARGOCD_PASSWORD": "pass-word-123",
        }
    )
    instance = result.default
    assert instance is not None
    assert not instance.uses_token
    assert instance.username == "belay"
    assert instance.password is not None
    assert instance.password.get_secret_value() == "pass-word-123"
    assert redact_text("pw is pass-word-123") == f"pw is {REDACTED}"


def test_token_with_username_password_is_ambiguous(resolve: Resolve) -> None:
    """A token together with username/password is rejected as ambiguous."""
    result = resolve(
        {
            "ARGOCD_BASE_URL": "https://argocd.example.com",
            "ARGOCD_AUTH_TOKEN": TOKEN,
            "ARGOCD_USERNAME": "belay",
            "ARGOCD_PASSWORD": "pass-word-123",
        }
    )
    assert result.instances == ()
    reason = result.rejected[0].reason
    assert "ambiguous authentication" in reason
    assert TOKEN not in reason and "pass-word-123" not in reason


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"ARGOCD_USERNAME": "belay"}, "ARGOCD_USERNAME is set but ARGOCD_PASSWORD is not"),
        ({"ARGOCD_PASSWORD": "pass-word-123"}, "ARGOCD_PASSWORD is set but ARGOCD_USERNAME"),
        ({}, "no credentials given; set ARGOCD_AUTH_TOKEN or ARGOCD_USERNAME and ARGOCD_PASSWORD"),
        ({"ARGOCD_AUTH_TOKEN": "Bearer "}, "holds only the word Bearer"),
    ],
)
def test_incomplete_credentials_are_rejected(
    resolve: Resolve, extra: dict[str, str], expected: str
) -> None:
    """Half a login, no credentials, or an empty Bearer value each give a reason."""
    result = resolve({"ARGOCD_BASE_URL": "https://argocd.example.com", **extra})
    assert result.instances == ()
    assert expected in result.rejected[0].reason


def test_token_without_base_url_is_rejected(resolve: Resolve) -> None:
    """A credential without a URL is reported, not ignored."""
    result = resolve({"ARGOCD_AUTH_TOKEN": TOKEN})
    assert result.instances == ()
    assert result.rejected[0].reason == "ARGOCD_BASE_URL is not set"


def test_project_alone_makes_no_instance(resolve: Resolve) -> None:
    """ARGOCD_PROJECT or ARGOCD_VERIFY_SSL alone do not describe an instance."""
    result = resolve({"ARGOCD_PROJECT": "default", "ARGOCD_VERIFY_SSL": "false"})
    assert result.instances == () and result.rejected == ()


@pytest.mark.parametrize(
    "url",
    [
        "http://argocd.example.com",
        "http://10.0.0.5:8080",
        "http://128.0.0.1",
        "http://[::2]:80",
        "http://localhost.example.com",
    ],
)
def test_remote_plain_http_is_rejected(resolve: Resolve, url: str) -> None:
    """Plain http:// to anything but loopback is refused with the rule in the reason."""
    result = resolve({"ARGOCD_BASE_URL": url, "ARGOCD_AUTH_TOKEN": TOKEN})
    assert result.instances == ()
    assert "uses plain http:// for the remote host" in result.rejected[0].reason


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://127.4.5.6", "http://127.4.5.6"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_loopback_plain_http_is_allowed_with_warning(
    resolve: Resolve, url: str, normalised: str
) -> None:
    """localhost, 127.0.0.0/8 and ::1 may use http://, with a warning asking for TLS."""
    result = resolve({"ARGOCD_BASE_URL": url, "ARGOCD_AUTH_TOKEN": TOKEN})
    instance = result.default
    assert instance is not None
    assert instance.base_url == normalised
    assert any("plain http://" in w and "TLS" in w for w in instance.warnings)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("argocd.example.com", "ARGOCD_BASE_URL is not a URL"),
        ("ftp://argocd.example.com", "must use https://"),
        ("https://", "it has no host"),
        ("https://argocd.example.com:99999", "ARGOCD_BASE_URL is not a valid URL"),
        ("https://argocd.example.com/?x=1", "query string"),
        ("https://argo cd.example.com", "whitespace"),
    ],
)
def test_base_url_that_is_not_a_url(resolve: Resolve, url: str, expected: str) -> None:
    """A base URL that is not an http(s) URL gives one reason naming the variable."""
    result = resolve({"ARGOCD_BASE_URL": url, "ARGOCD_AUTH_TOKEN": TOKEN})
    assert result.instances == ()
    assert expected in result.rejected[0].reason


def test_base_url_with_credentials_never_repeats_them(resolve: Resolve) -> None:
    """Credentials inside the URL are refused and the password is not echoed."""
    result = resolve(
        {"ARGOCD_BASE_URL": "https://admin:s3cret-pass@argocd.example.com", "ARGOCD_TOKEN": TOKEN}
    )
    assert result.instances == ()
    assert "must not contain credentials" in result.rejected[0].reason
    assert "s3cret-pass" not in result.model_dump_json()


def test_verify_ssl_false_is_honoured_with_warning(resolve: Resolve) -> None:
    """ARGOCD_VERIFY_SSL=false turns verification off and says so."""
    result = resolve(
        {
            "ARGOCD_BASE_URL": "https://argocd.example.com",
            "ARGOCD_AUTH_TOKEN": TOKEN,
            "ARGOCD_VERIFY_SSL": "False",
        }
    )
    instance = result.default
    assert instance is not None
    assert instance.verify_ssl is False
    assert any("verification is off" in w for w in instance.warnings)


def test_verify_ssl_garbage_is_rejected(resolve: Resolve) -> None:
    """A verify flag that is not a boolean fails closed instead of guessing."""
    result = resolve(
        {
            "ARGOCD_BASE_URL": "https://argocd.example.com",
            "ARGOCD_AUTH_TOKEN": TOKEN,
            "ARGOCD_VERIFY_SSL": "maybe",
        }
    )
    assert result.instances == ()
    assert "ARGOCD_VERIFY_SSL must be true or false" in result.rejected[0].reason


def test_ca_bundle(resolve: Resolve, tmp_path: Path) -> None:
    """A PEM CA bundle is kept as a path; a missing or non-PEM file is rejected."""
    ca = trustme.CA()
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    env = {"ARGOCD_BASE_URL": "https://argocd.example.com", "ARGOCD_AUTH_TOKEN": TOKEN}

    good = resolve({**env, "ARGOCD_CA_BUNDLE": "ca.pem"})
    assert good.default is not None and good.default.ca_bundle == pem

    missing = resolve({**env, "ARGOCD_CA_BUNDLE": str(tmp_path / "nope.pem")})
    assert "does not exist" in missing.rejected[0].reason

    (tmp_path / "junk.pem").write_text("hello")
    junk = resolve({**env, "ARGOCD_CA_BUNDLE": str(tmp_path / "junk.pem")})
    assert "not a PEM certificate file" in junk.rejected[0].reason


def test_dotenv_is_read_and_environment_wins(resolve: Resolve, tmp_path: Path) -> None:
    """.env supplies variables; the environment overrides them one by one."""
    (tmp_path / ".env").write_text(
        "ARGOCD_BASE_URL=https://from-dotenv.example.com\n"
        f"ARGOCD_AUTH_TOKEN={TOKEN}\nARGOCD_PROJECT=dotenv-project\nOTHER=1\n"
    )
    only_dotenv = resolve({})
    assert only_dotenv.default is not None
    assert only_dotenv.default.source == ".env"
    assert only_dotenv.default.base_url == "https://from-dotenv.example.com"

    mixed = resolve({"ARGOCD_PROJECT": "env-project"})
    assert mixed.default is not None
    assert mixed.default.project == "env-project"
    assert mixed.default.source == "env+.env"


def test_dotenv_default_location_is_the_current_directory(
    tmp_path: Path, store_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without dotenv_path, ./.env of the current directory is used."""
    from belay.config import resolve_argocd

    (tmp_path / ".env").write_text(f"ARGOCD_BASE_URL=https://x.example.com\nARGOCD_TOKEN={TOKEN}\n")
    monkeypatch.chdir(tmp_path)
    result = resolve_argocd({}, store_path=store_file)
    assert result.default is not None and result.default.base_url == "https://x.example.com"


def test_secrets_are_registered_even_when_rejected(resolve: Resolve) -> None:
    """A token read from a rejected configuration is still redacted everywhere afterwards."""
    secret = "rejected-but-secret-token-77"
    resolve({"ARGOCD_BASE_URL": "http://remote.example.com", "ARGOCD_AUTH_TOKEN": secret})
    assert redact_text(f"x {secret} y") == f"x {REDACTED} y"
