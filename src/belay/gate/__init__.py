"""The gate's judgement: report parsers, bundles, server-side policy and the verdict.

Pure domain (no I/O): :func:`parse_report`, :func:`read_bundle`/:func:`write_bundle` (bytes in,
bytes out), :func:`parse_policy_set`, :func:`evaluate`, :func:`export_gatecheck_yaml`. At the
edges: :func:`load_policy_set` (reads a file), :func:`load_intel` (reads KEV/EPSS files;
:mod:`belay.feeds` downloads them).
"""

from __future__ import annotations

from belay.gate.archive import BundleLimits
from belay.gate.bundle import Bundle, BundleManifest, bundle_tag, read_bundle, write_bundle
from belay.gate.errors import BundleError, DataRefreshError, GateError, PolicyError, ReportError
from belay.gate.evaluate import BundleFacts, EvaluationContext, Submission, evaluate, is_commit_id
from belay.gate.export import export_gatecheck_yaml
from belay.gate.intel import (
    DataFile,
    EpssScores,
    Intel,
    KevCatalog,
    intel_from_files,
    load_intel,
    parse_epss,
    parse_kev,
    read_data_files,
)
from belay.gate.policy import (
    Policy,
    PolicyException,
    PolicySet,
    load_policy,
    load_policy_set,
    parse_policy_set,
)
from belay.gate.reports import Coverage, Finding, Report, ReportKind, detect_kind, parse_report
from belay.gate.samples import sample_reports
from belay.gate.submission import submission_from_bundle, submission_from_reports
from belay.gate.verdict import Reason, Verdict, make_verdict

__all__ = [
    "Bundle",
    "BundleError",
    "BundleFacts",
    "BundleLimits",
    "BundleManifest",
    "Coverage",
    "DataFile",
    "DataRefreshError",
    "EpssScores",
    "EvaluationContext",
    "Finding",
    "GateError",
    "Intel",
    "KevCatalog",
    "Policy",
    "PolicyError",
    "PolicyException",
    "PolicySet",
    "Reason",
    "Report",
    "ReportError",
    "ReportKind",
    "Submission",
    "Verdict",
    "bundle_tag",
    "detect_kind",
    "evaluate",
    "export_gatecheck_yaml",
    "intel_from_files",
    "is_commit_id",
    "load_intel",
    "load_policy",
    "load_policy_set",
    "make_verdict",
    "parse_epss",
    "parse_kev",
    "parse_policy_set",
    "parse_report",
    "read_bundle",
    "read_data_files",
    "sample_reports",
    "submission_from_bundle",
    "submission_from_reports",
    "write_bundle",
]
