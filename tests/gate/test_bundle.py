"""Bundle reader and writer: integrity checks, unsafe archives refused, secrets kept out."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from belay import jsonio
from belay.gate import BundleError, BundleLimits, read_bundle, submission_from_bundle, write_bundle
from belay.redact import redact_text

WHEN = datetime(2025, 6, 1, 12, tzinfo=UTC)


def _tar_gz(entries: list[tarfile.TarInfo | tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                archive.addfile(entry)
            else:
                info = tarfile.TarInfo(entry[0])
                info.size = len(entry[1])
                archive.addfile(info, io.BytesIO(entry[1]))
    return gzip.compress(buffer.getvalue())


def _manifest(files: dict[str, bytes]) -> bytes:
    return jsonio.dumps(
        {
            "version": "1",
            "createdAt": "2025-06-01T12:00:00Z",
            "files": {
                k: {"digest": hashlib.sha256(v).hexdigest(), "tags": []} for k, v in files.items()
            },
        }
    )


def test_round_trip_with_context(scans: Path) -> None:
    """write_bundle produces what read_bundle accepts, with digests and the git context."""
    grype = (scans / "grype-report.json").read_bytes()
    blob = write_bundle(
        [("grype-report.json", grype, ["type:grype"])],
        created_at=WHEN,
        commit="a" * 40,
        branch="main",
        remote="https://gitlab.example/app.git\n",
    )
    bundle = read_bundle(blob, "gatecheck-bundle.tar.gz")
    assert [(c.rule, c.status) for c in bundle.checks] == [
        ("bundle.manifest", "pass"),
        ("bundle.digest", "pass"),
    ]
    assert bundle.tags["grype-report.json"] == ("type:grype",)
    submission = submission_from_bundle(bundle)
    assert submission.bundle is not None
    assert submission.bundle.commit == "a" * 40
    assert submission.bundle.remote == "https://gitlab.example/app.git"
    assert len(submission.reports[0].findings) == 62


def test_digest_mismatch_fails() -> None:
    """A file whose bytes differ from the manifest's SHA-256 fails bundle.digest."""
    files = {"gitleaks-report.json": b"[]"}
    blob = _tar_gz(
        [("gatecheck-manifest.json", _manifest(files)), ("gitleaks-report.json", b"[ ]")]
    )
    checks = {c.rule: c for c in read_bundle(blob, "b.tgz").checks}
    assert checks["bundle.digest"].status == "fail"
    assert "gitleaks-report.json" in checks["bundle.digest"].message


def test_missing_manifest_and_extra_file_fail() -> None:
    """No manifest fails; a file not listed, or listed but absent, fails bundle.manifest."""
    no_manifest = read_bundle(_tar_gz([("gitleaks-report.json", b"[]")]), "a.tgz")
    assert no_manifest.checks[0].status == "fail"
    manifest = _manifest({"semgrep.json": b"{}"})
    odd = read_bundle(
        _tar_gz([("gatecheck-manifest.json", manifest), ("gitleaks-report.json", b"[]")]), "b.tgz"
    )
    message = next(c.message for c in odd.checks if c.rule == "bundle.manifest")
    assert "listed but missing: semgrep.json" in message
    assert "not in the manifest: gitleaks-report.json" in message


@pytest.mark.parametrize("name", ["../evil.json", "/etc/passwd", "dir/x.json", ".."])
def test_path_names_refused(name: str) -> None:
    """Entry names with a path in them are refused, never unpacked."""
    with pytest.raises(BundleError, match="not a plain file name"):
        read_bundle(_tar_gz([(name, b"[]")]), "bad.tgz")


@pytest.mark.parametrize(
    "kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.DIRTYPE]
)
def test_links_and_devices_refused(kind: bytes) -> None:
    """Symlinks, hard links, devices and directories are refused."""
    info = tarfile.TarInfo("grype.json")
    info.type = kind
    info.linkname = "/etc/passwd"
    with pytest.raises(BundleError, match="not a regular file"):
        read_bundle(_tar_gz([info]), "links.tgz")


def test_truncated_gzip_and_garbage() -> None:
    """A cut gzip stream or bytes that are not gzip give one clear error."""
    blob = _tar_gz([("gitleaks-report.json", b"[]" * 1000)])
    with pytest.raises(BundleError, match="truncated gzip"):
        read_bundle(blob[: len(blob) // 2], "cut.tgz")
    with pytest.raises(BundleError, match="not a gzip file"):
        read_bundle(b"PK\x03\x04", "zip.tgz")


def test_tar_bomb_refused() -> None:
    """A small archive that would unpack to far more than the limits is refused early."""
    zeros = b"\x00" * (64 * 1024 * 1024)
    blob = _tar_gz([("gitleaks-report.json", zeros)])
    assert len(blob) < 1024 * 1024
    with pytest.raises(BundleError, match="compression ratio"):
        read_bundle(blob, "bomb.tgz")
    with pytest.raises(BundleError, match="unpacks to more than"):
        read_bundle(blob, "bomb.tgz", limits=BundleLimits(max_total_bytes=1024 * 1024))


def test_too_many_entries_refused() -> None:
    """Entry count is bounded."""
    blob = _tar_gz([(f"f{i}.json", b"[]") for i in range(5)])
    with pytest.raises(BundleError, match="more than 3 entries"):
        read_bundle(blob, "many.tgz", limits=BundleLimits(max_entries=3))


def test_portage_config_secret_redacted_in_this_bundle_only() -> None:
    """portage-config.json's webhook secret is redacted in the bundle's kept configuration and
    stored copy, and is *not* registered process-wide (it would black out other verdicts).
    The judged entries are stored as sent, so that a replay judges what the intake judged."""
    secret = "s3cr3t-webhook-value-998877"
    config = jsonio.dumps(
        {"ImageTag": "app:1", "Deploy": {"WebhookAuthHeader": f"Bearer {secret}"}}
    )
    leaks = jsonio.dumps([{"RuleID": "generic-api-key", "File": "a.py", "StartLine": 3}])
    files = {"portage-config.json": config, "gitleaks-secrets-report.json": leaks}
    blob = _tar_gz([("gatecheck-manifest.json", _manifest(files)), *files.items()])
    bundle = read_bundle(blob, "p.tgz")
    assert "portage-config.json" not in bundle.entries
    assert secret not in repr(bundle)
    assert bundle.portage_config["ImageTag"] == "app:1"
    assert secret.encode() not in gzip.decompress(bundle.stored_copy)
    assert redact_text(f"leaked {secret}") == f"leaked {secret}"
    # The stored copy is itself a sound bundle: every digest matches its entries, the report
    # (whose name holds "secrets") is listed under its name, and is kept byte for byte.
    again = read_bundle(bundle.stored_copy, "p.tgz")
    assert {(c.rule, c.status) for c in again.checks} == {
        ("bundle.manifest", "pass"),
        ("bundle.digest", "pass"),
    }
    assert again.entries == bundle.entries
    assert again.portage_config == bundle.portage_config


def test_a_duplicate_key_cannot_hide_a_config_secret() -> None:
    """A config whose secret key appears twice (the last one empty) parses to the empty value;
    the stored copy is still rebuilt from the parsed view, so the first value is not kept."""
    secret = "glpat-duplicatekeycanary0011"
    config = (
        b'{"ImageTag": "app:1", "Deploy": {"WebhookAuthHeader": "Bearer '
        + secret.encode()
        + b'", "WebhookAuthHeader": ""}}'
    )
    files = {"portage-config.json": config, "gitleaks-report.json": b"[]"}
    blob = _tar_gz([("gatecheck-manifest.json", _manifest(files)), *files.items()])
    bundle = read_bundle(blob, "dup.tgz")
    assert secret.encode() not in gzip.decompress(bundle.stored_copy)


def test_a_remote_with_a_job_token_is_not_stored() -> None:
    """GitLab CI origin URLs carry the job token; the stored manifest loses it."""
    token = "glcbt-64_jobtokencanary123456789"
    blob = write_bundle(
        [("gitleaks-report.json", b"[]", ["type:gitleaks"])],
        created_at=WHEN,
        commit="a" * 40,
        branch="main",
        remote=f"https://gitlab-ci-token:{token}@gitlab.com/acme/app.git",
    )
    bundle = read_bundle(blob, "job.tgz")
    assert token.encode() not in gzip.decompress(bundle.stored_copy)
    assert read_bundle(bundle.stored_copy, "job.tgz").entries == bundle.entries


def test_unreadable_report_in_bundle_fails_verdict_input() -> None:
    """An entry that is not a report becomes a failing bundle.report check, not a crash."""
    files = {"grype-report.json": b'{"matches": 5}'}
    blob = _tar_gz([("gatecheck-manifest.json", _manifest(files)), *files.items()])
    submission = submission_from_bundle(read_bundle(blob, "x.tgz"))
    failing = [c for c in submission.checks if c.status == "fail"]
    assert failing[0].rule == "bundle.report"
    assert "grype-report.json" in failing[0].message
