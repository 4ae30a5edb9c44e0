"""The server-side policy: gatecheck's vocabulary as is, plus Belay's extensions.

A policy file is YAML. Its top level takes gatecheck's keys (``version``, ``metadata``,
``grype``, ``cyclonedx``, ``semgrep``, ``gitleaks``, ``coverage``; the legacy ``api`` block is
accepted and ignored with a warning), a ``belay`` block for what gatecheck cannot express
(required reports, ClamAV, freshness, commit binding, SARIF and trivy limits, exceptions with an
owner and an expiry, KEV/EPSS data files), and ``branches``: overrides per branch pattern,
deep-merged onto the rest (maps merge, lists replace, as Portage merges gatecheck files).
Unknown keys and wrong types are errors naming the file and the key path.
"""

from __future__ import annotations

import fnmatch
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from belay.errors import cannot_read
from belay.gate.errors import PolicyError

__all__ = [
    "BelayRules",
    "ClamavRules",
    "CommitBindingRules",
    "CoverageRules",
    "CveEntry",
    "CveList",
    "DataFiles",
    "FreshnessRules",
    "GitleaksRules",
    "Limit",
    "Policy",
    "PolicyException",
    "PolicySet",
    "RequiredReport",
    "SarifRules",
    "ScoreLimit",
    "SemgrepRules",
    "SeverityLimits",
    "VulnerabilityRules",
    "load_policy",
    "load_policy_set",
    "parse_policy_set",
]

RequiredReport = Literal[
    "grype",
    "cyclonedx",
    "syft",
    "spdx",
    "semgrep",
    "gitleaks",
    "clamav",
    "coverage",
    "sarif",
    "trivy",
]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


class Limit(_Model):
    """A count limit: more than ``limit`` findings fails when ``enabled``."""

    enabled: bool = False
    limit: int = Field(default=0, ge=0)


class ScoreLimit(_Model):
    """An EPSS score (probability, 0..1) used as a limit or an acceptance threshold."""

    enabled: bool = False
    score: float = Field(default=0.0, ge=0.0, le=1.0)


class _Tags(_Model):
    tags: list[str] = []


class CveEntry(_Model):
    """An entry of gatecheck's ``cveLimit``/``cveRiskAcceptance`` lists."""

    id: str = Field(min_length=1)
    metadata: _Tags = _Tags()


class CveList(_Model):
    """gatecheck's deny list (``cveLimit``) or allow list (``cveRiskAcceptance``)."""

    enabled: bool = False
    cves: list[CveEntry] = []

    def ids(self) -> frozenset[str]:
        """The listed ids (upper case) when enabled, else nothing."""
        return frozenset(c.id.upper() for c in self.cves) if self.enabled else frozenset()


class SeverityLimits(_Model):
    """Per-severity count limits for vulnerability reports."""

    critical: Limit = Limit()
    high: Limit = Limit()
    medium: Limit = Limit()
    low: Limit = Limit()

    def enabled(self) -> dict[str, int]:
        """Severity → limit, for the enabled severities only."""
        return {
            name: getattr(self, name).limit
            for name in ("critical", "high", "medium", "low")
            if getattr(self, name).enabled
        }


class VulnerabilityRules(_Model):
    """gatecheck's ``grype``/``cyclonedx`` block (also Belay's ``trivy`` block)."""

    severity_limit: SeverityLimits = SeverityLimits()
    epss_limit: ScoreLimit = ScoreLimit()
    kev_limit_enabled: bool = False
    cve_limit: CveList = CveList()
    epss_risk_acceptance: ScoreLimit = ScoreLimit()
    cve_risk_acceptance: CveList = CveList()


class _SemgrepSeverities(_Model):
    error: Limit = Limit()
    warning: Limit = Limit()
    info: Limit = Limit()

    def enabled(self) -> dict[str, int]:
        return {
            name: getattr(self, name).limit
            for name in ("error", "warning", "info")
            if getattr(self, name).enabled
        }


class _ImpactAcceptance(_Model):
    enabled: bool = False
    high: bool = False
    medium: bool = False
    low: bool = False

    def accepted(self) -> frozenset[str]:
        if not self.enabled:
            return frozenset()
        return frozenset(n for n in ("high", "medium", "low") if getattr(self, n))


class SemgrepRules(_Model):
    """gatecheck's ``semgrep`` block."""

    severity_limit: _SemgrepSeverities = _SemgrepSeverities()
    impact_risk_acceptance: _ImpactAcceptance = _ImpactAcceptance()


class GitleaksRules(_Model):
    """gatecheck's ``gitleaks`` block: any finding fails when ``limitEnabled``."""

    limit_enabled: bool = False


class CoverageRules(_Model):
    """gatecheck's ``coverage`` block: minimum fractions (0 = not checked)."""

    line_threshold: float = Field(default=0.0, ge=0.0, le=1.0)
    function_threshold: float = Field(default=0.0, ge=0.0, le=1.0)
    branch_threshold: float = Field(default=0.0, ge=0.0, le=1.0)


class ClamavRules(_Model):
    """Belay: any infected file fails when ``enabled``."""

    enabled: bool = False


class FreshnessRules(_Model):
    """Belay: every report must be at most ``maxAgeHours`` old (and not from the future)."""

    enabled: bool = False
    max_age_hours: float = Field(default=24.0, gt=0)


class CommitBindingRules(_Model):
    """Belay: the bundle's ``context.commitHash`` must be the commit that will be deployed."""

    enabled: bool = False


class _SarifLevels(_Model):
    error: Limit = Limit()
    warning: Limit = Limit()
    note: Limit = Limit()

    def enabled(self) -> dict[str, int]:
        return {
            name: getattr(self, name).limit
            for name in ("error", "warning", "note")
            if getattr(self, name).enabled
        }


class SarifRules(_Model):
    """Belay: SARIF limits per result level and per ``security-severity`` band."""

    level_limit: _SarifLevels = _SarifLevels()
    security_severity_limit: SeverityLimits = SeverityLimits()


class PolicyException(_Model):
    """A named, owned, expiring exception.

    ``id`` matches a finding's id or any alias (CVE, GHSA), its rule id or its fingerprint;
    ``package`` and ``path`` narrow it (shell patterns). A date ``expires`` is valid through the
    end of that day (UTC); after it the exception no longer applies and the verdict says so.
    """

    id: str = Field(min_length=1)
    package: str | None = None
    path: str | None = None
    reason: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    expires: datetime

    @field_validator("expires", mode="before")
    @classmethod
    def _date_to_end_of_day(cls, value: Any) -> Any:
        # A quoted date ('2026-07-01') arrives as a string: read it the same as a YAML date, so
        # that no expiry is ever naive (comparing one with the clock would raise).
        if isinstance(value, str):
            text = value.strip()
            try:
                value = date.fromisoformat(text)
            except ValueError:
                try:
                    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
                except ValueError:
                    return value
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime.combine(value, time(23, 59, 59), tzinfo=UTC)
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    def expired(self, now: datetime) -> bool:
        """Tell whether the exception has expired at ``now``."""
        return now > self.expires


class DataFiles(_Model):
    """Local KEV (CISA JSON) and EPSS (CSV, optionally gzip) files, relative to the policy file."""

    kev: str | None = None
    epss: str | None = None


class BelayRules(_Model):
    """Belay's extensions (the ``belay`` block)."""

    required_reports: list[RequiredReport] = []
    clamav: ClamavRules = ClamavRules()
    freshness: FreshnessRules = FreshnessRules()
    commit_binding: CommitBindingRules = CommitBindingRules()
    sarif: SarifRules = SarifRules()
    trivy: VulnerabilityRules = VulnerabilityRules()
    exceptions: list[PolicyException] = []
    data: DataFiles = DataFiles()


class Policy(_Model):
    """One effective policy (after branch overrides are applied)."""

    version: Literal["1"] = "1"
    metadata: _Tags = _Tags()
    grype: VulnerabilityRules = VulnerabilityRules()
    cyclonedx: VulnerabilityRules = VulnerabilityRules()
    semgrep: SemgrepRules = SemgrepRules()
    gitleaks: GitleaksRules = GitleaksRules()
    coverage: CoverageRules = CoverageRules()
    api: dict[str, Any] | None = None
    belay: BelayRules = BelayRules()

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class PolicySet(BaseModel):
    """A default policy plus branch overrides (first matching pattern wins)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    default: Policy
    branches: tuple[tuple[str, Policy], ...] = ()
    base_dir: str = "."
    warnings: tuple[str, ...] = ()

    def for_branch(self, branch: str | None) -> Policy:
        """The policy for ``branch`` (the default when no override pattern matches)."""
        if branch:
            for pattern, policy in self.branches:
                if fnmatch.fnmatchcase(branch, pattern):
                    return policy
        return self.default

    def data_path(self, relative: str | None) -> Path | None:
        """Resolve a data file named in the policy against the policy file's folder."""
        if relative is None:
            return None
        path = Path(relative)
        return path if path.is_absolute() else Path(self.base_dir) / path


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _describe(source: str, where: str, err: ValidationError) -> PolicyError:
    problems = []
    for item in err.errors()[:3]:
        path = ".".join(str(p) for p in item["loc"])
        if where:
            path = f"{where}.{path}" if path else where
        if item["type"] == "extra_forbidden":
            problems.append(f"{path}: unknown key")
        else:
            problems.append(f"{path}: {item['msg']}")
    more = err.error_count() - len(problems)
    suffix = f" (and {more} more)" if more > 0 else ""
    return PolicyError(f"{source}: {'; '.join(problems)}{suffix}")


def _validate(source: str, where: str, data: dict[str, Any]) -> Policy:
    try:
        return Policy.model_validate(data)
    except ValidationError as err:
        raise _describe(source, where, err) from None


# libyaml's safe loader where there is one: the pure-Python parser takes seconds on input nested
# a few thousand deep, and what-if candidates are pasted by readers.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_policy_set(text: str, *, source: str, base_dir: str = ".") -> PolicySet:
    """Parse policy YAML text into a :class:`PolicySet`; errors name ``source`` and key path."""
    try:
        return _parse_policy_set(text, source=source, base_dir=base_dir)
    except RecursionError:
        # YAML nested thousands deep (a pasted what-if candidate can be): bad input, not a crash.
        raise PolicyError(f"{source}: nested too deeply to be a policy") from None


def _parse_policy_set(text: str, *, source: str, base_dir: str) -> PolicySet:
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise PolicyError(f"{source}: not valid YAML{where}: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: a policy must be a mapping, not {type(data).__name__}")
    branches_raw = data.pop("branches", None) or {}
    if not isinstance(branches_raw, dict):
        raise PolicyError(f"{source}: branches: must map branch patterns to policy overrides")
    default = _validate(source, "", data)
    branches = []
    for pattern, override in branches_raw.items():
        if not isinstance(override, dict):
            raise PolicyError(f"{source}: branches.{pattern}: must be a mapping")
        policy = _validate(source, f"branches.{pattern}", _deep_merge(data, override))
        branches.append((str(pattern), policy))
    warnings = []
    if default.api is not None or any(p.api is not None for _, p in branches):
        warnings.append(f"{source}: the legacy 'api' block is ignored")
    return PolicySet(
        source=source,
        default=default,
        branches=tuple(branches),
        base_dir=base_dir,
        warnings=tuple(warnings),
    )


def load_policy_set(path: str | Path) -> PolicySet:
    """Load a policy file (YAML) into a :class:`PolicySet`."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PolicyError(cannot_read("policy", file, err)) from None
    return parse_policy_set(text, source=str(file), base_dir=str(file.parent))


def load_policy(path: str | Path, branch: str | None = None) -> Policy:
    """Load a policy file and return the policy for ``branch``."""
    return load_policy_set(path).for_branch(branch)
