"""`belay integrations verify argocd` against real HTTP and HTTPS servers on loopback."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.support import unsigned_jwt
from typer.testing import CliRunner, Result

from belay.cli import app

Serve = Callable[..., Any]
TOKEN = "tok-verify-0123456789abcdef"


def run(env: dict[str, str], *args: str) -> Result:
    """Invoke the CLI with ``env`` added to the (cleaned) environment."""
    return CliRunner().invoke(app, ["integrations", "verify", "argocd", *args], env=env)


def test_passed_over_plain_http_loopback(serve_argocd: Serve) -> None:
    """A good token lists the apps with read-only calls; plain http warns on stderr."""
    fake = serve_argocd()
    fake.token = TOKEN
    result = run({"ARGOCD_BASE_URL": fake.url, "ARGOCD_AUTH_TOKEN": f"Bearer {TOKEN}"})
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "Service: argocd\nStatus: passed\nDetail: Connected to Argo CD and listed 3 applications."
    )
    assert "The account may sync applications in every project." in result.stdout
    assert "plain http://" in result.stderr
    assert all(method == "GET" for method, _, _ in fake.requests)
    paths = [path for _, path, _ in fake.requests]
    assert paths.count("/api/v1/applications") == 1
    assert "/api/v1/account/can-i/applications/sync/*/*" in paths
    assert TOKEN not in result.output


def test_project_scopes_the_list_and_can_i(serve_argocd: Serve) -> None:
    """ARGOCD_PROJECT scopes the list call and the can-i question to that project."""
    fake = serve_argocd()
    fake.token = TOKEN
    fake.can_i = {"get": "yes", "sync": "no"}
    env = {"ARGOCD_BASE_URL": fake.url, "ARGOCD_TOKEN": TOKEN, "ARGOCD_PROJECT": "payments"}
    result = run(env)
    assert result.exit_code == 0, result.output
    assert "listed 1 application." in result.stdout
    assert "may not sync applications in project 'payments'" in result.stdout
    assert ("GET", "/api/v1/applications", "projects=payments") in fake.requests
    assert any(
        p == "/api/v1/account/can-i/applications/sync/payments/*" for _, p, _ in fake.requests
    )


def test_unauthorised_token_fails(serve_argocd: Serve) -> None:
    """A 401 is Status: failed with a Detail naming the refusal, exit 1, no token shown."""
    fake = serve_argocd()
    fake.token = "the-right-token-1234"
    result = run({"ARGOCD_BASE_URL": fake.url, "ARGOCD_AUTH_TOKEN": TOKEN})
    assert result.exit_code == 1
    assert "Status: failed" in result.stdout
    assert "refused the credentials (401)" in result.stdout
    assert "no session information" in result.stdout
    assert TOKEN not in result.output


def test_forbidden_list_fails(serve_argocd: Serve) -> None:
    """A 403 on the list call is Status: failed with an RBAC hint."""
    fake = serve_argocd()
    fake.token = TOKEN
    fake.deny_list = True
    result = run({"ARGOCD_BASE_URL": fake.url, "ARGOCD_AUTH_TOKEN": TOKEN})
    assert result.exit_code == 1
    assert "Status: failed" in result.stdout
    assert "denied listing applications (403)" in result.stdout


def test_unreachable_host_fails(closed_port: int) -> None:
    """Nothing listening is Status: failed, 'Cannot reach'."""
    url = f"http://127.0.0.1:{closed_port}"
    result = run({"ARGOCD_BASE_URL": url, "ARGOCD_AUTH_TOKEN": TOKEN})
    assert result.exit_code == 1
    assert "Status: failed" in result.stdout
    assert f"Cannot reach Argo CD at {url}" in result.stdout


def test_username_password_session(serve_argocd: Serve) -> None:
    """Username and password log in (POST /api/v1/session) and then list."""
    fake = serve_argocd()
    fake.username, fake.password = "belay", "pass-word-123"
    env = {
        "ARGOCD_BASE_URL": fake.url,
        "ARGOCD_USERNAME": "belay",
        "ARGOCD_PASSWORD": "pass-word-123",
    }
    result = run(env)
    assert result.exit_code == 0, result.output
    assert "Status: passed" in result.stdout
    assert ("POST", "/api/v1/session", "") in fake.requests
    assert "pass-word-123" not in result.output

    env["ARGOCD_PASSWORD"] = "wrong-password-1"
    failed = run(env)
    assert failed.exit_code == 1
    assert "Check the username and password" in failed.stdout


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"sub": "belay-webhook:apiKey"}, "the token never expires"),
        ({"exp": "soon"}, "exp claim is not a usable time"),
        (
            {"exp": int((datetime.now(UTC) + timedelta(days=5, hours=1)).timestamp())},
            "(in 5 days); rotate it soon",
        ),
        (
            {"exp": int((datetime.now(UTC) + timedelta(days=90)).timestamp())},
            "The token's expiry is 20",
        ),
    ],
)
def test_token_expiry_in_detail(serve_argocd: Serve, claims: dict[str, Any], expected: str) -> None:
    """The Detail warns about an exp within 14 days, or about a token that never expires."""
    token = unsigned_jwt(claims)
    fake = serve_argocd()
    fake.token = token
    result = run({"ARGOCD_BASE_URL": fake.url, "ARGOCD_AUTH_TOKEN": token}, "--output", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert expected in data["detail"]
    assert (data["token_never_expires"] is True) == ("never" in expected)
    assert token not in result.output


def test_https_with_self_signed_certificate(serve_argocd: Serve, tls_files: Any) -> None:
    """Without the CA: failed with a TLS Detail; with ARGOCD_CA_BUNDLE: passed; with
    ARGOCD_VERIFY_SSL=false: passed with a warning."""
    fake = serve_argocd(tls=True)
    fake.token = TOKEN
    env = {"ARGOCD_BASE_URL": fake.url, "ARGOCD_AUTH_TOKEN": TOKEN}

    untrusted = run(env)
    assert untrusted.exit_code == 1
    assert "Status: failed" in untrusted.stdout
    assert "TLS verification failed" in untrusted.stdout
    assert "ARGOCD_CA_BUNDLE" in untrusted.stdout

    trusted = run({**env, "ARGOCD_CA_BUNDLE": str(tls_files.ca_pem)})
    assert trusted.exit_code == 0, trusted.output
    assert "Status: passed" in trusted.stdout
    assert "verification is off" not in trusted.stderr

    insecure = run({**env, "ARGOCD_VERIFY_SSL": "false"})
    assert insecure.exit_code == 0, insecure.output
    assert "Status: passed" in insecure.stdout
    assert "TLS certificate verification is off" in insecure.stderr


def test_all_verifies_every_instance(serve_argocd: Serve) -> None:
    """--all checks each instance and each rejection; one failure makes the exit 1."""
    good = serve_argocd()
    good.token = TOKEN
    bad = serve_argocd()
    bad.token = "another-token-5678"
    instances = [
        {"name": "good", "credentials": {"base_url": good.url, "token": TOKEN}},
        {"name": "bad", "credentials": {"base_url": bad.url, "token": TOKEN}},
        {
            "name": "remote",
            "credentials": {"base_url": "http://remote.example.com", "token": TOKEN},
        },
    ]
    env = {"ARGOCD_INSTANCES": json.dumps(instances)}

    default_only = run(env)
    assert default_only.exit_code == 0, default_only.output
    assert default_only.stdout.count("Service: argocd") == 1
    assert "Instance: good (ARGOCD_INSTANCES[0])" in default_only.stdout
    assert "configuration ARGOCD_INSTANCES[2] (remote) rejected" in default_only.stderr

    everything = run(env, "--all", "--output", "json")
    assert everything.exit_code == 1
    checks = json.loads(everything.stdout)
    assert [(c["instance"], c["status"]) for c in checks] == [
        ("good", "passed"),
        ("bad", "failed"),
        ("remote", "missing"),
    ]
    assert "plain http://" in checks[2]["detail"]
    assert TOKEN not in everything.output


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "No Argo CD configuration found. Set ARGOCD_BASE_URL and ARGOCD_AUTH_TOKEN"),
        (
            {
                "ARGOCD_BASE_URL": "https://a.example.com",
                "ARGOCD_AUTH_TOKEN": TOKEN,
                "ARGOCD_USERNAME": "u",
                "ARGOCD_PASSWORD": "pass-word-123",
            },
            "ambiguous authentication",
        ),
        ({"ARGOCD_BASE_URL": "http://argocd.example.com", "ARGOCD_TOKEN": TOKEN}, "plain http://"),
        (
            {
                "ARGOCD_BASE_URL": "https://a.example.com",
                "ARGOCD_AUTH_TOKEN": TOKEN,
                "ARGOCD_API_TOKEN": "different-token-99",
            },
            "conflicting aliases: ARGOCD_AUTH_TOKEN and ARGOCD_API_TOKEN",
        ),
        ({"ARGOCD_INSTANCES": "[{oops"}, "ARGOCD_INSTANCES (ARGOCD_INSTANCES): not valid JSON"),
        ({"ARGOCD_BASE_URL": "argocd", "ARGOCD_TOKEN": TOKEN}, "ARGOCD_BASE_URL is not a URL"),
    ],
)
def test_missing_says_what_to_set_or_why(env: dict[str, str], expected: str) -> None:
    """No usable configuration: Status: missing, exit 1, the reason, no secret, no traceback."""
    result = run(env)
    assert result.exit_code == 1
    assert result.stdout.startswith("Service: argocd\nStatus: missing\nDetail: ")
    assert expected in result.stdout
    assert "Traceback" not in result.output
    assert TOKEN not in result.output and "pass-word-123" not in result.output


def test_bad_store_file_is_missing_with_reason(tmp_path: Path) -> None:
    """A store that is not JSON is reported as the reason for missing, naming the file."""
    store = tmp_path / "store.json"
    store.write_text("{nope")
    result = run({"BELAY_INTEGRATIONS_FILE": str(store)})
    assert result.exit_code == 1
    assert "Status: missing" in result.stdout
    assert f"integration store {store} is not valid JSON" in result.stdout


def test_add_then_verify_then_list(serve_argocd: Serve, tmp_path: Path) -> None:
    """`add` writes a 0600 store that `verify` then uses; `list` masks the token."""
    fake = serve_argocd()
    token = "tok-added-0123456789WXYZ"
    fake.token = token
    store = tmp_path / "home" / ".tracer" / "integrations.json"
    env = {"BELAY_INTEGRATIONS_FILE": str(store)}
    runner = CliRunner()
    added = runner.invoke(
        app,
        [
            "integrations",
            "add",
            "argocd",
            "--base-url",
            fake.url,
            "--token",
            "-",
            "--name",
            "lab",
            "--tags",
            "env=lab,local",
        ],
        env=env,
        input=f"{token}\n",
    )
    assert added.exit_code == 0, added.output
    assert "Saved Argo CD instance 'lab'" in added.stdout
    assert "plain http://" in added.stderr
    assert (store.stat().st_mode & 0o777) == 0o600

    verified = run(env)
    assert verified.exit_code == 0, verified.output
    assert "Instance: lab (store:argocd/lab)" in verified.stdout

    listed = runner.invoke(app, ["integrations", "list", "--output", "json"], env=env)
    assert listed.exit_code == 0, listed.output
    (view,) = json.loads(listed.stdout)["instances"]
    assert view["token"] == "****WXYZ"
    assert view["tags"] == ["env=lab", "local"]
    text = runner.invoke(app, ["integrations", "list"], env=env)
    assert "argocd/lab  active" in text.stdout
    assert token not in listed.output + text.output + added.output + verified.output


def test_add_and_list_bad_input_exit_2(tmp_path: Path) -> None:
    """Bad flags or a broken store give exit 2 and one line on stderr."""
    store = tmp_path / "s.json"
    env = {"BELAY_INTEGRATIONS_FILE": str(store)}
    runner = CliRunner()
    bad = runner.invoke(
        app,
        [
            "integrations",
            "add",
            "argocd",
            "--base-url",
            "http://remote.example.com",
            "--token",
            TOKEN,
        ],
        env=env,
    )
    assert bad.exit_code == 2
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("error: --base-url uses plain")
    assert not store.exists()

    store.write_text('{"version": 9, "integrations": []}')
    listed = runner.invoke(app, ["integrations", "list"], env=env)
    assert listed.exit_code == 2
    assert (
        listed.stderr.strip()
        == f"error: integration store {store} has an unknown version 9 (expected 1 or 2)"
    )
