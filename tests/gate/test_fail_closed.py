"""The gate fails closed on hostile and real-world input (issue: no bypass, bounded cost).

Each test names the way a failing build used to pass, or the input that used to cost a 500 or
unbounded memory, and shows it now fails (or is refused) with a reason naming the input.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from datetime import UTC, datetime, timedelta

import pytest

from belay import jsonio
from belay.gate import (
    BundleError,
    BundleFacts,
    BundleLimits,
    EvaluationContext,
    ReportError,
    Submission,
    evaluate,
    is_commit_id,
    parse_policy_set,
    parse_report,
    read_bundle,
    submission_from_bundle,
    write_bundle,
)
from belay.gate.evaluate import is_placeholder_fingerprint

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
COMMIT = "3f1e2d3c4b5a69788f1e2d3c4b5a69788f1e2d3c"


def _policy(text: str):  # type: ignore[no-untyped-def]
    return parse_policy_set(text, source="test.yaml").default


def _status(verdict) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {r.rule: r.status for r in verdict.reasons}


def _semgrep(*severities: str, fingerprint: str = "requires login") -> bytes:
    results = [
        {
            "check_id": f"python.lang.security.rule-{i}",
            "path": f"app/m{i}.py",
            "start": {"line": 10 + i, "col": 1},
            "end": {"line": 10 + i, "col": 9},
            "extra": {"severity": severity, "message": "m", "fingerprint": fingerprint},
        }
        for i, severity in enumerate(severities)
    ]
    return jsonio.dumps({"version": "1.100.0", "results": results, "errors": [], "paths": {}})


# --- 1. severities ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "judged"),
    [
        ("CRITICAL", "error"),
        ("HIGH", "error"),
        ("MEDIUM", "warning"),
        ("LOW", "info"),
        ("ERROR", "error"),
        ("WARNING", "warning"),
        ("INFO", "info"),
        ("INVENTORY", "info"),
        ("EXPERIMENT", "info"),
    ],
)
def test_semgrep_severity_words_map_as_documented(word: str, judged: str) -> None:
    """Every match severity semgrep documents maps onto ERROR/WARNING/INFO; the word is kept."""
    [finding] = parse_report(_semgrep(word), "semgrep.json").findings
    assert finding.severity == judged
    assert finding.label == (None if word.lower() == judged else word)


def test_semgrep_critical_findings_fail_semgrep_error() -> None:
    """A build with CRITICAL semgrep findings used to pass `semgrep.error: 0 ERROR results`."""
    report = parse_report(_semgrep("CRITICAL", "HIGH"), "semgrep-sast-report.json")
    policy = _policy("semgrep: {severityLimit: {error: {enabled: true, limit: 0}}}")
    verdict = evaluate(Submission(reports=(report,)), policy, EvaluationContext(now=NOW))
    assert verdict.decision == "fail"
    reason = next(r for r in verdict.reasons if r.rule == "semgrep.error")
    assert reason.status == "fail"
    assert "2 ERROR results" in reason.message
    assert "(CRITICAL)" in reason.message


@pytest.mark.parametrize(
    ("report", "field"),
    [
        (_semgrep("BLOCKER"), "results[0].extra.severity"),
        (_semgrep(""), "results[0].extra.severity"),
        (
            jsonio.dumps({"matches": [{"vulnerability": {"id": "CVE-1", "severity": "Severe"}}]}),
            "matches[0].vulnerability.severity",
        ),
        (
            jsonio.dumps({"matches": [{"vulnerability": {"id": "CVE-1"}}]}),
            "matches[0].vulnerability.severity",
        ),
        (
            jsonio.dumps(
                {
                    "SchemaVersion": 2,
                    "Results": [
                        {"Vulnerabilities": [{"VulnerabilityID": "CVE-1", "Severity": "MAJOR"}]}
                    ],
                }
            ),
            "Results[0].Vulnerabilities[0].Severity",
        ),
        (
            jsonio.dumps(
                {
                    "bomFormat": "CycloneDX",
                    "vulnerabilities": [{"id": "CVE-1", "ratings": [{"severity": "severe"}]}],
                }
            ),
            "vulnerabilities[0].ratings[0].severity",
        ),
        (
            jsonio.dumps(
                {
                    "version": "2.1.0",
                    "runs": [{"results": [{"ruleId": "r", "level": "fatal"}]}],
                }
            ),
            "runs[0].results[0].level",
        ),
        (
            jsonio.dumps(
                {
                    "version": "2.1.0",
                    "runs": [
                        {"results": [{"ruleId": "r", "properties": {"security-severity": "high"}}]}
                    ],
                }
            ),
            "runs[0].results[0] security-severity",
        ),
    ],
)
def test_undocumented_values_fail_closed_naming_file_field_value(report: bytes, field: str) -> None:
    """A value the format does not document is an error naming the file and the field."""
    with pytest.raises(ReportError) as caught:
        parse_report(report, "scan.json")
    message = str(caught.value)
    assert message.startswith("scan.json: ")
    assert field in message
    assert "\n" not in message


def test_undocumented_value_in_a_bundle_is_a_fail() -> None:
    """In a bundle, the unknown value fails the build (bundle.report), it is never skipped."""
    blob = write_bundle(
        [("semgrep-sast-report.json", _semgrep("BLOCKER"), ["type:semgrep"])],
        created_at=NOW,
        commit=COMMIT,
    )
    submission = submission_from_bundle(read_bundle(blob, "b.tgz"))
    verdict = evaluate(submission, _policy("{}"), EvaluationContext(now=NOW))
    assert verdict.decision == "fail"
    assert "BLOCKER" in next(r.message for r in verdict.reasons if r.rule == "bundle.report")


def test_cyclonedx_rating_with_only_a_score_is_graded_by_it() -> None:
    """A CycloneDX rating may carry a score without a severity: 9.8 is critical, not unknown."""
    doc = {
        "bomFormat": "CycloneDX",
        "vulnerabilities": [{"id": "CVE-1", "ratings": [{"score": 9.8, "method": "CVSSv31"}]}],
    }
    [finding] = parse_report(jsonio.dumps(doc), "sbom.json").findings
    assert finding.severity == "critical"


def test_clamav_unscanned_files_fail() -> None:
    """A file clamscan could not scan is not a clean file."""
    text = (
        b"/scan/a.bin: Can't open file or directory ERROR\n\n"
        b"----------- SCAN SUMMARY -----------\nInfected files: 0\nTotal errors: 1\n"
    )
    report = parse_report(text, "clamav-virus-report.txt")
    policy = _policy("belay: {clamav: {enabled: true}}")
    verdict = evaluate(Submission(reports=(report,)), policy, EvaluationContext(now=NOW))
    reason = next(r for r in verdict.reasons if r.rule == "clamav.infected")
    assert reason.status == "fail"
    assert "/scan/a.bin" in reason.message


# --- 2. configuration tags -------------------------------------------------------------------

_CRITICAL_GRYPE = jsonio.dumps(
    {
        "matches": [
            {
                "vulnerability": {"id": "CVE-2024-3094", "severity": "Critical"},
                "artifact": {"name": "xz-utils", "version": "5.6.0"},
            }
        ],
        "descriptor": {"name": "grype", "timestamp": NOW.isoformat()},
    }
)
_LEAK = jsonio.dumps(
    [{"RuleID": "aws-access-token", "File": "config.py", "StartLine": 3, "Commit": COMMIT}]
)


@pytest.mark.parametrize(
    ("label", "tag"),
    [
        ("grype-vulnerability-report.json", "type:portage-config"),
        ("grype-vulnerability-report.json", "type:gatecheck-config"),
        ("portage-config.json", "type:portage-config"),
        ("gatecheck-config.yml", "type:gatecheck-config"),
    ],
)
def test_config_tags_do_not_hide_reports(label: str, tag: str) -> None:
    """A failing report tagged (or named) as configuration is judged all the same."""
    blob = write_bundle(
        [
            (label, _CRITICAL_GRYPE, [tag]),
            ("gitleaks-report.json", _LEAK, ["type:portage-config"]),
        ],
        created_at=NOW,
        commit=COMMIT,
    )
    bundle = read_bundle(blob, "b.tgz")
    assert set(bundle.entries) == {label, "gitleaks-report.json"}
    policy = _policy(
        "grype: {severityLimit: {critical: {enabled: true, limit: 0}}}\n"
        "gitleaks: {limitEnabled: true}"
    )
    verdict = evaluate(submission_from_bundle(bundle), policy, EvaluationContext(now=NOW))
    assert verdict.decision == "fail"
    assert _status(verdict)["grype.critical"] == "fail"
    assert _status(verdict)["gitleaks.secrets"] == "fail"


def test_real_configuration_entries_are_recognised() -> None:
    """Portage's own config and policy, with their names and shapes, are not judged."""
    config = jsonio.dumps({"ImageTag": "app:1", "Deploy": {"Enabled": True}})
    policy_text = b'version: "1"\ngrype:\n  severityLimit: {critical: {enabled: true, limit: 0}}\n'
    blob = write_bundle(
        [
            ("portage-config.json", config, ["type:portage-config"]),
            ("gatecheck-config.yml", policy_text, ["type:gatecheck-config"]),
            ("gitleaks-report.json", b"[]", ["type:gitleaks"]),
        ],
        created_at=NOW,
        commit=COMMIT,
    )
    bundle = read_bundle(blob, "b.tgz")
    assert set(bundle.entries) == {"gitleaks-report.json"}
    assert bundle.portage_config == {"ImageTag": "app:1", "Deploy": {"Enabled": True}}
    assert bundle.declared_policy == policy_text.decode()


def test_a_config_name_without_the_config_shape_is_judged() -> None:
    """`gatecheck-config.yml` holding something else is judged, and fails as no report."""
    blob = write_bundle(
        [("gatecheck-config.yml", b"just: text\nof: nothing\n", ["type:gatecheck-config"])],
        created_at=NOW,
        commit=COMMIT,
    )
    submission = submission_from_bundle(read_bundle(blob, "b.tgz"))
    assert any(
        c.rule == "bundle.report" and c.status == "fail" and "gatecheck-config.yml" in c.message
        for c in submission.checks
    )


# --- 3. symbolic commits ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "commit", ["HEAD", "main", "refs/heads/main", "1f0e2d3", "--prune", "g" * 40, "a" * 41, ""]
)
def test_only_a_full_commit_id_is_a_commit(commit: str) -> None:
    """commit.binding fails a bundle whose commitHash is not a full hexadecimal commit id."""
    assert not is_commit_id(commit)
    report = parse_report(b"[]", "gitleaks.json")
    facts = BundleFacts(name="b.tgz", commit=commit or None, created_at=NOW)
    submission = Submission(reports=(report,), bundle=facts)
    for binding in ("true", "false"):
        policy = _policy(f"belay: {{commitBinding: {{enabled: {binding}}}}}")
        verdict = evaluate(submission, policy, EvaluationContext(now=NOW, deploy_commit=commit))
        assert verdict.decision == "fail", (binding, verdict.reasons)
        reason = next(r for r in verdict.reasons if r.rule == "commit.binding")
        assert "nothing will be synced" in reason.message or "names no commit" in reason.message


def test_full_commit_ids_of_both_hashes_pass() -> None:
    """SHA-1 (40) and SHA-256 (64) commit ids are commits."""
    assert is_commit_id("a" * 40)
    assert is_commit_id("0123456789abcdefABCDEF" + "0" * 42)


# --- 4. placeholder fingerprints -------------------------------------------------------------


def test_placeholder_fingerprint_exception_accepts_nothing() -> None:
    """One exception with id `requires login` used to accept every ERROR finding."""
    report = parse_report(_semgrep("ERROR", "ERROR", "ERROR", "ERROR"), "semgrep.json")
    until = (NOW + timedelta(days=30)).date().isoformat()
    policy = _policy(
        "semgrep: {severityLimit: {error: {enabled: true, limit: 0}}}\n"
        "belay:\n  exceptions:\n"
        f"    - {{id: 'requires login', owner: mallory, expires: '{until}', reason: r}}\n"
        f"    - {{id: 'matchBasedId/v1:requires login', owner: mallory, expires: '{until}',"
        " reason: r}\n"
    )
    verdict = evaluate(Submission(reports=(report,)), policy, EvaluationContext(now=NOW))
    reason = next(r for r in verdict.reasons if r.rule == "semgrep.error")
    assert reason.status == "fail"
    assert "4 ERROR results" in reason.message


def test_placeholder_fingerprint_findings_match_on_rule_file_and_line() -> None:
    """Such a finding is excepted by its rule, file and line, and the reason says so."""
    report = parse_report(_semgrep("ERROR", "ERROR"), "semgrep.json")
    until = (NOW + timedelta(days=30)).date().isoformat()
    policy = _policy(
        "semgrep: {severityLimit: {error: {enabled: true, limit: 0}}}\n"
        "belay:\n  exceptions:\n"
        f"    - {{id: 'python.lang.security.rule-0:app/m0.py:10', owner: alice,"
        f" expires: '{until}', reason: r}}\n"
    )
    verdict = evaluate(Submission(reports=(report,)), policy, EvaluationContext(now=NOW))
    reason = next(r for r in verdict.reasons if r.rule == "semgrep.error")
    assert reason.status == "fail"  # the second finding is not covered
    assert "1 ERROR result" in reason.message
    assert "matched on rule, file and line" in reason.message


@pytest.mark.parametrize(
    ("value", "placeholder"),
    [
        ("requires login", True),
        ("matchBasedId/v1:requires login", True),
        ("", True),
        ("0000000000", True),
        ("matchBasedId/v1:9f1c2e", False),
        (f"{COMMIT}:src/v1/app.py:aws-access-token:0", False),
        ("cc63a684cea6218025_0", False),
    ],
)
def test_placeholder_fingerprints_are_recognised(value: str, placeholder: bool) -> None:
    """Placeholders are told apart from real fingerprints."""
    assert is_placeholder_fingerprint(value) is placeholder


# --- 9. bounded cost -------------------------------------------------------------------------


def _tar_gz(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for label, data in members:
            info = tarfile.TarInfo(label)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue())


def test_a_manifest_listing_many_files_fails_briefly() -> None:
    """A manifest listing 10,000 files fails bundle.manifest with a count, not the names."""
    files = {f"f{i:06d}.json": {"digest": "0" * 64} for i in range(10_000)}
    manifest = jsonio.dumps({"version": "1", "files": files})
    bundle = read_bundle(_tar_gz([("gatecheck-manifest.json", manifest)]), "many.tgz")
    [check] = [c for c in bundle.checks if c.rule == "bundle.manifest"]
    assert check.status == "fail"
    assert "lists 10000 files" in check.message
    assert len(check.message) < 300
    assert bundle.manifest is None


def test_a_huge_manifest_fails_on_its_size() -> None:
    """A manifest of megabytes (100,000 files) fails before it is parsed or stored."""
    files = {f"f{i:06d}.json": {"digest": "0" * 64} for i in range(100_000)}
    manifest = jsonio.dumps({"version": "1", "files": files})
    bundle = read_bundle(_tar_gz([("gatecheck-manifest.json", manifest)]), "huge.tgz")
    [check] = [c for c in bundle.checks if c.rule == "bundle.manifest"]
    assert check.status == "fail"
    assert "larger than 4 MiB" in check.message
    assert bundle.manifest is None


def test_missing_names_are_listed_a_few_and_counted() -> None:
    """Within the limit, missing entries are named five at a time with a count of the rest."""
    files = {f"f{i}.json": {"digest": "0" * 64} for i in range(40)}
    manifest = jsonio.dumps({"version": "1", "files": files})
    bundle = read_bundle(_tar_gz([("gatecheck-manifest.json", manifest)]), "m.tgz")
    [check] = [c for c in bundle.checks if c.rule == "bundle.manifest"]
    assert "and 35 more" in check.message


def test_an_entry_over_its_size_limit_is_refused_before_it_is_read() -> None:
    """The per-entry limit is checked from the tar header."""
    blob = _tar_gz([("grype.json", b"x" * 5000), ("ok.json", b"[]")])
    with pytest.raises(BundleError, match=r"entry 'grype\.json' unpacks to more than 4096"):
        read_bundle(blob, "big.tgz", limits=BundleLimits(max_entry_bytes=4096))


def test_inflated_total_is_bounded() -> None:
    """The total inflated size is bounded across entries."""
    blob = _tar_gz([(f"r{i}.json", b"x" * 3000) for i in range(4)])
    with pytest.raises(BundleError, match="unpacks to more than 8192"):
        read_bundle(blob, "total.tgz", limits=BundleLimits(max_total_bytes=8192))


# --- 10. deep JSON ---------------------------------------------------------------------------


def test_a_deeply_nested_report_fails_naming_the_file() -> None:
    """A report nested 100,000 levels deep is a failing bundle.report naming it, not a 500."""
    deep = b"[" * 100_000 + b"]" * 100_000
    blob = write_bundle([("grype-deep.json", deep, ["type:grype"])], created_at=NOW, commit=COMMIT)
    submission = submission_from_bundle(read_bundle(blob, "d.tgz"))
    reason = next(c for c in submission.checks if c.rule == "bundle.report")
    assert reason.status == "fail"
    assert "grype-deep.json" in reason.message
    deep_obj = b'{"matches": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(ReportError, match="nested too deeply"):
        parse_report(deep_obj, "grype.json")


def _nested(depth: int) -> bytes:
    """JSON text of objects nested ``depth`` levels (built as text: encoders refuse the depth)."""
    return b'{"a": ' * depth + b'{"x": 1}' + b"}" * depth


def test_deep_portage_config_and_manifest_fail_the_manifest_check() -> None:
    """A 900-deep manifest fails bundle.manifest; a 900-deep config is judged (and fails)."""
    leaks = b"[]"
    digest = hashlib.sha256(leaks).hexdigest().encode()
    manifest = (
        b'{"version": "1", "files": {"gitleaks.json": {"digest": "'
        + digest
        + b'", "deep": '
        + _nested(900)
        + b"}}}"
    )
    bundle = read_bundle(
        _tar_gz([("gatecheck-manifest.json", manifest), ("gitleaks.json", leaks)]), "deep.tgz"
    )
    [check] = [c for c in bundle.checks if c.rule == "bundle.manifest"]
    assert check.status == "fail" and "nested more than 64 levels" in check.message

    config = _nested(900)
    blob = write_bundle(
        [("portage-config.json", config, ["type:portage-config"])], created_at=NOW, commit=COMMIT
    )
    submission = submission_from_bundle(read_bundle(blob, "c.tgz"))
    assert any(c.rule == "bundle.report" and c.status == "fail" for c in submission.checks)


# --- incomplete scans and ambiguous documents (outside review) --------------------------------


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({"version": "2.1.0", "runs": []}, "runs is empty"),
        ({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}}]}, "results is absent"),
        (
            {
                "version": "2.1.0",
                "runs": [{"results": [], "invocations": [{"executionSuccessful": False}]}],
            },
            "executionSuccessful is false",
        ),
        (
            {
                "version": "1.100.0",
                "results": [],
                "errors": [{"level": "error", "type": "InvalidRuleSchemaError"}],
                "paths": {},
            },
            "InvalidRuleSchemaError",
        ),
        ({"bomFormat": "CycloneDX", "matches": []}, "more than one report format"),
    ],
)
def test_incomplete_scans_and_ambiguous_documents_fail(
    doc: dict[str, object], problem: str
) -> None:
    """An incomplete scan is not a clean one, and a document that reads as two formats is
    refused rather than judged as one of them."""
    with pytest.raises(ReportError, match=problem):
        parse_report(jsonio.dumps(doc), "scan.json")


def test_semgrep_file_warnings_do_not_fail_the_report() -> None:
    """A file semgrep could not parse is a warning ("warn"), not an incomplete scan."""
    doc = {
        "version": "1.100.0",
        "results": [],
        "errors": [{"level": "warn", "type": "Syntax error"}],
        "paths": {},
    }
    assert parse_report(jsonio.dumps(doc), "semgrep.json").findings == ()


@pytest.mark.parametrize("line", [b"Scanned files: 0", b"Known viruses: 0"])
def test_clamav_summary_of_no_scan_fails(line: bytes) -> None:
    """A summary saying nothing was scanned (or no signature loaded) is no scan."""
    text = b"----------- SCAN SUMMARY -----------\n" + line + b"\nInfected files: 0\n"
    with pytest.raises(ReportError, match=": 0"):
        parse_report(text, "clamav-virus-report.txt")


def test_long_labels_are_cut_in_messages() -> None:
    """A 2 MiB rule id cannot make a verdict megabytes long."""
    report = parse_report(_semgrep("ERROR"), "semgrep.json")
    long_rule = "r" * 2_000_000
    finding = report.findings[0]
    import msgspec

    report = msgspec.structs.replace(
        report, findings=(msgspec.structs.replace(finding, id=long_rule, rule=long_rule),)
    )
    policy = _policy("semgrep: {severityLimit: {error: {enabled: true, limit: 0}}}")
    verdict = evaluate(Submission(reports=(report,)), policy, EvaluationContext(now=NOW))
    assert max(len(r.message) for r in verdict.reasons) < 1000


def test_spdx_creator_parsing_is_linear() -> None:
    """A long hostile creator string is read without backtracking (it used to take seconds)."""
    creator = "Tool: " + "a-1" * 200_000 + "!"
    doc = {"spdxVersion": "SPDX-2.3", "creationInfo": {"creators": [creator]}, "packages": []}
    assert parse_report(jsonio.dumps(doc), "sbom.json").producer.startswith("a-1")
