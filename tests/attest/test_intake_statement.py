"""What the intake signs is what it judged: reports, policy, threat data, target and sync spec."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import httpx
import yaml
from tests.support import bearer, portage_bundle, post_delivery

from belay.attest import Envelope, policy_digest, verify_attestation, write_key_pair
from belay.attest.keyfiles import PRIVATE_KEY_NAME
from belay.bootstrap import build_services
from belay.config.settings import BelaySettings
from belay.gate import load_policy_set
from belay.gate.samples import sample_reports
from belay.intake import hash_token
from belay.policies import packaged_policy
from belay.web import create_app, serve_in_thread

REMOTE = "https://gitlab.com/acme/guestbook.git"
TOKEN = "statement-token-3Kf9"
COMMIT = "7c1e9a2b5d3f4e6a8b0c1d2e3f4a5b6c7d8e9f01"
KEV = b'{"catalogVersion": "2026.12.01", "vulnerabilities": [{"cveID": "CVE-2020-0001"}]}'
EPSS = (
    b"#model_version:v2025.03.14,score_date:2026-12-01T00:00:00+0000\n"
    b"cve,epss,percentile\nCVE-2020-0001,0.5,0.9\n"
)


def _policy(tmp_path: Path) -> Path:
    policy = yaml.safe_load(packaged_policy().read_text())
    policy.setdefault("belay", {})["data"] = {"kev": "kev.json", "epss": "epss.csv"}
    (tmp_path / "kev.json").write_bytes(KEV)
    (tmp_path / "epss.csv").write_bytes(EPSS)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


def test_the_signed_statement_names_what_was_judged(tmp_path: Path) -> None:
    """Subjects are the commit and each report's bytes; the predicate carries the effective
    policy's digest, the KEV/EPSS files' digests, the target and the job's exact sync spec."""
    write_key_pair(tmp_path / "keys")
    policy = _policy(tmp_path)
    settings = BelaySettings.model_validate(
        {
            "database_url": f"sqlite:///{tmp_path / 'b.db'}",
            "public_url": "http://belay.test",
            "signing_key_file": f"keys/{PRIVATE_KEY_NAME}",
            "policies": {"default": str(policy)},
            "projects": [
                {
                    "name": "guestbook",
                    "match": {"remote": REMOTE},
                    "token_sha256": [hash_token(TOKEN)],
                    "argocd": {"application": "guestbook", "project": "default"},
                    "sync": {"revision": "commit", "prune": True},
                }
            ],
            "base_dir": str(tmp_path),
        }
    )
    services = build_services(settings, environ={})
    now = datetime.now(UTC)
    reports = sample_reports(now)
    data = portage_bundle(reports, commit=COMMIT, remote=REMOTE, created_at=now)
    try:
        with serve_in_thread(create_app(services)) as url:
            response = post_delivery(url, data, authorization=bearer(TOKEN))
            verdict = response.json()["verdict"]
            assert verdict["decision"] == "pass", verdict
            decision_id = verdict["attestationUrl"].rsplit("/", 1)[1]
            envelope = httpx.get(f"{url}/api/v1/attestations/{decision_id}", timeout=10).content
        with services.store.unit_of_work() as uow:
            [job] = uow.jobs.for_decision(decision_id)
            decision = uow.decisions.get(decision_id)
            decided = next(
                e for e in uow.audit.list(decision_id=decision_id) if e.kind == "verdict.decided"
            )
    finally:
        services.close()
    assert decision is not None
    assert decision.verdict["attestationUrl"] == verdict["attestationUrl"]
    assert decided.data["attestation"]["sha256"] == hashlib.sha256(envelope).hexdigest()

    verified = verify_attestation(
        Envelope.from_json(envelope), services.signing.keyring, commit=COMMIT
    )
    statement = verified.statement
    expected_reports = sorted(
        (label, hashlib.sha256(body).hexdigest()) for label, body, _tags in reports
    )
    assert statement.subject[0].name == f"{REMOTE}@main"
    assert [(s.name, s.digest["sha256"]) for s in statement.subject[1:]] == expected_reports
    predicate = statement.predicate
    effective = load_policy_set(policy).for_branch("main").model_dump(mode="json")
    assert predicate.policy.name == "default"
    assert predicate.policy.sha256 == policy_digest(effective)
    kev, epss = predicate.data["kev"], predicate.data["epss"]
    assert kev is not None and kev.sha256 == hashlib.sha256(KEV).hexdigest()
    assert kev.version == "2026.12.01"
    assert epss is not None and epss.sha256 == hashlib.sha256(EPSS).hexdigest()
    assert epss.version == "2026-12-01T00:00:00+0000"
    assert predicate.argocd is not None and predicate.argocd.application == "guestbook"
    assert predicate.sync == job.spec
    assert predicate.decided_at == decision.decided_at
    assert predicate.decision_id == decision_id
    assert predicate.reasons == tuple(
        {"rule": r["rule"], "status": r["status"], "message": r["message"]}
        for r in decision.verdict["reasons"]
    )
