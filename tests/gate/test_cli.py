"""The CLI: exit codes of gate evaluate, bundle create, policy export and data refresh."""

from __future__ import annotations

import gzip
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from belay import jsonio
from belay.cli import app

runner = CliRunner()


def _run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_evaluate_fixtures_fail_with_exit_1(scans: Path) -> None:
    """Loose fixture reports under Portage's defaults: exit 1 and a JSON verdict."""
    result = _run(
        "gate",
        "evaluate",
        "--policy",
        str(scans / "portage-gatecheck.defaults.yml"),
        "--output",
        "json",
        str(scans / "grype-report.json"),
        str(scans / "gitleaks-report.json"),
    )
    assert result.exit_code == 1, result.output
    verdict = jsonio.loads(result.stdout)["verdict"]
    assert verdict["decision"] == "fail"
    assert [r["rule"] for r in verdict["reasons"]] == [
        "grype.critical",
        "grype.high",
        "gitleaks.secrets",
    ]


def test_bundle_create_then_evaluate_pass(tmp_path: Path, scans: Path) -> None:
    """bundle create builds what gate evaluate reads; a clean bundle passes with exit 0."""
    (tmp_path / "gitleaks-report.json").write_bytes(b"[]")
    sbom = scans / "cyclonedx-syft-sbom.json"
    out = tmp_path / "gatecheck-bundle.tar.gz"
    created = _run(
        "bundle",
        "create",
        "-o",
        str(out),
        str(tmp_path / "gitleaks-report.json"),
        str(sbom),
        "--commit",
        "c0ffee" + "0" * 34,
        "--branch",
        "main",
        "--remote",
        "https://git.example/app.git",
    )
    assert created.exit_code == 0, created.output
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "gitleaks: {limitEnabled: true}\n"
        "belay: {requiredReports: [syft, gitleaks], commitBinding: {enabled: true}}\n"
    )
    result = _run(
        "gate", "evaluate", "--policy", str(policy), "--commit", "c0ffee" + "0" * 34, str(out)
    )
    assert result.exit_code == 0, result.output
    assert "Decision: pass" in result.stdout
    wrong = _run("gate", "evaluate", "--policy", str(policy), "--commit", "bad", str(out))
    assert wrong.exit_code == 1


@pytest.mark.parametrize(
    ("content", "policy_text", "words"),
    [
        (b'{"x": 1}', "gitleaks: {limitEnabled: true}", "r.json: JSON of an unknown report"),
        (b"\x1f\x8b\x08\x00trunc", "gitleaks: {limitEnabled: true}", "r.json: truncated gzip"),
        (b"[]", "gitleaks: {limitEnabled: yes please}", "p.yaml: gitleaks.limitEnabled"),
        (b"[]", "gitlaeks: {}", "gitlaeks: unknown key"),
    ],
)
def test_bad_input_exit_2(tmp_path: Path, content: bytes, policy_text: str, words: str) -> None:
    """Bad reports, bundles and policies give exit 2 and one line naming file and problem."""
    (tmp_path / "r.json").write_bytes(content)
    (tmp_path / "p.yaml").write_text(policy_text)
    result = _run(
        "gate", "evaluate", "--policy", str(tmp_path / "p.yaml"), str(tmp_path / "r.json")
    )
    assert result.exit_code == 2
    assert words in result.stderr
    assert "Traceback" not in result.output


def test_policy_export_is_gatecheck_yaml(tmp_path: Path) -> None:
    """policy export prints gatecheck keys only, live CVE exceptions as acceptance, comments."""
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "grype: {severityLimit: {critical: {enabled: true, limit: 0}}}\n"
        "belay:\n  requiredReports: [grype]\n  exceptions:\n"
        "    - {id: CVE-2030-1, reason: r, owner: bob, expires: 2999-01-01}\n"
        "    - {id: CVE-2000-1, reason: r, owner: bob, expires: 2001-01-01}\n"
    )
    result = _run(
        "policy", "export", "--project", "app", "--branch", "main", "--policy", str(policy)
    )
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(result.stdout)
    assert set(document) == {
        "version",
        "metadata",
        "grype",
        "cyclonedx",
        "semgrep",
        "gitleaks",
        "coverage",
    }
    assert document["grype"]["severityLimit"]["critical"] == {"enabled": True, "limit": 0}
    accepted = [c["id"] for c in document["grype"]["cveRiskAcceptance"]["cves"]]
    assert accepted == ["CVE-2030-1"]
    assert "exception CVE-2000-1 (EXPIRED, owner bob" in result.stdout
    assert "required reports: grype" in result.stdout


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def data_server() -> Iterator[str]:
    """A real local HTTP server serving a tiny KEV feed and EPSS CSV."""
    _Handler.files = {
        "/kev.json": jsonio.dumps(
            {"catalogVersion": "2025.01.01", "vulnerabilities": [{"cveID": "CVE-2021-44228"}]}
        ),
        "/epss.csv.gz": gzip.compress(
            b"#model_version:v2025,score_date:2025-01-01T00:00:00Z\ncve,epss,percentile\n"
            b"CVE-2021-44228,0.97,0.99\n"
        ),
    }
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_data_refresh(tmp_path: Path, data_server: str) -> None:
    """data refresh downloads, checks and writes both files; 404 or no server is exit 1."""
    out = tmp_path / "data"
    ok = _run(
        "data",
        "refresh",
        "--out",
        str(out),
        "--kev",
        f"{data_server}/kev.json",
        "--epss",
        f"{data_server}/epss.csv.gz",
    )
    assert ok.exit_code == 0, ok.output
    assert "KEV: 1 CVEs" in ok.stdout
    assert (out / "known_exploited_vulnerabilities.json").exists()
    missing = _run(
        "data",
        "refresh",
        "--out",
        str(out),
        "--kev",
        f"{data_server}/nope.json",
        "--epss",
        f"{data_server}/epss.csv.gz",
    )
    assert missing.exit_code == 1
    assert "HTTP 404" in missing.stderr
    down = _run(
        "data",
        "refresh",
        "--out",
        str(out),
        "--kev",
        "http://127.0.0.1:9/kev.json",
        "--epss",
        "http://127.0.0.1:9/e.csv",
    )
    assert down.exit_code == 1


def test_evaluate_json_lists_the_findings_behind_each_rule(tmp_path: Path, scans: Path) -> None:
    """`gate evaluate --output json` gives each failing rule's findings, with fixed-in versions
    and advisory links, while the HTTP verdict for Portage keeps rule, status and message."""
    policy = tmp_path / "p.yaml"
    policy.write_text("grype: {severityLimit: {critical: {enabled: true, limit: 0}}}\n")
    result = _run(
        "gate",
        "evaluate",
        "--policy",
        str(policy),
        "--output",
        "json",
        str(scans / "grype-report.json"),
    )
    assert result.exit_code == 1, result.output
    [reason] = [r for r in json.loads(result.stdout)["verdict"]["reasons"] if r["status"] == "fail"]
    assert reason["findings_total"] == 8 and len(reason["findings"]) == 8
    row = reason["findings"][0]
    assert row["status"] == "fail" and row["severity"] == "critical"
    assert row["url"].startswith("https://") and row["package"]
    assert any(r.get("fixed_in") for r in reason["findings"])
