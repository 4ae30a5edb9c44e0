"""The gate's judgement: reports + policy + context → :class:`~belay.gate.verdict.Verdict`.

Pure: no I/O, no clock (``now`` is in the context), no network (KEV/EPSS come in the context).

Vulnerability reports (grype, CycloneDX, trivy) follow gatecheck's order with its gaps closed:

1. ``cveLimit`` (deny list, matched on id *and* aliases) fails, whatever else applies.
2. Named acceptance, ``cveRiskAcceptance`` or a Belay exception (unexpired, in scope), accepts.
3. ``kevLimitEnabled``: a finding whose id or any alias is in the KEV catalog (or that the report
   marks as known-exploited) fails whatever its severity; without a catalog the rule fails.
4. ``epssRiskAcceptance`` accepts findings with an EPSS score below the threshold; a finding with
   no score is never accepted (missing data fails closed). It never accepts a KEV finding.
5. ``epssLimit`` fails findings scored above the limit.
6. Severity limits: more than ``limit`` remaining findings of an enabled severity fails.

GHSA findings are scored through their CVE aliases. Semgrep, gitleaks, SARIF, ClamAV and coverage
rules follow; rules of a report type apply when such a report is present (presence itself is the
``required.<report>`` rule's job).
"""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from belay.commits import is_commit_id
from belay.gate.errors import clip, quoted
from belay.gate.intel import Intel
from belay.gate.policy import Policy, PolicyException, VulnerabilityRules
from belay.gate.reports.model import Finding, Report, ReportKind
from belay.gate.verdict import MAX_FINDING_ROWS, FindingRow, Reason, Verdict, make_verdict

__all__ = ["BundleFacts", "EvaluationContext", "Submission", "evaluate", "is_commit_id"]

_MAX_NAMED = 10
_CLOCK_SKEW = timedelta(minutes=5)


class BundleFacts(BaseModel):
    """What a bundle's manifest says about the build (all optional: the manifest may lack it)."""

    model_config = ConfigDict(frozen=True)

    name: str
    created_at: datetime | None = None
    added_at: dict[str, datetime] = {}
    commit: str | None = None
    branch: str | None = None
    remote: str | None = None


class Submission(BaseModel):
    """Everything to judge: parsed reports, bundle facts and checks already made on the bundle."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    reports: tuple[Report, ...]
    bundle: BundleFacts | None = None
    checks: tuple[Reason, ...] = ()


class EvaluationContext(BaseModel):
    """The world at decision time: the clock, the commit that will be deployed, KEV/EPSS data."""

    model_config = ConfigDict(frozen=True)

    now: datetime
    deploy_commit: str | None = None
    deploy_ref: str | None = None
    """What will be synced when it is not a commit (``HEAD`` or a branch), for the message."""
    intel: Intel = Intel()
    details_url: str | None = None


# --- naming findings -------------------------------------------------------------------------


def _label(finding: Finding) -> str:
    if finding.severity == "secret":
        where = f"{finding.path}:{finding.line}" if finding.line else (finding.path or "?")
        return f"{finding.rule} in {where}"
    if finding.severity == "infected":
        return f"{finding.path}: {finding.id}"
    if finding.package is not None or finding.aliases:
        name = finding.id
        cve = next((a for a in finding.aliases if a.startswith("CVE-")), None)
        if cve and not name.startswith("CVE-"):
            name = f"{name}/{cve}"
        if finding.package:
            pkg = f"{finding.package} {finding.version}" if finding.version else finding.package
            return f"{name} ({pkg})"
        return name
    if finding.path:
        where = f"{finding.path}:{finding.line}" if finding.line else finding.path
        said = f" ({finding.label})" if finding.label else ""
        return f"{finding.id} at {where}{said}"
    return finding.id


_MAX_LABEL = 160


def _short_label(finding: Finding) -> str:
    # Ids, paths and rule names come from the report: a 2 MiB check_id must not make the
    # verdict (and the audit event and page that copy it) megabytes long.
    return clip(_label(finding), _MAX_LABEL)


def _names(findings: Sequence[Finding]) -> str:
    labels = list(dict.fromkeys(_short_label(f) for f in findings))
    shown = ", ".join(labels[:_MAX_NAMED])
    if len(labels) > _MAX_NAMED:
        shown += f", and {len(labels) - _MAX_NAMED} more"
    return shown


def _count(n: int, noun: str) -> str:
    if n == 1:
        return f"{n} {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {plural}"


# --- exceptions ------------------------------------------------------------------------------


class _Exceptions:
    """Index of the policy's exceptions by id (upper case), split into live and expired."""

    def __init__(self, exceptions: Iterable[PolicyException], now: datetime) -> None:
        self.live: dict[str, list[PolicyException]] = defaultdict(list)
        self.expired: dict[str, list[PolicyException]] = defaultdict(list)
        for exc in exceptions:
            table = self.expired if exc.expired(now) else self.live
            table[exc.id.upper()].append(exc)

    @staticmethod
    def _keys(finding: Finding) -> list[tuple[str, str]]:
        """The keys an exception id may name, each with how it identifies the finding."""
        keys = [(finding.id.upper(), "")]
        keys.extend((a.upper(), "") for a in finding.aliases)
        if finding.rule:
            keys.append((finding.rule.upper(), ""))
        if finding.fingerprint and not is_placeholder_fingerprint(finding.fingerprint):
            keys.append((finding.fingerprint.upper(), ""))
        elif finding.rule and finding.path:
            # No usable fingerprint (semgrep without a login writes "requires login" for every
            # finding): the finding is known by its rule, file and line instead.
            composite = f"{finding.rule}:{finding.path}:{finding.line or 0}".upper()
            keys.append((composite, _COMPOSITE_NOTE))
        return keys

    @staticmethod
    def _in_scope(exc: PolicyException, finding: Finding) -> bool:
        if exc.package is not None and not fnmatch.fnmatchcase(finding.package or "", exc.package):
            return False
        return exc.path is None or fnmatch.fnmatchcase(finding.path or "", exc.path)

    def match(self, finding: Finding) -> tuple[PolicyException | None, PolicyException | None, str]:
        """The live exception covering ``finding``, else an expired one that would have, and a
        note on how the finding was matched (empty for its id, alias, rule or fingerprint)."""
        if not self.live and not self.expired:
            return None, None, ""
        keys = self._keys(finding)
        for key, how in keys:
            for exc in self.live.get(key, ()):
                if self._in_scope(exc, finding):
                    return exc, None, how
        for key, how in keys:
            for exc in self.expired.get(key, ()):
                if self._in_scope(exc, finding):
                    return None, exc, how
        return None, None, ""


_COMPOSITE_NOTE = "matched on rule, file and line: the report's fingerprint is a placeholder"
# SARIF fingerprints are written "<key>/v<N>:<value>" by the parser (matchBasedId/v1:...).
_SARIF_FINGERPRINT_KEY = re.compile(r"^[A-Za-z][\w.\-]*/v\d+:")
_PLACEHOLDER_VALUES = frozenset({"", "requires login", "requires-login", "none", "null"})


def is_placeholder_fingerprint(value: str) -> bool:
    """True for a fingerprint that does not tell findings apart.

    Semgrep without a login writes ``requires login`` for every finding (in SARIF as
    ``matchBasedId/v1:requires login``); an empty value or one made only of zeros is no better.
    """
    tail = _SARIF_FINGERPRINT_KEY.sub("", value.strip()).strip().lower()
    return tail in _PLACEHOLDER_VALUES or set(tail) <= {"0"}


def _describe_exception(exc: PolicyException, how: str = "") -> str:
    text = f"exception {exc.id} (owner {exc.owner}, expires {exc.expires.date().isoformat()})"
    return f"{text}, {how}" if how else text


class _RuleTally:
    """Failing and accepted findings of one rule, with the acceptances and expiries seen."""

    def __init__(self) -> None:
        self.failing: list[Finding] = []
        self.accepted: dict[str, list[Finding]] = defaultdict(list)
        self.expired: dict[str, PolicyException] = {}
        self.scores: dict[int, tuple[float | None, bool]] = {}
        """EPSS and KEV as the evaluation found them (report or data files), by finding."""

    def score(self, finding: Finding, epss: float | None, kev: bool) -> None:
        """Remember the EPSS score and KEV flag the rule saw for ``finding``."""
        self.scores[id(finding)] = (epss, kev)

    def rows(self) -> tuple[tuple[FindingRow, ...], int]:
        """The failing findings, then the accepted ones, as table rows (capped), and how many."""
        marked: list[tuple[Finding, str | None]] = [(f, None) for f in self.failing]
        for by, found in self.accepted.items():
            marked.extend((f, by) for f in found)
        rows = tuple(self._row(f, by) for f, by in marked[:MAX_FINDING_ROWS])
        return rows, len(marked)

    def _row(self, finding: Finding, accepted_by: str | None) -> FindingRow:
        epss, kev = self.scores.get(id(finding), (finding.epss, finding.kev))
        return FindingRow(
            id=finding.id[:_MAX_LABEL],
            status="accepted" if accepted_by else "fail",
            severity=(finding.label or finding.security_severity or finding.severity)[:32],
            url=advisory_url(finding),
            package=(finding.package or None) and finding.package[:_MAX_LABEL],
            installed=(finding.version or None) and finding.version[:64],
            fixed_in=(finding.fixed_in or None) and finding.fixed_in[:_MAX_LABEL],
            epss=epss,
            kev=kev,
            path=(finding.path or None) and finding.path[:_MAX_LABEL],
            line=finding.line,
            accepted_by=accepted_by,
        )

    def accept(self, finding: Finding, by: str) -> None:
        self.accepted[by].append(finding)

    def accepted_text(self) -> str:
        parts = [
            f"{_count(len(found), 'finding')} accepted by {by}: {_names(found)}"
            for by, found in self.accepted.items()
        ]
        return "; ".join(parts)

    def expired_text(self) -> str:
        if not self.expired:
            return ""
        gone = ", ".join(
            f"{e.id} (owner {e.owner}) expired {e.expires.date().isoformat()}"
            for e in self.expired.values()
        )
        return f"; exception no longer applies: {gone}"

    def reason(self, rule: str, failed: bool, fail_text: str, pass_text: str) -> Reason:
        accepted = self.accepted_text()
        rows, total = self.rows()
        if failed:
            message = fail_text + self.expired_text()
            if accepted:
                message += f" ({accepted})"
            status: Literal["pass", "fail", "accepted"] = "fail"
        elif accepted:
            message, status = f"{pass_text}; {accepted}", "accepted"
        else:
            message, status = pass_text, "pass"
        return Reason(
            rule=rule, status=status, message=message, findings=rows, findings_total=total
        )


def advisory_url(finding: Finding) -> str | None:
    """Where to read about a finding: the scanner's link, else the advisory database of its id
    (NVD for a CVE, GitHub for a GHSA). Only http(s) links are kept."""
    url = finding.url
    if url and url.startswith(("https://", "http://")) and len(url) <= 512:
        return url
    ident = finding.id.upper()
    if ident.startswith("CVE-") and len(ident) < 32:
        return f"https://nvd.nist.gov/vuln/detail/{ident}"
    if ident.startswith("GHSA-") and len(ident) < 32:
        return f"https://github.com/advisories/{finding.id}"
    return None


# --- vulnerability reports -------------------------------------------------------------------

_VULN_SEVERITIES = ("critical", "high", "medium", "low")


def _cves(finding: Finding) -> list[str]:
    ids = [finding.id, *finding.aliases]
    return [i.upper() for i in ids if i.upper().startswith("CVE-")]


def _vulnerability_rules(
    prefix: str,
    reports: Sequence[Report],
    rules: VulnerabilityRules,
    exceptions: _Exceptions,
    intel: Intel,
) -> list[Reason]:
    names = ", ".join(r.name for r in reports)
    limits = rules.severity_limit.enabled()
    deny = rules.cve_limit.ids()
    allow = rules.cve_risk_acceptance.ids()
    kev_on = rules.kev_limit_enabled
    kev = intel.kev.cves if intel.kev is not None else frozenset()
    epss_scores = intel.epss.scores if intel.epss is not None else {}
    epss_limit = rules.epss_limit.score if rules.epss_limit.enabled else None
    epss_accept = rules.epss_risk_acceptance.score if rules.epss_risk_acceptance.enabled else None
    needs_epss = epss_limit is not None or epss_accept is not None

    denied = _RuleTally()
    kev_tally = _RuleTally()
    epss_tally = _RuleTally()
    severity_tallies = {sev: _RuleTally() for sev in limits}
    total = 0

    for report in reports:
        for finding in report.findings:
            total += 1
            if deny and (
                finding.id.upper() in deny or any(a.upper() in deny for a in finding.aliases)
            ):
                denied.failing.append(finding)
                continue
            severity_tally = severity_tallies.get(finding.severity)
            is_kev = False
            if kev_on:
                is_kev = finding.kev or any(c in kev for c in _cves(finding))
            epss = finding.epss
            if epss is None and needs_epss and epss_scores:
                scored = [epss_scores[c] for c in _cves(finding) if c in epss_scores]
                epss = max(scored) if scored else None
            over_epss = epss_limit is not None and epss is not None and epss > epss_limit
            targets: list[_RuleTally] = []
            for tally in (kev_tally, epss_tally, severity_tally):
                if tally is not None:
                    tally.score(finding, epss, is_kev or finding.kev)
            if is_kev:
                targets.append(kev_tally)
            if over_epss:
                targets.append(epss_tally)
            if severity_tally is not None:
                targets.append(severity_tally)
            if not targets:
                continue
            if allow and (
                finding.id.upper() in allow or any(a.upper() in allow for a in finding.aliases)
            ):
                for tally in targets:
                    tally.accept(finding, "cveRiskAcceptance")
                continue
            live, expired, how = exceptions.match(finding)
            if live is not None:
                for tally in targets:
                    tally.accept(finding, _describe_exception(live, how))
                continue
            for tally in targets:
                if expired is not None:
                    tally.expired[expired.id] = expired
                if (
                    tally is severity_tally
                    and not is_kev
                    and epss_accept is not None
                    and epss is not None
                    and epss < epss_accept
                ):
                    tally.accept(finding, f"epssRiskAcceptance (EPSS < {epss_accept})")
                else:
                    tally.failing.append(finding)

    reasons: list[Reason] = []
    if deny:
        n = len(denied.failing)
        reasons.append(
            denied.reason(
                f"{prefix}.cve_deny",
                n > 0,
                f"{_count(n, 'denied vulnerability')} in {names}: {_names(denied.failing)}",
                f"no denied vulnerability in {names}",
            )
        )
    if kev_on:
        n = len(kev_tally.failing)
        if intel.kev is None and not any(f.kev for r in reports for f in r.findings):
            problem = intel.kev_problem or "no KEV catalog is configured (belay.data.kev)"
            reasons.append(Reason(rule=f"{prefix}.kev", status="fail", message=problem))
        else:
            reasons.append(
                kev_tally.reason(
                    f"{prefix}.kev",
                    n > 0,
                    f"{_count(n, 'known-exploited vulnerability')} (CISA KEV) in {names}: "
                    f"{_names(kev_tally.failing)}",
                    f"no known-exploited vulnerability in {names}",
                )
            )
    if epss_limit is not None:
        n = len(epss_tally.failing)
        reasons.append(
            epss_tally.reason(
                f"{prefix}.epss",
                n > 0,
                f"{_count(n, 'vulnerability')} with EPSS above {epss_limit} in {names}: "
                f"{_names(epss_tally.failing)}",
                f"no vulnerability with EPSS above {epss_limit} in {names}",
            )
        )
    missing_epss = ""
    if epss_accept is not None and intel.epss is None:
        missing_epss = " (no EPSS data" + (f": {intel.epss_problem}" if intel.epss_problem else "")
        missing_epss += "; nothing accepted by EPSS)"
    for severity in _VULN_SEVERITIES:
        if severity not in limits:
            continue
        tally = severity_tallies[severity]
        limit = limits[severity]
        n = len(tally.failing)
        reasons.append(
            tally.reason(
                f"{prefix}.{severity}",
                n > limit,
                f"{_count(n, severity + ' vulnerability')} (limit {limit}) in {names}: "
                f"{_names(tally.failing)}{missing_epss}",
                f"{_count(n, severity + ' vulnerability')} (limit {limit}) in {names}"
                + (f": {_names(tally.failing)}" if n else ""),
            )
        )
    return reasons


# --- code and secret reports -----------------------------------------------------------------


def _limited_rules(
    prefix: str,
    reports: Sequence[Report],
    limits: dict[str, int],
    severity_of: str,
    exceptions: _Exceptions,
    accepted_impacts: frozenset[str] = frozenset(),
    noun: str = "finding",
) -> list[Reason]:
    names = ", ".join(r.name for r in reports)
    tallies = {sev: _RuleTally() for sev in limits}
    for report in reports:
        for finding in report.findings:
            key = finding.security_severity if severity_of == "security" else finding.severity
            tally = tallies.get(key or "")
            if tally is None:
                continue
            live, expired, how = exceptions.match(finding)
            if live is not None:
                tally.accept(finding, _describe_exception(live, how))
            elif finding.impact in accepted_impacts:
                tally.accept(finding, f"impactRiskAcceptance ({finding.impact} impact)")
            else:
                if expired is not None:
                    tally.expired[expired.id] = expired
                tally.failing.append(finding)
    reasons = []
    for severity, limit in limits.items():
        tally = tallies[severity]
        n = len(tally.failing)
        head = f"{_count(n, severity.upper() + ' ' + noun)} (limit {limit}) in {names}"
        reasons.append(
            tally.reason(
                f"{prefix}.{severity}",
                n > limit,
                f"{head}: {_names(tally.failing)}",
                head + (f": {_names(tally.failing)}" if n else ""),
            )
        )
    return reasons


def _any_finding_fails(
    rule: str, reports: Sequence[Report], exceptions: _Exceptions, noun: str, extra: int = 0
) -> Reason:
    names = ", ".join(r.name for r in reports)
    tally = _RuleTally()
    for report in reports:
        for finding in report.findings:
            live, expired, how = exceptions.match(finding)
            if live is not None:
                tally.accept(finding, _describe_exception(live, how))
            else:
                if expired is not None:
                    tally.expired[expired.id] = expired
                tally.failing.append(finding)
    n = len(tally.failing) + extra
    return tally.reason(
        rule,
        n > 0,
        f"{_count(n, noun)} in {names}: {_names(tally.failing) or 'see the report'}",
        f"no {noun} in {names}",
    )


# --- bundle-level rules ----------------------------------------------------------------------


def _commit_binding(submission: Submission, context: EvaluationContext) -> Reason:
    rule = "commit.binding"
    scanned = submission.bundle.commit if submission.bundle is not None else None
    if scanned is None:
        return Reason(
            rule=rule, status="fail", message="the bundle names no commit (context.commitHash)"
        )
    if not is_commit_id(scanned):
        return Reason(
            rule=rule,
            status="fail",
            message=f"the bundle's commitHash {quoted(scanned, 64)} is not a full commit id "
            "(40 or 64 hexadecimal characters); nothing will be synced",
        )
    if context.deploy_commit is not None and not is_commit_id(context.deploy_commit):
        return _not_a_commit(context.deploy_commit)
    if not context.deploy_commit:
        if context.deploy_ref:
            return Reason(
                rule=rule,
                status="fail",
                message=f"the project syncs {context.deploy_ref}, not the scanned commit "
                f"{scanned}: set sync.revision to commit, or disable commitBinding in the policy",
            )
        return Reason(rule=rule, status="fail", message="no commit to deploy was given")
    if scanned.strip().lower() != context.deploy_commit.strip().lower():
        return Reason(
            rule=rule,
            status="fail",
            message=f"the bundle scanned commit {scanned}, but {context.deploy_commit} "
            "would be deployed",
        )
    return Reason(rule=rule, status="pass", message=f"the bundle scanned commit {scanned}")


def _not_a_commit(value: str) -> Reason:
    if not value:
        problem = "the bundle names no commit (context.commitHash) and the project syncs it"
    else:
        problem = (
            f"the commit to deploy {quoted(value, 64)} is not a full commit id "
            "(40 or 64 hexadecimal characters)"
        )
    return Reason(
        rule="commit.binding", status="fail", message=f"{problem}; nothing will be synced"
    )


def _freshness(submission: Submission, policy: Policy, context: EvaluationContext) -> Reason:
    max_age = timedelta(hours=policy.belay.freshness.max_age_hours)
    bundle = submission.bundle
    stale, future, undated = [], [], []
    oldest: datetime | None = None
    for report in submission.reports:
        when = report.created_at
        if when is None and bundle is not None:
            when = bundle.added_at.get(report.name) or bundle.created_at
        if when is None:
            undated.append(report.name)
            continue
        if when > context.now + _CLOCK_SKEW:
            future.append(f"{report.name} ({when.isoformat()})")
        elif context.now - when > max_age:
            stale.append(f"{report.name} ({when.isoformat()})")
        oldest = when if oldest is None or when < oldest else oldest
    limit = f"{policy.belay.freshness.max_age_hours:g}h"
    problems = []
    if stale:
        problems.append(f"older than {limit}: {', '.join(stale)}")
    if future:
        problems.append(f"dated in the future: {', '.join(future)}")
    if undated:
        problems.append(f"no timestamp: {', '.join(undated)}")
    if not submission.reports:
        problems.append("no report to date")
    if problems:
        return Reason(rule="freshness", status="fail", message="; ".join(problems))
    age = context.now - oldest if oldest is not None else timedelta(0)
    hours = age.total_seconds() / 3600
    return Reason(
        rule="freshness", status="pass", message=f"oldest report is {hours:.1f}h old (max {limit})"
    )


def _required(submission: Submission, policy: Policy) -> list[Reason]:
    reasons = []
    for name in policy.belay.required_reports:
        found = [r.name for r in submission.reports if name in r.provides]
        if found:
            reasons.append(
                Reason(
                    rule=f"required.{name}", status="pass", message=f"{name}: {', '.join(found)}"
                )
            )
        else:
            reasons.append(
                Reason(rule=f"required.{name}", status="fail", message=f"no {name} report")
            )
    return reasons


def _coverage(reports: Sequence[Report], policy: Policy) -> list[Reason]:
    rules = policy.coverage
    reasons = []
    for measure, threshold in (
        ("line", rules.line_threshold),
        ("function", rules.function_threshold),
        ("branch", rules.branch_threshold),
    ):
        if threshold <= 0:
            continue
        values = [(r.name, getattr(r.coverage, measure)) for r in reports if r.coverage is not None]
        missing = [name for name, value in values if value is None]
        low = [
            f"{name} {value:.1%}"
            for name, value in values
            if value is not None and value < threshold
        ]
        rule = f"coverage.{measure}"
        if missing:
            reasons.append(
                Reason(
                    rule=rule,
                    status="fail",
                    message=f"{', '.join(missing)} gives no {measure} coverage (threshold "
                    f"{threshold:.0%})",
                )
            )
        elif low:
            reasons.append(
                Reason(
                    rule=rule,
                    status="fail",
                    message=f"{measure} coverage below {threshold:.0%}: {', '.join(low)}",
                )
            )
        else:
            shown = ", ".join(f"{name} {value:.1%}" for name, value in values)
            reasons.append(Reason(rule=rule, status="pass", message=f"{measure} coverage {shown}"))
    return reasons


# --- the verdict -----------------------------------------------------------------------------


def evaluate(submission: Submission, policy: Policy, context: EvaluationContext) -> Verdict:
    """Judge ``submission`` under ``policy`` at ``context.now``; never raises on report content."""
    reasons: list[Reason] = list(submission.checks)
    belay = policy.belay
    exceptions = _Exceptions(belay.exceptions, context.now)
    by_kind: dict[ReportKind, list[Report]] = defaultdict(list)
    for report in submission.reports:
        by_kind[report.kind].append(report)

    if belay.commit_binding.enabled:
        reasons.append(_commit_binding(submission, context))
    elif context.deploy_commit is not None and not is_commit_id(context.deploy_commit):
        # Binding may be off, but what would be synced must still be a commit, not a name.
        reasons.append(_not_a_commit(context.deploy_commit))
    if belay.freshness.enabled:
        reasons.append(_freshness(submission, policy, context))
    reasons.extend(_required(submission, policy))

    for kind, rules in (
        (ReportKind.grype, policy.grype),
        (ReportKind.cyclonedx, policy.cyclonedx),
        (ReportKind.trivy, belay.trivy),
    ):
        if by_kind.get(kind):
            reasons.extend(
                _vulnerability_rules(kind.value, by_kind[kind], rules, exceptions, context.intel)
            )
    if by_kind.get(ReportKind.semgrep):
        reasons.extend(
            _limited_rules(
                "semgrep",
                by_kind[ReportKind.semgrep],
                policy.semgrep.severity_limit.enabled(),
                "severity",
                exceptions,
                policy.semgrep.impact_risk_acceptance.accepted(),
                noun="result",
            )
        )
    if by_kind.get(ReportKind.sarif):
        sarif = belay.sarif
        reasons.extend(
            _limited_rules(
                "sarif",
                by_kind[ReportKind.sarif],
                sarif.level_limit.enabled(),
                "severity",
                exceptions,
                noun="result",
            )
        )
        reasons.extend(
            _limited_rules(
                "sarif",
                by_kind[ReportKind.sarif],
                sarif.security_severity_limit.enabled(),
                "security",
                exceptions,
                noun="result",
            )
        )
    if by_kind.get(ReportKind.gitleaks) and policy.gitleaks.limit_enabled:
        reasons.append(
            _any_finding_fails(
                "gitleaks.secrets", by_kind[ReportKind.gitleaks], exceptions, "secret"
            )
        )
    if by_kind.get(ReportKind.clamav) and belay.clamav.enabled:
        clam = by_kind[ReportKind.clamav]
        unlisted = sum(
            max(0, r.infected - sum(1 for f in r.findings if f.severity == "infected"))
            for r in clam
        )
        reasons.append(
            _any_finding_fails("clamav.infected", clam, exceptions, "infected file", unlisted)
        )
    if by_kind.get(ReportKind.coverage):
        reasons.extend(_coverage(by_kind[ReportKind.coverage], policy))
    if not submission.reports:
        reasons.append(Reason(rule="required.reports", status="fail", message="no report to judge"))
    return make_verdict(reasons, details_url=context.details_url)
