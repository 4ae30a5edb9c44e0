"""``belay policy whatif`` and ``belay policy diff`` against a real store (SQLite and PostgreSQL).

Submissions are judged by the real intake (at chosen decision times), then replayed through the
CLI under candidate policies. The replay must flip what the candidate changes and nothing else,
judge at the original decision's time, write no decision, job or sync, and audit itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from tests.support import BUNDLE_NAME, DEPLOY_FORM, portage_bundle
from typer.testing import CliRunner

from belay import jsonio
from belay.bootstrap import Services, build_services
from belay.cli import app
from belay.config.settings import load_settings
from belay.gate.samples import sample_reports
from belay.intake import AuthResult

REMOTE = "https://gitlab.com/acme/whatif-app.git"
T0 = datetime(2026, 10, 1, 12, tzinfo=UTC)
AUTH = AuthResult(method="token", projects=frozenset({"app"}), labels=("test",))

# The policy in force: Critical vulnerabilities and leaked secrets fail the build.
CURRENT = """version: "1"
grype:
  severityLimit:
    critical: {enabled: true, limit: 0}
gitleaks: {limitEnabled: true}
belay:
  commitBinding: {enabled: true}
"""


@dataclass
class World:
    """A configured Belay with a store, and where its files are."""

    folder: Path
    config: Path
    services: Services
    database_url: str

    def submit(self, n: int, *, failing: bool, at: datetime, config: bool = True) -> str:
        """Judge one Portage-shaped delivery at ``at`` (with Portage's config, holding a webhook
        header, as real bundles carry it); the submission id."""
        commit = f"{n:040x}"
        reports = sample_reports(at - timedelta(minutes=5), failing=failing, commit=commit)
        if config:
            portage = {"ImageTag": "app:1", "Deploy": {"WebhookAuthHeader": f"Bearer {commit}"}}
            reports.append(("portage-config.json", jsonio.dumps(portage), ["type:portage-config"]))
        blob = portage_bundle(
            reports, commit=commit, remote=REMOTE, created_at=at - timedelta(minutes=5)
        )
        self.services.intake.clock = lambda: at
        response = self.services.intake.submit(
            auth=AUTH, form=DEPLOY_FORM, bundle_bytes=blob, bundle_name=BUNDLE_NAME
        )
        assert response.status_code == 200, response.body
        assert response.submission_id is not None
        return response.submission_id

    def candidate(self, text_: str, name: str = "candidate.yaml") -> Path:
        path = self.folder / name
        path.write_text(text_)
        return path

    def whatif(self, *args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(
            app, ["policy", "whatif", "--config", str(self.config), *args], catch_exceptions=False
        )
        return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    policy = tmp_path / "policies" / "current.yaml"
    policy.parent.mkdir()
    policy.write_text(CURRENT)
    config = tmp_path / "belay.yaml"
    config.write_text(
        f"""database_url: "{database_url}"
public_url: http://belay.example
policies:
  current: {policy}
projects:
  - name: app
    match: {{remote: "{REMOTE}", branch: main}}
    token_sha256: ["{"0" * 64}"]
    policy: current
    argocd: {{application: app}}
    sync: {{revision: commit}}
"""
    )
    services = build_services(load_settings(config))
    try:
        yield World(tmp_path, config, services, database_url)
    finally:
        services.close()


def _counts(world: World) -> dict[str, int]:
    engine = create_engine(world.database_url)
    try:
        with engine.connect() as conn:
            return {
                table: conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
                for table in ("decisions", "jobs", "submissions")
            }
    finally:
        engine.dispose()


def test_stricter_policy_flips_pass_to_fail(world: World) -> None:
    """Forbidding High too does not flip clean builds; requiring clamav flips every pass."""
    clean = world.submit(1, failing=False, at=T0)
    world.submit(2, failing=True, at=T0 + timedelta(minutes=1))
    before = _counts(world)
    stricter = world.candidate(CURRENT + "  requiredReports: [clamav]\n")
    code, out, _ = world.whatif("--policy", str(stricter), "--project", "app", "--output", "json")
    assert code == 1, out
    doc = jsonio.loads(out)
    assert doc["evaluated"] == 2 and doc["unchanged"] == 1
    [flip] = doc["flipped"]
    assert flip["submission"] == clean
    assert (flip["before"], flip["after"]) == ("pass", "fail")
    assert {"rule": "required.clamav", "before": "absent", "after": "fail"} in flip["rules"]
    assert flip["commit"] == f"{1:040x}" and flip["decidedAt"].startswith("2026-10-01T12:00")
    assert _counts(world) == before  # no decision, no job, no submission written


def test_laxer_policy_flips_fail_to_pass(world: World) -> None:
    """Turning the Critical limit and the secrets check off lets the failing build through."""
    world.submit(1, failing=False, at=T0)
    failing = world.submit(2, failing=True, at=T0)
    laxer = world.candidate('version: "1"\nbelay: {commitBinding: {enabled: true}}\n')
    code, out, _ = world.whatif("--policy", str(laxer), "--output", "json")
    assert code == 1
    doc = jsonio.loads(out)
    [flip] = doc["flipped"]
    assert flip["submission"] == failing
    assert (flip["before"], flip["after"]) == ("fail", "pass")
    changed = {c["rule"]: (c["before"], c["after"]) for c in flip["rules"]}
    assert changed["grype.critical"] == ("fail", "absent")
    assert changed["gitleaks.secrets"] == ("fail", "absent")


def test_same_policy_flips_nothing_and_is_audited(world: World) -> None:
    """The policy in force replays to the same decisions: exit 0, and a what-if audit event."""
    world.submit(1, failing=False, at=T0)
    world.submit(2, failing=True, at=T0)
    current = world.folder / "policies" / "current.yaml"
    code, out, _ = world.whatif("--policy", str(current))
    assert code == 0, out
    assert "Evaluated 2: 2 unchanged, 0 flipped, 0 skipped." in out
    with world.services.store.unit_of_work() as uow:
        [event] = [e for e in uow.audit.list() if e.kind == "policy.whatif"]
        assert uow.audit.verify() is None
    assert event.data["evaluated"] == 2 and event.data["flipped"] == 0
    assert len(event.data["candidate_sha256"]) == 64


def test_exception_expired_at_decision_time_stays_expired(world: World) -> None:
    """Replays judge at the decision's time: an exception that had expired then accepts nothing,
    one that was live then accepts (even though both have expired by now)."""
    failing = world.submit(1, failing=True, at=T0)
    exceptions = (
        "  exceptions:\n"
        "    - {id: CVE-2024-3094, reason: r, owner: sec, expires: '%s'}\n"
        "    - {id: aws-access-token, reason: r, owner: sec, expires: '%s'}\n"
    )
    expired_then = world.candidate(
        CURRENT + exceptions % ("2026-09-30", "2026-09-30"), "expired.yaml"
    )
    code, out, _ = world.whatif("--policy", str(expired_then), "--output", "json")
    assert code == 0, out
    assert jsonio.loads(out)["unchanged"] == 1
    live_then = world.candidate(CURRENT + exceptions % ("2026-10-02", "2026-10-02"), "live.yaml")
    code, out, _ = world.whatif("--policy", str(live_then), "--output", "json")
    assert code == 1, out
    [flip] = jsonio.loads(out)["flipped"]
    assert flip["submission"] == failing and flip["after"] == "pass"


def test_missing_bundle_is_skipped_with_its_reason(world: World) -> None:
    """A submission whose bundle is not stored is listed as skipped, with why."""
    gone = world.submit(1, failing=False, at=T0)
    world.submit(2, failing=False, at=T0)
    engine = create_engine(world.database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE submissions SET bundle = NULL WHERE id = :id"), {"id": gone})
    engine.dispose()
    code, out, _ = world.whatif(
        "--policy", str(world.folder / "policies" / "current.yaml"), "--output", "json"
    )
    assert code == 0
    doc = jsonio.loads(out)
    assert doc["evaluated"] == 1
    assert doc["skipped"] == [
        {
            "submission": gone,
            "reason": "the bundle was not stored (intake.store_bundles off, or an unreadable upload)",
        }
    ]


def test_since_limits_the_range(world: World) -> None:
    """--since with a date replays only the decisions from then on."""
    world.submit(1, failing=False, at=T0 - timedelta(days=40))
    world.submit(2, failing=False, at=T0)
    stricter = world.candidate(CURRENT + "  requiredReports: [clamav]\n")
    code, out, _ = world.whatif(
        "--policy", str(stricter), "--since", "2026-09-15", "--output", "json"
    )
    assert code == 1
    assert jsonio.loads(out)["evaluated"] == 1


def test_markdown_is_a_table_for_a_merge_request(world: World) -> None:
    """The Markdown output is a table with links to the submissions."""
    clean = world.submit(1, failing=False, at=T0)
    stricter = world.candidate(CURRENT + "  requiredReports: [clamav]\n")
    code, out, _ = world.whatif("--policy", str(stricter), "--output", "markdown")
    assert code == 1
    assert "| submission | project | commit | decided (UTC) | before → after | rules |" in out
    assert f"(http://belay.example/submissions/{clean})" in out
    assert "pass → **fail**" in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("grype: {severityLimit: {critcal: {enabled: true}}}\n", "critcal"),
        ("grype: [\n", "candidate.yaml"),
    ],
)
def test_malformed_candidate_is_exit_2_with_one_line(
    world: World, content: str, expected: str
) -> None:
    """A bad candidate is bad input: exit 2, one line naming the file and the problem."""
    code, out, err = world.whatif("--policy", str(world.candidate(content)))
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]


def test_bad_since_and_missing_candidate_are_exit_2(world: World) -> None:
    """--since must be a duration or a date; the candidate must exist."""
    code, _, err = world.whatif("--policy", str(world.candidate(CURRENT)), "--since", "lately")
    assert code == 2 and "since 'lately'" in err
    code, _, err = world.whatif("--policy", str(world.folder / "nope.yaml"))
    assert code == 2 and "nope.yaml" in err and len(err.strip().splitlines()) == 1


def test_policy_diff_in_words(tmp_path: Path) -> None:
    """`belay policy diff` names each changed rule and whether it is laxer or stricter."""
    old = tmp_path / "old.yaml"
    new = tmp_path / "new.yaml"
    old.write_text(CURRENT)
    new.write_text(
        CURRENT.replace("limit: 0", "limit: 2")
        + "  exceptions:\n    - {id: CVE-2024-3094, reason: r, owner: sec, expires: 2026-12-31}\n"
    )
    result = CliRunner().invoke(app, ["policy", "diff", str(old), str(new)])
    assert result.exit_code == 0, result.output
    assert "grype.severityLimit.critical.limit: 0 -> 2 (laxer)" in result.stdout
    assert "exception added: CVE-2024-3094 (owner sec, expires 2026-12-31) (laxer)" in result.stdout
    same = CliRunner().invoke(app, ["policy", "diff", str(old), str(old)])
    assert same.stdout.strip() == "no rule changes"


def _kev(*cves: str) -> str:
    return jsonio.dumps_text(
        {"catalogVersion": "2026.10.01", "vulnerabilities": [{"cveID": c} for c in cves]}
    )


def test_replay_uses_the_threat_data_the_decision_used(world: World) -> None:
    """KEV gains the build's CVE after the decision: the replay still judges with the catalog
    the decision had (kept by digest); once that copy is gone, current data is used and the row
    says so."""
    policies = world.folder / "policies"
    (policies / "kev.json").write_text(_kev("CVE-2000-0001"))
    (policies / "current.yaml").write_text(
        'version: "1"\ngrype: {kevLimitEnabled: true}\nbelay: {data: {kev: kev.json}}\n'
    )
    world.services.close()
    world.services = build_services(load_settings(world.config))
    submission = world.submit(1, failing=True, at=T0)  # CVE-2024-3094, not in KEV then
    with world.services.store.unit_of_work() as uow:
        decision = uow.decisions.for_revision("app", f"{1:040x}")[0]
    assert decision.decision == "pass"
    assert decision.data_digests is not None and set(decision.data_digests) == {"kev"}

    (policies / "kev.json").write_text(_kev("CVE-2000-0001", "CVE-2024-3094"))
    code, out, _ = world.whatif("--policy", str(policies / "current.yaml"), "--output", "json")
    assert code == 0, out
    assert jsonio.loads(out)["unchanged"] == 1

    with world.services.store.unit_of_work() as uow:
        uow.snapshots.forget(decision.data_digests["kev"])
        uow.commit()
    code, out, _ = world.whatif("--policy", str(policies / "current.yaml"), "--output", "json")
    assert code == 1, out
    doc = jsonio.loads(out)
    [flip] = doc["flipped"]
    assert flip["submission"] == submission and flip["after"] == "fail"
    assert "no longer kept; current data was used" in flip["note"]
    assert any("no longer kept" in note for note in doc["notes"])


def test_whatif_over_http(world: World) -> None:
    """POST /api/v1/policy/whatif answers the CLI's document; bad input is a one-line 4xx."""
    import httpx

    from belay.web import create_app, serve_in_thread

    clean = world.submit(1, failing=False, at=T0)
    with serve_in_thread(create_app(world.services)) as url:
        endpoint = f"{url}/api/v1/policy/whatif"
        stricter = CURRENT + "  requiredReports: [clamav]\n"
        answer = httpx.post(endpoint, json={"policy": stricter, "since": "3650d"}, timeout=30)
        assert answer.status_code == 200, answer.text
        doc = answer.json()
        assert doc["evaluated"] == 1
        assert [f["submission"] for f in doc["flipped"]] == [clean]
        bad = httpx.post(endpoint, json={"policy": "grype: [\n"}, timeout=30)
        assert bad.status_code == 400 and "candidate" in bad.json()["error"]
        plain = httpx.post(
            endpoint, content=stricter, headers={"Content-Type": "text/plain"}, timeout=30
        )
        assert plain.status_code == 415
        unknown = httpx.post(endpoint, json={"policy": stricter, "project": "nope"}, timeout=30)
        assert unknown.status_code == 400 and "nope" in unknown.json()["error"]
    assert _counts(world)["decisions"] == 1


def test_whatif_page_lists_flips_with_links(world: World) -> None:
    """The page takes a pasted candidate and lists each flipped submission with its link."""
    import httpx

    from belay.web import create_app, serve_in_thread

    clean = world.submit(1, failing=False, at=T0)
    with serve_in_thread(create_app(world.services)) as url, httpx.Client(timeout=30) as client:
        form = client.get(f"{url}/policy/whatif")
        assert form.status_code == 200
        assert 'name="policy"' in form.text
        assert "default-src 'none'" in form.headers["content-security-policy"]
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        stricter = CURRENT + "  requiredReports: [clamav]\n"
        answer = client.post(
            f"{url}/policy/whatif",
            data={"policy": stricter, "since": "", "csrf_token": token.group(1)},
        )
        assert answer.status_code == 200, answer.text
        assert f'href="/submissions/{clean}"' in answer.text
        assert "required.clamav" in answer.text
        bad = client.post(
            f"{url}/policy/whatif", data={"policy": "grype: [\n", "csrf_token": token.group(1)}
        )
        assert bad.status_code == 400
        assert 'role="alert"' in bad.text and "candidate" in bad.text
        forged = client.post(f"{url}/policy/whatif", data={"policy": stricter})
        assert forged.status_code == 403
        cross = httpx.post(
            f"{url}/api/v1/policy/whatif",
            json={"policy": stricter},
            headers={"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"},
            timeout=30,
        )
        assert cross.status_code == 403
    assert _counts(world)["decisions"] == 1


def test_pasted_candidates_may_not_name_files_or_use_aliases(world: World) -> None:
    """A candidate pasted over HTTP cannot make the server read a file of its choosing, nor
    expand YAML aliases without bound."""
    import httpx

    from belay.web import create_app, serve_in_thread

    world.submit(1, failing=False, at=T0)
    with serve_in_thread(create_app(world.services)) as url:
        endpoint = f"{url}/api/v1/policy/whatif"
        for data in ("kev: /etc/passwd", "epss: ../../../etc/shadow"):
            named = httpx.post(
                endpoint, json={"policy": CURRENT + f"  data: {{{data}}}\n"}, timeout=30
            )
            assert named.status_code == 400
            assert "may not name data files" in named.json()["error"]
        bomb = 'version: "1"\napi: &a [1, 1]\nbranches: {main: {api: *a}}\n'
        aliased = httpx.post(endpoint, json={"policy": bomb}, timeout=30)
        assert aliased.status_code == 400 and "aliases" in aliased.json()["error"]
        ok = httpx.post(endpoint, json={"policy": CURRENT}, timeout=30)
        assert ok.status_code == 200
    with world.services.store.unit_of_work() as uow:
        actors = [e.actor for e in uow.audit.list() if e.kind == "policy.whatif"]
    assert actors and actors[-1].startswith("api:loopback@")


def test_nothing_replayable_is_not_a_pass(world: World) -> None:
    """When every submission in range is skipped, the exit is 1, not a vacuous 0."""
    gone = world.submit(1, failing=False, at=T0)
    engine = create_engine(world.database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE submissions SET bundle = NULL WHERE id = :id"), {"id": gone})
    engine.dispose()
    code, _, err = world.whatif("--policy", str(world.folder / "policies" / "current.yaml"))
    assert code == 1
    assert "no submission in range could be replayed" in err


def test_unchanged_policy_flips_nothing_with_portage_config_and_pages(world: World) -> None:
    """Real bundles carry Portage's config (a secret in it, equal to the commit id here) and a
    report whose name holds "secrets"; more submissions than one page, all decided at the same
    second. The policy in force replays every one of them unchanged."""
    import importlib

    replay_module = importlib.import_module("belay.whatif.replay")

    for n in range(1, 8):
        world.submit(n, failing=n % 2 == 0, at=T0)
    original = replay_module._PAGE
    replay_module._PAGE = 3
    try:
        code, out, _ = world.whatif(
            "--policy", str(world.folder / "policies" / "current.yaml"), "--output", "json"
        )
    finally:
        replay_module._PAGE = original
    assert code == 0, out
    doc = jsonio.loads(out)
    assert (doc["evaluated"], doc["unchanged"], doc["skipped"]) == (7, 7, [])


def test_hostile_candidates_and_ranges_are_bad_input() -> None:
    """A policy nested thousands deep, or a range reaching before year 1, is a one-line BadInput
    (they were a RecursionError and an OverflowError: a 500 over HTTP)."""
    from datetime import UTC, datetime

    from belay.errors import BadInput
    from belay.whatif import candidate_from_text, parse_since

    deep_map = "grype:\n" + "".join(" " * i + "b:\n" for i in range(1, 3000))
    for pasted in ("[" * 20_000 + "]" * 20_000, "a: " + "[" * 20_000 + "]" * 20_000, deep_map):
        with pytest.raises(BadInput) as refused:
            candidate_from_text(pasted, data_from=None)
        assert refused.value.args[0].startswith("candidate: ")
        assert "\n" not in str(refused.value)
    with pytest.raises(BadInput, match="larger than 64 KiB"):
        candidate_from_text("#" * 70_000, data_from=None)
    with pytest.raises(BadInput, match="before year 1"):
        parse_since("99999999999999999d", datetime.now(UTC))


def test_a_missing_database_is_bad_input_and_stays_missing(tmp_path: Path) -> None:
    """Against a SQLite file that does not exist, whatif created an empty database and failed
    with exit 1; it is exit 2 with one line, and no file is made."""
    database = tmp_path / "absent.db"
    config = tmp_path / "belay.yaml"
    config.write_text(f'database_url: "sqlite:///{database}"\n')
    policy = tmp_path / "p.yaml"
    policy.write_text(CURRENT)
    result = CliRunner().invoke(
        app, ["policy", "whatif", "--config", str(config), "--policy", str(policy)]
    )
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert not database.exists()
