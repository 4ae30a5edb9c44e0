"""The intake over real HTTP: Portage-shaped multipart deliveries, verdicts, storage, queue."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tests.support import NATIVE_PATH, delivery_request, post_delivery, signed_webhook_headers

from belay.jsonio import dumps

from .conftest import (
    COMMIT,
    OTHER_TOKEN,
    REMOTE,
    TOKEN,
    WEBHOOK_KEY,
    Gate,
    bundle,
    clean_reports,
    post,
    start_gate,
)


def failing_reports(shared_dir: Path) -> list[tuple[str, bytes, list[str]]]:
    """The clean set with the real grype fixture (8 Critical) in place of the clean grype."""
    reports = [r for r in clean_reports(datetime.now(UTC)) if "grype" not in r[0]]
    grype = (shared_dir / "fixtures/scans/grype-report.json").read_bytes()
    return [*reports, ("grype-vulnerability-report.json", grype, ["type:grype"])]


def test_passing_bundle_is_stored_and_queued(gate: Gate) -> None:
    """A passing delivery gets 200 + pass, and the submission, decision, job and audit are stored."""
    response = post(gate, bundle())
    assert response.status_code == 200, response.text
    verdict = response.json()["verdict"]
    assert verdict["decision"] == "pass"
    assert verdict["detailsUrl"].startswith("http://belay.test/submissions/")
    assert {r["rule"] for r in verdict["reasons"]} >= {"grype.critical", "commit.binding"}
    with gate.services.store.unit_of_work() as uow:
        [submission] = uow.submissions.list()
        decision = uow.decisions.get(submission.decision_id or "")
        jobs = uow.jobs.for_decision(decision.id if decision else "")
        kinds = [e.kind for e in uow.audit.list(submission_id=submission.id)]
        assert uow.audit.verify() is None
    assert submission.commit_sha == COMMIT
    assert submission.project == "example-app"
    assert submission.auth_method == "token"
    assert decision is not None
    assert decision.application == "guestbook"
    assert len(jobs) == 1
    assert jobs[0].revision == COMMIT
    assert jobs[0].spec["revision"] == COMMIT
    assert jobs[0].spec["prune"] is True
    assert kinds == ["submission.received", "verdict.decided", "job.queued"]


def test_failing_bundle_gets_fail_and_no_job(gate: Gate, shared_dir: Path) -> None:
    """A failing delivery still gets 200, with the failing rule named, and nothing is queued."""
    response = post(gate, bundle(failing_reports(shared_dir)))
    assert response.status_code == 200
    verdict = response.json()["verdict"]
    assert verdict["decision"] == "fail"
    failed = [r for r in verdict["reasons"] if r["status"] == "fail"]
    assert any(r["rule"] == "grype.critical" and "CVE-" in r["message"] for r in failed)
    with gate.services.store.unit_of_work() as uow:
        assert uow.jobs.list() == []


def test_retried_job_rebuilding_the_bundle_is_idempotent(gate: Gate) -> None:
    """A GitLab retry rebuilds the archive (other bytes) with the same reports: same verdict, one job."""
    reports = clean_reports(datetime.now(UTC))
    first = post(gate, bundle(reports))
    second = post(gate, bundle(reports, created_at=datetime.now(UTC) + timedelta(seconds=5)))
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    with gate.services.store.unit_of_work() as uow:
        assert len(uow.submissions.list()) == 1
        assert len(uow.jobs.list()) == 1


def test_concurrent_replays_make_one_decision(gate: Gate) -> None:
    """The same delivery sent five times at once gives one decision and one job."""
    data = bundle()
    with ThreadPoolExecutor(5) as pool:
        responses = list(pool.map(lambda _: post(gate, data), range(5)))
    assert {r.status_code for r in responses} <= {200, 409}
    assert any(r.status_code == 200 for r in responses)
    with gate.services.store.unit_of_work() as uow:
        assert len(uow.submissions.list()) == 1
        assert len(uow.jobs.list()) == 1


def _signed_post(gate: Gate, data: bytes, webhook_id: str) -> httpx.Response:
    request = delivery_request(gate.url, data)
    request.headers.update(signed_webhook_headers(WEBHOOK_KEY, request.content, webhook_id))
    with httpx.Client(timeout=30) as client:
        return client.send(request)


def test_standard_webhooks_signed_delivery(gate: Gate) -> None:
    """A signed delivery is accepted; its webhook-id reused for other content is a 422."""
    first = _signed_post(gate, bundle(), "msg_abc")
    assert first.status_code == 200, first.text
    assert first.json()["verdict"]["decision"] == "pass"
    replay = _signed_post(gate, bundle(commit="b" * 40), "msg_abc")
    assert replay.status_code == 422


def test_unauthenticated_is_401_and_recorded(gate: Gate) -> None:
    """A wrong token gets 401 with a JSON reason, is audited, and the token is not echoed."""
    response = post(gate, bundle(), token="not-the-token-xyz")
    assert response.status_code == 401
    assert "not-the-token-xyz" not in response.text
    with gate.services.store.unit_of_work() as uow:
        events = uow.audit.list()
        submissions = uow.submissions.list()
    assert [e.kind for e in events] == ["intake.unauthorized"]
    assert submissions == []


def test_bad_signature_is_401(gate: Gate) -> None:
    """A malformed or wrong signature is a 401, never a 500."""
    headers = {"webhook-id": "m1", "webhook-timestamp": "nan", "webhook-signature": "v1,xx"}
    assert post(gate, bundle(), token=None, headers=headers).status_code == 401


def test_token_of_another_project_is_403(gate: Gate) -> None:
    """A token bound to another project cannot submit for this one."""
    response = post(gate, bundle(), token=OTHER_TOKEN)
    assert response.status_code == 403
    assert "example-app" in response.json()["error"]


def test_unmapped_remote_fails_without_sync(gate: Gate) -> None:
    """A bundle whose remote maps to no project gets a fail verdict that says so, and no job."""
    response = post(gate, bundle(remote="https://gitlab.com/acme/unknown.git"))
    assert response.status_code == 200
    verdict = response.json()["verdict"]
    assert verdict["decision"] == "fail"
    assert any(r["rule"] == "mapping" for r in verdict["reasons"])
    with gate.services.store.unit_of_work() as uow:
        assert uow.jobs.list() == []


def test_tampered_bundle_fails_digest(gate: Gate) -> None:
    """A bundle whose entry does not match its manifest digest fails bundle.digest (200, no sync)."""
    import io
    import tarfile

    original = bundle()
    with tarfile.open(fileobj=io.BytesIO(original), mode="r:gz") as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else b"") for m in tar.getmembers()]  # type: ignore[union-attr]
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for member, data in members:
            if member.name.endswith("gitleaks-secrets-report.json"):
                data = b'[{"RuleID": "aws-access-key"}]'
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    response = post(gate, out.getvalue())
    assert response.status_code == 200
    verdict = response.json()["verdict"]
    assert verdict["decision"] == "fail"
    assert any(r["rule"] == "bundle.digest" and r["status"] == "fail" for r in verdict["reasons"])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": "build", "status": "success"}, "action"),
        ({"status": "success"}, "action"),
        ({"action": "deploy", "status": "failed"}, "status"),
        ({"action": "deploy", "status": "success", "validation": "maybe"}, "validation"),
    ],
)
def test_malformed_fields_are_400(gate: Gate, fields: dict[str, str], message: str) -> None:
    """Wrong or missing fields get 400 with a JSON reason naming the field."""
    response = post(gate, bundle(), fields=fields)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_a_field_echoed_in_an_error_is_redacted_and_cut(gate: Gate) -> None:
    """A wrong field value quoted back in the 400 goes through redaction and is shortened, so
    a secret pasted into the wrong field is not sent back (nor is a megabyte of text)."""
    secret = "Bearer Zx81opQw77LmNb52TyUi"
    response = post(gate, bundle(), fields={"action": f"{secret} {'x' * 5000}", "status": "x"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert "Zx81opQw77LmNb52TyUi" not in error and "[REDACTED]" in error
    assert error.startswith("field 'action' must be 'deploy', got ") and len(error) < 200


def test_missing_bundle_wrong_type_broken_multipart(gate: Gate) -> None:
    """No bundle is 400, JSON instead of multipart is 415, a broken multipart body is 400."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    no_file = httpx.post(
        f"{gate.url}/Build/SubmitArtifacts",
        data={"action": "deploy", "status": "success"},
        files={"other": ("x", b"1")},
        headers=auth,
    )
    assert no_file.status_code == 400
    as_json = httpx.post(
        f"{gate.url}/Build/SubmitArtifacts", json={"action": "deploy"}, headers=auth
    )
    assert as_json.status_code == 415
    broken = httpx.post(
        f"{gate.url}/Build/SubmitArtifacts",
        content=b'--xyz\r\nContent-Disposition: form-data; name="bundle"; filename="b"\r\n\r\ntruncated',
        headers={**auth, "Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert broken.status_code == 400
    assert "error" in broken.json()


def test_native_api(gate: Gate) -> None:
    """POST /api/v1/submissions takes the same bundle with JSON metadata."""
    response = post_delivery(
        gate.url,
        bundle(),
        path=NATIVE_PATH,
        fields={"metadata": dumps({"validation": "passed"}).decode()},
        authorization=TOKEN,
    )
    assert response.status_code == 200, response.text
    assert response.json()["verdict"]["decision"] == "pass"


def test_health_endpoints(gate: Gate) -> None:
    """/healthz answers; /readyz says the store is migrated; /openapi.json is published."""
    assert httpx.get(f"{gate.url}/healthz").text == "ok"
    assert httpx.get(f"{gate.url}/readyz").json() == {"ready": True}
    spec = httpx.get(f"{gate.url}/openapi.json").json()
    assert "/Build/SubmitArtifacts" in spec["paths"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=False)
def test_body_limit_and_rate_limit(tmp_path: Path, gate_env: None, database_url: str) -> None:
    """A body over the limit is 413 while streaming; too many deliveries per token get 429."""
    gen = start_gate(
        tmp_path, f"sqlite:///{tmp_path / 'b.db'}", max_body_bytes=20_000, rate_limit_per_minute=2
    )
    gate = next(gen)
    try:
        big = post(gate, b"\x1f\x8b" + b"0" * 50_000)
        assert big.status_code == 413

        def chunks():  # type: ignore[no-untyped-def]
            yield b'--b\r\nContent-Disposition: form-data; name="bundle"; filename="x"\r\n\r\n'
            for _ in range(30):
                yield b"0" * 1000

        streamed = httpx.post(
            f"{gate.url}/Build/SubmitArtifacts",
            content=chunks(),
            headers={"Authorization": TOKEN, "Content-Type": "multipart/form-data; boundary=b"},
        )
        assert streamed.status_code == 413
        codes = [post(gate, bundle(commit=f"{n:040x}")).status_code for n in range(3)]
        assert codes[:2] == [200, 200]
        assert codes[2] == 429
    finally:
        gen.close()


def test_remote_forms_match(gate: Gate) -> None:
    """The project matches whether the bundle's remote has credentials, no .git or a newline."""
    remote = (
        REMOTE.replace("https://", "https://gitlab-ci-token:glcbt-64_abc@").removesuffix(".git")
        + "\n"
    )
    response = post(gate, bundle(remote=remote))
    assert response.json()["verdict"]["decision"] == "pass"
    with gate.services.store.unit_of_work() as uow:
        stored = uow.submissions.list()[0]
    assert "glcbt-64_abc" not in str(stored.manifest)
    assert stored.remote is not None
    assert "glcbt-64_abc" not in stored.remote
    assert base64.b64encode(b"glcbt-64_abc").decode() not in str(stored.manifest)


def test_worker_needs_no_submit_tokens(tmp_path: Path) -> None:
    """A worker builds without the intake's secrets; the gate refuses to start without them."""
    from belay.bootstrap import build_services
    from belay.config.errors import ConfigError
    from belay.config.settings import load_settings

    from .conftest import settings_text

    path = tmp_path / "belay.yaml"
    path.write_text(settings_text(f"sqlite:///{tmp_path / 'w.db'}"))
    services = build_services(load_settings(path), with_intake=False)
    assert services.credentials.tokens == ()
    services.close()
    with pytest.raises(ConfigError, match="BELAY_TOKEN_EXAMPLE_APP is not set"):
        build_services(load_settings(path))


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("commitHash", {"commit": "a" * 65}),
        ("branch", {"branch": "b" * 300}),
        ("remote", {"remote": "https://gitlab.com/" + "r" * 1100 + ".git"}),
    ],
)
def test_overlong_manifest_context_is_400(gate: Gate, field: str, kwargs: dict[str, str]) -> None:
    """A manifest value too long to be real is refused with a 400 naming it, on both stores."""
    response = post(gate, bundle(**kwargs))
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]
    with gate.services.store.unit_of_work() as uow:
        assert uow.submissions.list() == []
