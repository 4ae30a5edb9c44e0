"""Fuzzing: hypothesis (the bounded ``ci`` profile of conftest.py), atheris (time-boxed
subprocesses), schemathesis against the live API's /openapi.json, and hypothesis against the
live web guards (Host, Origin, Sec-Fetch-Site, Content-Type, cookies, CSRF tokens on every
state-changing route and the sign-in pages). No crash, no 5xx, no guard bypassed."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from belay.bootstrap import Services, build_services
from belay.config.settings import load_settings
from belay.gate import BundleError, ReportError, parse_report, read_bundle, write_bundle
from belay.gate.reports import PARSERS
from belay.intake import (
    AuthError,
    AuthResult,
    Credentials,
    WebhookKey,
    authenticate,
    sign_standard_webhook,
)
from belay.investigate.alerts import AlertParseError, parse_alert
from belay.web import create_app, serve_in_thread
from belay.web.guard import allowed_host_names, host_name

from .helpers import BundleFactory, reports, settings_yaml

pytestmark = pytest.mark.reliability

TARGETS = Path(__file__).parent / "fuzz_targets" / "targets.py"
ATHERIS_SECONDS = int(os.environ.get("BELAY_ATHERIS_SECONDS", "15"))
_KEY = b"hypothesis-webhook-key-0123456789"
_NOW = 1_800_000_000

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "alert_name",
                    "alertname",
                    "labels",
                    "annotations",
                    "alerts",
                    "status",
                    "startsAt",
                    "argocd_application",
                    "argocd_app",
                    "title",
                    "message",
                    "evalMatches",
                    "severity",
                    "commonLabels",
                    "fingerprint",
                    "matches",
                    "results",
                    "runs",
                    "bomFormat",
                    "version",
                ]
            )
            | st.text(max_size=10),
            inner,
            max_size=6,
        )
    ),
    max_leaves=25,
)


def _refusal(call: Callable[[], object], error: type[Exception]) -> Exception | None:
    """The error ``call`` refused with (only ``error`` may escape), or ``None``."""
    try:
        call()
    except error as err:
        return err
    return None


@given(_json)
def test_alert_parsing_never_crashes(raw: object) -> None:
    err = _refusal(lambda: parse_alert(raw, origin="fuzz"), AlertParseError)
    assert "\n" not in str(err)


@given(st.sampled_from(sorted(PARSERS)), _json, st.binary(max_size=64))
def test_every_report_parser_refuses_cleanly(kind: str, raw: object, noise: bytes) -> None:
    from belay.jsonio import dumps

    for data in (dumps(raw), noise):
        err = _refusal(lambda d=data: parse_report(d, f"{kind}-report.json"), ReportError)
        assert "\n" not in str(err)


_SEED_BUNDLE = write_bundle(
    reports(datetime(2026, 1, 1, tzinfo=UTC)),
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
    commit="b" * 40,
    branch="main",
    remote="https://gitlab.com/acme/x.git",
)


@given(st.lists(st.tuples(st.integers(0, len(_SEED_BUNDLE) - 1), st.integers(0, 255)), max_size=8))
def test_bundle_reading_survives_corruption(flips: list[tuple[int, int]]) -> None:
    data = bytearray(_SEED_BUNDLE)
    for where, value in flips:
        data[where] = value
    err = _refusal(lambda: read_bundle(bytes(data), "fuzz.tar.gz"), BundleError)
    assert "\n" not in str(err)


_CREDENTIALS = Credentials(webhook_keys=(WebhookKey(project="p", label="k", key=_KEY),))


@given(
    st.binary(max_size=128),
    st.text(max_size=40),
    st.one_of(st.just(str(_NOW)), st.text(max_size=12)),
    st.one_of(st.none(), st.text(max_size=120)),
    st.dictionaries(
        st.sampled_from(["authorization", "x-gitlab-token", "webhook-id"]),
        st.text(max_size=40),
        max_size=2,
    ),
)
def test_signature_checking_accepts_only_our_signature(
    body: bytes, webhook_id: str, stamp: str, signature: str | None, extra: dict[str, str]
) -> None:
    good = sign_standard_webhook(_KEY, webhook_id, _NOW, body)
    headers = {
        **extra,
        "webhook-id": webhook_id,
        "webhook-timestamp": stamp,
        "webhook-signature": good if signature is None else signature,
    }
    results: list[AuthResult] = []
    err = _refusal(
        lambda: results.append(authenticate(headers, body, _CREDENTIALS, now=_NOW)), AuthError
    )
    if err is not None:
        assert "\n" not in str(err)
        assert _KEY.decode() not in str(err)
        return
    [result] = results
    assert signature is None or good in signature.split()
    assert result.projects == frozenset({"p"})


def _atheris_available() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize(
    "target", ["alerts", "reports", "bundles", "signatures", "names", "web_headers"]
)
def test_atheris(target: str, tmp_path: Path) -> None:
    """Each target runs for a fixed time (and at most a fixed number of runs); a crash fails."""
    if not _atheris_available():
        pytest.fail("atheris is not installed (it is a dev dependency; see docs/reliability.md)")
    result = subprocess.run(
        [
            sys.executable,
            str(TARGETS),
            target,
            f"-max_total_time={ATHERIS_SECONDS}",
            "-runs=2000000",
            "-rss_limit_mb=2048",
            f"-artifact_prefix={tmp_path}/",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=ATHERIS_SECONDS + 120,
        check=False,
    )
    crashes = sorted(p.name for p in tmp_path.glob("crash-*"))
    assert result.returncode == 0 and not crashes, result.stderr[-4000:]
    assert "Done " in result.stderr, result.stderr[-2000:]


TOKEN = "schemathesis-token-Qm2"


def _live(
    tmp_path: Path, prepare: Callable[[Services], None] | None = None, **options: str
) -> Iterator[str]:
    """Serve a one-project Belay (``options`` go to settings_yaml) until the generator ends."""
    config = tmp_path / "belay.yaml"
    config.write_text(settings_yaml(f"sqlite:///{tmp_path / 'b.db'}", ["fuzzed"], **options))
    services = build_services(load_settings(config))
    if prepare is not None:
        prepare(services)
    try:
        with serve_in_thread(create_app(services)) as url:
            yield url
    finally:
        services.close()


def _one_submission(services: Services) -> None:
    """One real submission so that the read APIs and pages have something to show."""
    services.intake.submit(
        auth=AuthResult(method="token", projects=frozenset({"fuzzed"}), labels=("t",)),
        form={"action": "deploy", "status": "success"},
        bundle_bytes=BundleFactory()("fuzzed", "c" * 40, passing=False),
        bundle_name="b.tar.gz",
    )


@pytest.fixture
def live_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("BELAY_TOKEN_RELIABILITY", TOKEN)
    monkeypatch.setenv("BELAY_WEBHOOK_RELIABILITY", "whsec_" + base64.b64encode(_KEY).decode())
    yield from _live(tmp_path, _one_submission, webhook_secret_env="BELAY_WEBHOOK_RELIABILITY")


def test_schemathesis_finds_no_server_error(live_api: str, tmp_path: Path) -> None:
    """Every operation in /openapi.json, with a valid token, answered without a 5xx."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{live_api}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "40",
            "--seed",
            "1",
            "--header",
            f"Authorization: Bearer {TOKEN}",
            "--request-timeout",
            "30",
            "--report-dir",
            str(tmp_path),
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert " passed" in output and "failed" not in output, output[-3000:]


READ_TOKEN = "web-fuzz-read-token-Hd41"
_ROUTES = [
    ("POST", "/api/v1/alerts"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/logout"),
    ("GET", "/login"),
    ("POST", "/Build/SubmitArtifacts"),
    ("POST", "/api/v1/submissions"),
    ("GET", "/openapi.json"),
    ("GET", "/api/v1/submissions"),
    ("GET", "/submissions"),
    ("GET", "/docs"),
    ("GET", "/healthz"),
]
_HOSTS = st.sampled_from(["127.0.0.1", "localhost:1", "[::1]", "belay.test", "evil.example"]) | (
    st.text(max_size=30)
    .map(lambda t: t.encode("ascii", "ignore").decode())
    .filter(lambda t: t.isprintable())
)
_ORIGINS = st.none() | st.sampled_from(["http://belay.test", "null", "https://evil.example"])
_FETCH_SITES = st.none() | st.sampled_from(["same-origin", "none", "cross-site", "same-site"])
_TYPES = st.none() | st.sampled_from(
    [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=b",
        "application/merge-patch+json",
    ]
)
_AUTH = st.none() | st.sampled_from([f"Bearer {READ_TOKEN}", f"Bearer {TOKEN}", "Bearer nope"])
_BODIES = st.sampled_from(
    [b"", b"{}", b"token=x&csrf_token=0", b'{"alerts": []}', b"--b--\r\n", b"\xff\xfe"]
)
_COOKIES = st.none() | st.sampled_from(
    ["belay_session=x", "belay_csrf=abc", "belay_session=" + "a" * 300, "belay_csrf=\u00e9"]
)


@pytest.fixture
def live_guarded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Belay in token mode (sign-in form, sessions, CSRF) on a real server."""
    monkeypatch.setenv("BELAY_TOKEN_RELIABILITY", TOKEN)
    monkeypatch.setenv("BELAY_WEB_FUZZ_TOKEN", READ_TOKEN)
    yield from _live(tmp_path, extra="web_token_env: BELAY_WEB_FUZZ_TOKEN\n")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(_ROUTES),
    host=_HOSTS,
    origin=_ORIGINS,
    fetch_site=_FETCH_SITES,
    content_type=_TYPES,
    authorization=_AUTH,
    body=_BODIES,
    cookie=_COOKIES,
)
def test_web_guards_hold_under_fuzzed_headers(
    live_guarded: str,
    route: tuple[str, str],
    host: str,
    origin: str | None,
    fetch_site: str | None,
    content_type: str | None,
    authorization: str | None,
    body: bytes,
    cookie: str | None,
) -> None:
    """Any mix of headers: never a 5xx; a foreign Host is 400 (health aside); every answer has
    the CSP; a cross-site or non-JSON alert never runs; no sign-in without a CSRF pair."""
    method, path = route
    headers: dict[str, bytes] = {"Host": host.encode()}
    for name, value in (
        ("Origin", origin),
        ("Sec-Fetch-Site", fetch_site),
        ("Content-Type", content_type),
        ("Authorization", authorization),
        ("Cookie", cookie),
    ):
        if value is not None:
            headers[name] = value.encode()  # raw bytes, as a client may send them
    try:
        response = httpx.request(
            method, f"{live_guarded}{path}", headers=headers, content=body or None, timeout=30
        )
    except httpx.LocalProtocolError:
        return  # httpx itself refuses to send the header (not a request Belay could see)
    assert response.status_code < 500, (route, headers, response.text[:300])
    assert "default-src 'none'" in response.headers.get("content-security-policy", "")
    served_host = host_name(host) in allowed_host_names("http://belay.test")
    if not served_host and path != "/healthz":
        assert response.status_code == 400
    if path == "/api/v1/alerts" and response.status_code == 201:
        assert authorization == f"Bearer {READ_TOKEN}"
        assert (content_type or "").split(";")[0] in (
            "application/json",
            "application/merge-patch+json",
        )
    if path == "/login" and method == "POST":
        assert response.status_code != 303  # no CSRF pair is ever generated here
