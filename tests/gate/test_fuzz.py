"""Property tests: random bytes and random JSON never crash a parser or the bundle reader."""

from __future__ import annotations

import contextlib
import gzip
import io
import tarfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from belay import jsonio
from belay.gate import BundleError, ReportError, parse_report, read_bundle, submission_from_bundle
from belay.gate.reports import PARSERS
from belay.gate.reports.coverage import parse_lcov, parse_xml

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                [
                    "matches",
                    "bomFormat",
                    "results",
                    "runs",
                    "version",
                    "SchemaVersion",
                    "Results",
                    "RuleID",
                    "vulnerability",
                    "artifact",
                    "id",
                    "severity",
                    "extra",
                    "paths",
                    "vulnerabilities",
                    "ratings",
                    "check_id",
                    "$schema",
                    "descriptor",
                    "x",
                ]
            )
            | st.text(max_size=8),
            inner,
            max_size=6,
        )
    ),
    max_leaves=30,
)

_ALL_PARSERS = [*PARSERS.values(), parse_lcov, parse_xml]
_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    """Random bytes: every parser returns a report or raises ReportError."""
    for parser in [parse_report, *_ALL_PARSERS]:
        with contextlib.suppress(ReportError):
            parser(data, "fuzz")


@_SETTINGS
@given(_json)
def test_random_json(value: object) -> None:
    """Random JSON (with report-like keys): a report or a ReportError, never another error."""
    data = jsonio.dumps(value)
    for parser in [parse_report, *_ALL_PARSERS]:
        with contextlib.suppress(ReportError):
            parser(data, "fuzz.json")


@_SETTINGS
@given(st.binary(max_size=300), st.booleans())
def test_random_bundles(data: bytes, wrap: bool) -> None:
    """Random bytes, raw or inside a gzip'd tar entry: a bundle or a BundleError."""
    if wrap:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for name in ("gatecheck-manifest.json", "grype.json"):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        data = gzip.compress(buffer.getvalue())
    with contextlib.suppress(BundleError):
        submission_from_bundle(read_bundle(data, "fuzz.tgz"))
