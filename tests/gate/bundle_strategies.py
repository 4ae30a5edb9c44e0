"""Hypothesis strategies for hostile bundles: names, tags, manifests, tar layouts, canaries.

Used by the gate's property tests and by the served intake's (never a 5xx).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from datetime import UTC, datetime

from hypothesis import strategies as st

from belay import jsonio
from belay.gate.samples import sample_reports

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
COMMIT = "9" * 40
CANARY = "canary-webhook-secret-7f3a9c2e1b"

_CLEAN = {label: data for label, data, _ in sample_reports(NOW)}
_FAILING = {label: data for label, data, _ in sample_reports(NOW, failing=True, commit=COMMIT)}
_SEMGREP_CRITICAL = jsonio.dumps(
    {
        "version": "1.100.0",
        "results": [
            {
                "check_id": "rule.x",
                "path": "a.py",
                "start": {"line": 1},
                "extra": {"severity": "CRITICAL", "fingerprint": "requires login"},
            }
        ],
        "errors": [],
        "paths": {},
    }
)
_CLAM_INFECTED = (
    b"/x/eicar.com: Eicar-Signature FOUND\n\n----------- SCAN SUMMARY -----------\n"
    b"Infected files: 1\n"
)

# (content, fails its rule?)
_REPORTS = st.sampled_from(
    [
        (_CLEAN["grype-vulnerability-report.json"], False),
        (_FAILING["grype-vulnerability-report.json"], True),
        (_CLEAN["gitleaks-secrets-report.json"], False),
        (_FAILING["gitleaks-secrets-report.json"], True),
        (_CLEAN["semgrep-sast-report.json"], False),
        (_SEMGREP_CRITICAL, True),
        (_CLAM_INFECTED, True),
    ]
)
_NAMES = st.sampled_from(
    [
        "grype-vulnerability-report.json",
        "portage-config.json",
        "gatecheck-config.yml",
        "gatecheck-config.yaml",
        "gitleaks-secrets-report.json",
        "semgrep-sast-report.json",
        "clamav-virus-report.txt",
        "report.json",
    ]
) | st.text(
    st.characters(whitelist_categories=("Ll", "Nd"), whitelist_characters="-_."),
    min_size=1,
    max_size=12,
)
_TAGS = st.lists(
    st.sampled_from(
        [
            "type:portage-config",
            "type:gatecheck-config",
            "type:grype",
            "type:gitleaks",
            "type:semgrep",
            "type:clamscan",
            "type:syft",
        ]
    ),
    max_size=2,
)
_CONFIG = st.fixed_dictionaries(
    {
        "ImageTag": st.just("app:1"),
        "Deploy": st.fixed_dictionaries(
            {"WebhookAuthHeader": st.sampled_from([CANARY, f"Bearer {CANARY}"])}
        ),
        "ImagePublish": st.fixed_dictionaries({"Password": st.just(CANARY)}),
    }
)


@st.composite
def hostile_bundles(
    draw: st.DrawFn, commit: str = COMMIT, remote: str = "https://git/x.git"
) -> tuple[bytes, bool, bool]:
    """A bundle as bytes, whether any report in it fails its rule, whether a canary is planted."""
    entries: list[tuple[str, bytes, list[str]]] = []
    failing = False
    for _ in range(draw(st.integers(0, 5))):
        content, fails = draw(_REPORTS)
        name = draw(_NAMES)
        if name in {e[0] for e in entries} or name == "gatecheck-manifest.json":
            continue
        entries.append((name, content, draw(_TAGS)))
        failing = failing or fails
    planted = draw(st.booleans())
    if planted and "portage-config.json" not in {e[0] for e in entries}:
        config = jsonio.dumps(draw(_CONFIG))
        entries.append(("portage-config.json", config, draw(_TAGS)))
    else:
        planted = False
    files: dict[str, dict[str, object]] = {}
    for name, content, tags in entries:
        if draw(st.integers(0, 9)) == 0:
            continue  # left out of the manifest
        digest = hashlib.sha256(content).hexdigest()
        if draw(st.integers(0, 9)) == 0:
            digest = "0" * 64  # a wrong digest
        files[name] = {"digest": digest, "tags": tags}
    if draw(st.integers(0, 9)) == 0:
        files["invented.json"] = {"digest": "1" * 64, "tags": ["type:grype"]}
    manifest = {
        "version": "1",
        "createdAt": NOW.isoformat(),
        "files": files,
        "context": {"commitHash": commit, "branch": "main", "remote": remote},
    }
    members: list[tuple[str, bytes]] = [
        ("gatecheck-manifest.json", jsonio.dumps(manifest)),
        *[(name, content) for name, content, _ in entries],
    ]
    members = draw(st.permutations(members))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in members:
            prefix = draw(st.sampled_from(["", "", "./"]))
            info = tarfile.TarInfo(prefix + name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        if draw(st.integers(0, 14)) == 0:
            link = tarfile.TarInfo("grype-link.json")
            link.type = tarfile.SYMTYPE
            link.linkname = "/etc/passwd"
            archive.addfile(link)
        if draw(st.integers(0, 14)) == 0 and members:
            name, content = members[0]
            info = tarfile.TarInfo(name)  # the same name twice
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return gzip.compress(buffer.getvalue()), failing, planted
