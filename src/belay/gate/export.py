"""Export a server-side policy as gatecheck YAML, for Portage's policy fetch.

The output holds only keys gatecheck knows (``version``, ``metadata``, ``grype``,
``cyclonedx``, ``semgrep``, ``gitleaks``, ``coverage``), so Portage's local ``gatecheck validate``
applies the same limits Belay will. Exceptions that are live at ``now`` and name a CVE or GHSA
are added to ``cveRiskAcceptance`` (gatecheck cannot scope or expire them, so it is at most more
lenient than Belay, which judges again). Everything else Belay enforces is listed as comments.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import yaml

from belay.gate.policy import Policy, VulnerabilityRules

__all__ = ["export_gatecheck_yaml"]


def _vuln_block(rules: VulnerabilityRules, accepted: list[str]) -> dict[str, Any]:
    block = rules.model_dump(mode="json", by_alias=True)
    if accepted:
        listed = {c["id"].upper() for c in block["cveRiskAcceptance"]["cves"]}
        extra = [
            {"id": ident, "metadata": {"tags": ["belay exception"]}}
            for ident in accepted
            if ident.upper() not in listed
        ]
        block["cveRiskAcceptance"]["enabled"] = True
        block["cveRiskAcceptance"]["cves"] = block["cveRiskAcceptance"]["cves"] + extra
    return block


def _comments(policy: Policy, now: datetime) -> list[str]:
    belay = policy.belay
    lines = ["Belay also enforces these rules, which gatecheck cannot express:"]
    if belay.required_reports:
        lines.append(f"  required reports: {', '.join(belay.required_reports)}")
    if belay.clamav.enabled:
        lines.append("  clamav: any infected file fails")
    if belay.freshness.enabled:
        lines.append(f"  freshness: reports at most {belay.freshness.max_age_hours:g}h old")
    if belay.commit_binding.enabled:
        lines.append("  commit binding: the bundle's commitHash must be the deployed commit")
    for name, limits in (
        ("sarif level", belay.sarif.level_limit.enabled()),
        ("sarif security-severity", belay.sarif.security_severity_limit.enabled()),
        ("trivy severity", belay.trivy.severity_limit.enabled()),
    ):
        if limits:
            shown = ", ".join(f"{k} <= {v}" for k, v in limits.items())
            lines.append(f"  {name} limits: {shown}")
    if belay.trivy.kev_limit_enabled:
        lines.append("  trivy: known-exploited (KEV) vulnerabilities fail")
    for kind in ("grype", "cyclonedx"):
        if getattr(policy, kind).kev_limit_enabled:
            lines.append(f"  {kind}: a KEV-listed finding fails whatever its severity")
    if policy.grype.epss_risk_acceptance.enabled or policy.cyclonedx.epss_risk_acceptance.enabled:
        lines.append("  EPSS acceptance never accepts a finding without an EPSS score")
    for exc in belay.exceptions:
        state = "EXPIRED" if exc.expired(now) else "live"
        scope = "".join(f" {k}={v}" for k, v in (("package", exc.package), ("path", exc.path)) if v)
        lines.append(
            f"  exception {exc.id}{scope} ({state}, owner {exc.owner}, expires "
            f"{exc.expires.date().isoformat()}): {exc.reason}"
        )
    if len(lines) == 1:
        lines.append("  (none)")
    return lines


def export_gatecheck_yaml(
    policy: Policy, *, project: str, branch: str | None, now: datetime, source: str = ""
) -> str:
    """Render ``policy`` as a gatecheck config (YAML text with a comment header)."""
    live = [
        exc.id
        for exc in policy.belay.exceptions
        if not exc.expired(now) and exc.id.upper().startswith(("CVE-", "GHSA-"))
    ]
    document = {
        "version": "1",
        "metadata": {"tags": [*policy.metadata.tags, f"belay:{project}"]},
        "grype": _vuln_block(policy.grype, live),
        "cyclonedx": _vuln_block(policy.cyclonedx, live),
        "semgrep": policy.semgrep.model_dump(mode="json", by_alias=True),
        "gitleaks": policy.gitleaks.model_dump(mode="json", by_alias=True),
        "coverage": policy.coverage.model_dump(mode="json", by_alias=True),
    }
    header = [
        f"gatecheck policy for project {project}"
        + (f", branch {branch}" if branch else "")
        + f", exported by Belay at {now.isoformat()}",
    ]
    if source:
        header.append(f"source: {source}")
    header.extend(_comments(policy, now))
    text = "".join(f"# {line}\n" for line in header)
    return text + yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
