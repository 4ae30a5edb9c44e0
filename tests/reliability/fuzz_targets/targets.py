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
    from belay.gate import BundleError, ReportError, parse_report, read_bundle, write_bundle
    from belay.gate.reports import PARSERS
    from belay.intake import AuthError, Credentials, WebhookKey, authenticate, sign_standard_webhook
    from belay.investigate.alerts import AlertParseError, parse_alert_bytes

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


TARGETS: dict[str, Callable[[bytes], None]] = {
    "alerts": alerts,
    "reports": reports,
    "bundles": bundles,
    "signatures": signatures,
}

if __name__ == "__main__":
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()
