"""Atheris fuzz targets: ``python targets.py NAME [libFuzzer flags]``.

Each target feeds the fuzzer's bytes to one of Belay's input readers; the only exceptions allowed
out are that reader's own error type (bad input gets one clear line, never a crash). Any other
exception ends the run with a non-zero exit and a ``crash-*`` file, which fails the test.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tarfile
from collections.abc import Callable
from datetime import UTC, datetime

import atheris

with atheris.instrument_imports(include=["belay"]):
    from belay.argocd import InvalidArgoCDName, check_name, path_segment
    from belay.gate import BundleError, ReportError, parse_report, read_bundle, write_bundle
    from belay.gate.reports import PARSERS
    from belay.intake import AuthError, Credentials, WebhookKey, authenticate, sign_standard_webhook
    from belay.investigate.alerts import AlertParseError, parse_alert_bytes
    from belay.web.csrf import CsrfTokens
    from belay.web.guard import allowed_host_names, cross_site_refusal, host_name

_KEY = b"fuzz-webhook-key-0123456789abcdef"
_CREDENTIALS = Credentials(webhook_keys=(WebhookKey(project="p", label="fuzz", key=_KEY),))
_NOW = 1_800_000_000
_REPORT_NAMES = [*(f"{kind}-report.json" for kind in PARSERS), "coverage.lcov", "report.sarif"]


def alerts(data: bytes) -> None:
    with contextlib.suppress(AlertParseError):
        parse_alert_bytes(data, origin="fuzz")


def reports(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    name = fdp.PickValueInList(_REPORT_NAMES)
    with contextlib.suppress(ReportError):
        parse_report(fdp.ConsumeBytes(fdp.remaining_bytes()), name)


def _seed_bundle() -> bytes:
    now = datetime.fromtimestamp(_NOW, UTC)
    return write_bundle(
        [("grype-report.json", b'{"matches": []}', ["type:grype"]), ("gitleaks.json", b"[]", [])],
        created_at=now,
        commit="a" * 40,
        branch="main",
        remote="https://example.com/r.git",
    )


_SEED = _seed_bundle()


def bundles(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 2)
    if mode == 0:  # raw bytes
        blob = fdp.ConsumeBytes(fdp.remaining_bytes())
    elif mode == 1:  # the valid bundle with bytes overwritten
        raw = bytearray(_SEED)
        while fdp.remaining_bytes() > 2:
            raw[fdp.ConsumeIntInRange(0, len(raw) - 1)] = fdp.ConsumeInt(1) & 0xFF
        blob = bytes(raw)
    else:  # a well-formed tar.gz with fuzzed members
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w:gz") as tar:
            for _ in range(fdp.ConsumeIntInRange(0, 3)):
                name = fdp.PickValueInList(["gatecheck-manifest.json", "a.json", "../x", "d/"])
                body = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 512))
                info = tarfile.TarInfo(name)
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
        blob = out.getvalue()
    with contextlib.suppress(BundleError):
        read_bundle(blob, "fuzz.tar.gz")


def signatures(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    body = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 256))
    webhook_id = fdp.ConsumeUnicodeNoSurrogates(40)
    stamp = fdp.ConsumeUnicodeNoSurrogates(12) if fdp.ConsumeBool() else str(_NOW)
    if fdp.ConsumeBool():
        signature = fdp.ConsumeUnicodeNoSurrogates(120)
    else:
        signature = sign_standard_webhook(_KEY, webhook_id, _NOW, body)
    headers = {"webhook-id": webhook_id, "webhook-timestamp": stamp, "webhook-signature": signature}
    if fdp.ConsumeBool():
        headers["authorization"] = fdp.ConsumeUnicodeNoSurrogates(60)
    try:
        result = authenticate(headers, body, _CREDENTIALS, now=_NOW)
    except AuthError:
        return
    # Accepted only when the signature is really ours.
    expected = sign_standard_webhook(_KEY, webhook_id, int(stamp), body)
    if expected not in signature.split():
        raise AssertionError("a delivery without our signature was accepted")
    assert result.projects == frozenset({"p"})


_KINDS = ["application", "project", "namespace"]


def names(data: bytes) -> None:
    """A name that passes is a Kubernetes name; an encoded segment never walks the path."""
    fdp = atheris.FuzzedDataProvider(data)
    kind = fdp.PickValueInList(_KINDS)
    value = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 300))
    try:
        checked = check_name(value, kind)
    except InvalidArgoCDName as err:
        if "\n" in str(err):
            raise AssertionError("a name error spans lines") from err
    else:
        assert checked == value and value not in (".", "..") and "/" not in value
        assert value == value.lower() and len(value) <= 253
    try:
        segment = path_segment(value, "revision")
    except InvalidArgoCDName:
        return
    assert "/" not in segment and segment not in (".", "..") and "?" not in segment


_ALLOWED = allowed_host_names("https://belay.example.com", ["belay.ns.svc"])
_CSRF = CsrfTokens(b"fuzz-csrf-key-0123456789abcdef01")


def web_headers(data: bytes) -> None:
    """Host parsing, the allow-list, the cross-site rule and CSRF checks never crash, and a
    forged CSRF token never passes."""
    fdp = atheris.FuzzedDataProvider(data)
    host = fdp.ConsumeUnicodeNoSurrogates(80)
    name = host_name(host)
    if name is not None:
        assert ":" not in name or host.strip().startswith("[")
        _ = name in _ALLOWED
    headers = {}
    if fdp.ConsumeBool():
        headers["origin"] = fdp.ConsumeUnicodeNoSurrogates(80)
    if fdp.ConsumeBool():
        headers["sec-fetch-site"] = fdp.ConsumeUnicodeNoSurrogates(20)
    reason = cross_site_refusal(headers, host=host, public_url="https://belay.example.com")
    if headers.get("sec-fetch-site", "").strip().lower() == "cross-site":
        assert reason is not None
    nonce = fdp.ConsumeUnicodeNoSurrogates(40)
    token = fdp.ConsumeUnicodeNoSurrogates(70)
    if _CSRF.valid(nonce, token):
        assert token == _CSRF.token(nonce)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "alerts": alerts,
    "reports": reports,
    "bundles": bundles,
    "signatures": signatures,
    "names": names,
    "web_headers": web_headers,
}

if __name__ == "__main__":
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()
