"""A hostile submitter with a valid token, against a served gate (SQLite and PostgreSQL).

Each test is a way a failing or unscanned build used to get a pass and a deployment, or a way
one submission used to damage others, reproduced over HTTP; nothing may be queued, leaked or
answered with a 5xx.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from belay import jsonio
from belay.bootstrap import build_services
from belay.config.settings import load_settings
from belay.gate import write_bundle
from belay.web import create_app, serve_in_thread

from .conftest import (
    COMMIT,
    OTHER_TOKEN,
    REMOTE,
    Gate,
    bundle,
    clean_reports,
    post,
    settings_text,
)


def _jobs(gate: Gate) -> list[object]:
    with gate.services.store.unit_of_work() as uow:
        return list(uow.jobs.list())


_CRITICAL = jsonio.dumps(
    {
        "matches": [
            {
                "vulnerability": {"id": "CVE-2024-3094", "severity": "Critical"},
                "artifact": {"name": "xz-utils", "version": "5.6.0"},
            }
        ],
        "descriptor": {"name": "grype", "timestamp": datetime.now(UTC).isoformat()},
    }
)


@pytest.mark.parametrize("tag", ["type:portage-config", "type:gatecheck-config"])
def test_config_tag_on_a_failing_report_is_no_pass(gate: Gate, tag: str) -> None:
    """A Critical CVE tagged as configuration used to give pass and a deployment."""
    reports = [r for r in clean_reports(datetime.now(UTC)) if "grype" not in r[0]]
    reports.append(("grype-vulnerability-report.json", _CRITICAL, [tag]))
    response = post(gate, bundle(reports))
    assert response.status_code == 200, response.text
    verdict = response.json()["verdict"]
    assert verdict["decision"] == "fail"
    assert any(r["rule"] == "grype.critical" and r["status"] == "fail" for r in verdict["reasons"])
    assert _jobs(gate) == []


@pytest.mark.parametrize("commit", ["HEAD", "main", "refs/heads/main", "1f0e2d3", "--prune"])
def test_symbolic_commit_is_a_fail_and_queues_nothing(gate: Gate, commit: str) -> None:
    """In sync.revision: commit mode a name or short id was synced as given."""
    response = post(gate, bundle(commit=commit))
    assert response.status_code == 200, response.text
    verdict = response.json()["verdict"]
    assert verdict["decision"] == "fail"
    binding = next(r for r in verdict["reasons"] if r["rule"] == "commit.binding")
    assert binding["status"] == "fail"
    assert "not a full commit id" in binding["message"]
    assert _jobs(gate) == []


def _portage_config(**deploy: str) -> bytes:
    return jsonio.dumps(
        {
            "ImageTag": "registry.example/app:1",
            "ImagePublish": {"Password": deploy.pop("password", "")},
            "Deploy": {"Enabled": True, **deploy},
        }
    )


def test_a_bundles_config_values_do_not_redact_other_verdicts(gate: Gate) -> None:
    """Another project's portage-config used to register CVE ids, rule ids and 'accepted' as
    secrets: later verdicts were blacked out, and a retry answered 500."""
    poison = _portage_config(
        WebhookAuthHeader="CVE-2024-3094", Token="grype.critical", SecretWord="accepted"
    )
    other = write_bundle(
        [
            *clean_reports(datetime.now(UTC)),
            ("portage-config.json", poison, ["type:portage-config"]),
        ],
        created_at=datetime.now(UTC),
        commit=COMMIT,
        remote="https://gitlab.com/acme/other.git",
    )
    first = post(gate, other, token=OTHER_TOKEN)
    assert first.status_code == 200, first.text

    reports = [r for r in clean_reports(datetime.now(UTC)) if "grype" not in r[0]]
    reports.append(("grype-vulnerability-report.json", _CRITICAL, ["type:grype"]))
    failing = bundle(reports)
    response = post(gate, failing)
    assert response.status_code == 200, response.text
    text = response.text
    assert "CVE-2024-3094" in text
    assert "grype.critical" in text
    assert "[REDACTED]" not in text
    retry = post(gate, failing)
    assert retry.status_code == 200, retry.text
    assert retry.json() == response.json()
    with gate.services.store.unit_of_work() as uow:
        events = uow.audit.list()
    assert not any("[REDACTED]" in jsonio.dumps_text(e.data) for e in events)


def test_same_reports_for_another_branch_are_judged_anew(gate: Gate) -> None:
    """The replay key ignored remote and branch: a verdict for feature/x came back for main."""
    reports = clean_reports(datetime.now(UTC))
    feature = post(gate, bundle(reports, branch="feature/x"))
    assert feature.status_code == 200
    assert feature.json()["verdict"]["decision"] == "fail"  # the project maps main only
    main = post(gate, bundle(reports, branch="main"))
    assert main.status_code == 200
    assert main.json()["verdict"]["decision"] == "pass"
    assert len(_jobs(gate)) == 1
    with gate.services.store.unit_of_work() as uow:
        assert len(uow.submissions.list()) == 2


def _stored_text(blob: bytes) -> bytes:
    """Everything a stored bundle holds, opened: the gzip stream and each tar member."""
    raw = gzip.decompress(blob)
    out = [raw]
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
        for member in archive:
            handle = archive.extractfile(member)
            if handle is not None:
                out.append(handle.read())
    return b"\n".join(out)


def test_stored_bundle_holds_no_config_secret(gate: Gate) -> None:
    """submissions.bundle was the raw upload, with WebhookAuthHeader and registry passwords."""
    header = "Bearer portage-webhook-canary-5b7d1e2f9a"
    password = "registry-password-canary-8c3e"
    config = _portage_config(WebhookAuthHeader=header, password=password)
    reports = [*clean_reports(datetime.now(UTC)), ("portage-config.json", config, [])]
    response = post(gate, bundle(reports))
    assert response.status_code == 200, response.text
    assert response.json()["verdict"]["decision"] == "pass"
    with gate.services.store.unit_of_work() as uow:
        [submission] = uow.submissions.list()
        stored = uow.submissions.bundle(submission.id)
    assert stored is not None
    opened = _stored_text(stored)
    assert b"portage-webhook-canary" not in opened
    assert password.encode() not in opened
    assert b"registry.example/app:1" in opened  # the rest of the config is kept


def test_deeply_nested_report_is_a_fail_with_an_audit_entry(gate: Gate) -> None:
    """A report nested 100,000 levels deep gave a 500 with no verdict and no audit entry."""
    deep = b"[" * 100_000 + b"]" * 100_000
    reports = [*clean_reports(datetime.now(UTC)), ("grype-deep-report.json", deep, ["type:grype"])]
    response = post(gate, bundle(reports))
    assert response.status_code == 200, response.text
    verdict = response.json()["verdict"]
    assert verdict["decision"] == "fail"
    assert any("grype-deep-report.json" in r["message"] for r in verdict["reasons"])
    with gate.services.store.unit_of_work() as uow:
        kinds = [e.kind for e in uow.audit.list()]
    assert "verdict.decided" in kinds
    assert _jobs(gate) == []


def test_deep_manifest_and_config_are_a_fail(gate: Gate) -> None:
    """A manifest or portage-config.json nested 900 deep gave a 500."""
    deep = b'{"a": ' * 900 + b"{}" + b"}" * 900
    reports = [*clean_reports(datetime.now(UTC)), ("portage-config.json", deep, [])]
    response = post(gate, bundle(reports))
    assert response.status_code == 200, response.text
    assert response.json()["verdict"]["decision"] == "fail"
    assert _jobs(gate) == []


def test_huge_manifest_is_answered_briefly(gate: Gate) -> None:
    """A 600 KB upload whose manifest lists 200,000 files stored 30 MB and answered 6.6 MB."""
    files = {f"f{i:06d}.json": {"digest": "0" * 64} for i in range(200_000)}
    manifest = jsonio.dumps(
        {"version": "1", "files": files, "context": {"commitHash": COMMIT, "remote": REMOTE}}
    )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("gatecheck-manifest.json")
        info.size = len(manifest)
        archive.addfile(info, io.BytesIO(manifest))
    response = post(gate, gzip.compress(buffer.getvalue()))
    assert response.status_code == 200, response.text[:300]
    assert response.json()["verdict"]["decision"] == "fail"
    assert len(response.content) < 64 * 1024
    with gate.services.store.unit_of_work() as uow:
        [submission] = uow.submissions.list()
    assert submission.manifest is None


def test_refreshed_threat_data_is_read_while_running(
    tmp_path: Path, gate_env: None, database_url: str
) -> None:
    """A running gate read its KEV file once, forever (even a missing one): a daily refresh
    was never seen. A changed file is read again, and the decision records its new digest."""
    import json

    from belay.policies import PACKAGED_POLICIES

    kev = tmp_path / "kev.json"
    policy = tmp_path / "kev-policy.yaml"
    policy.write_text(
        'version: "1"\ngrype: {kevLimitEnabled: true}\nbelay: {data: {kev: kev.json}}\n'
    )
    text = settings_text(database_url).replace(str(PACKAGED_POLICIES / "default.yaml"), str(policy))
    (tmp_path / "belay.yaml").write_text(text)
    services = build_services(load_settings(tmp_path / "belay.yaml"))
    try:
        with serve_in_thread(create_app(services)) as url:
            gate = Gate(url=url, services=services)
            reports = [r for r in clean_reports(datetime.now(UTC)) if "grype" not in r[0]]
            reports.append(("grype-vulnerability-report.json", _CRITICAL, ["type:grype"]))
            missing = post(gate, bundle(reports, commit="1" * 40))
            kev_rule = [r for r in missing.json()["verdict"]["reasons"] if r["rule"] == "grype.kev"]
            assert kev_rule[0]["status"] == "fail"  # no catalog: fails closed
            kev.write_text(json.dumps({"vulnerabilities": [{"cveID": "CVE-2000-0001"}]}))
            now_read = post(gate, bundle(reports, commit="2" * 40))
            kev_rule = [
                r for r in now_read.json()["verdict"]["reasons"] if r["rule"] == "grype.kev"
            ]
            assert kev_rule[0]["status"] == "pass"
            kev.write_text(json.dumps({"vulnerabilities": [{"cveID": "CVE-2024-3094"}]}))
            refreshed = post(gate, bundle(reports, commit="3" * 40))
            kev_rule = [
                r for r in refreshed.json()["verdict"]["reasons"] if r["rule"] == "grype.kev"
            ]
            assert kev_rule[0]["status"] == "fail" and "CVE-2024-3094" in kev_rule[0]["message"]
    finally:
        services.close()
