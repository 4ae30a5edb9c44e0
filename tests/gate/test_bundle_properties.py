"""Property tests of the gate as a hostile submitter shapes bundles.

Generated: which reports a bundle holds (each clean or failing its rule), the names and tags
each entry gets (report names, configuration names and tags, random ones), whether the manifest
lists, omits or invents entries, tar layouts (order, ``./`` prefixes, duplicates, links), and a
Portage configuration with a planted canary secret. For every bundle:

* reading and judging never raises anything but :class:`BundleError` (a clean 4xx or a fail);
* the decision is never ``pass`` when any report fails its rule;
* the stored copy never contains the planted canary, inflated or not;
* judging the stored copy gives the same verdict as judging the upload (what a replay relies on).
"""

from __future__ import annotations

import gzip

from hypothesis import HealthCheck, given, settings

from belay import jsonio
from belay.gate import (
    BundleError,
    EvaluationContext,
    evaluate,
    parse_policy_set,
    read_bundle,
    submission_from_bundle,
)

from .bundle_strategies import CANARY, COMMIT, NOW, hostile_bundles

POLICY = parse_policy_set(
    "grype: {severityLimit: {critical: {enabled: true, limit: 0}}}\n"
    "semgrep: {severityLimit: {error: {enabled: true, limit: 0}}}\n"
    "gitleaks: {limitEnabled: true}\n"
    "belay: {commitBinding: {enabled: true}, clamav: {enabled: true}}\n",
    source="property.yaml",
).default
CONTEXT = EvaluationContext(now=NOW, deploy_commit=COMMIT)

_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(hostile_bundles())
def test_never_a_pass_when_a_report_fails_and_never_a_crash(case: tuple[bytes, bool, bool]) -> None:
    """Whatever the names, tags and layout, a failing report means fail; errors are BundleError."""
    blob, failing, _ = case
    try:
        bundle = read_bundle(blob, "prop.tgz")
    except BundleError:
        return
    verdict = evaluate(submission_from_bundle(bundle), POLICY, CONTEXT)
    if failing:
        assert verdict.decision == "fail", list(verdict.reasons)


@_SETTINGS
@given(hostile_bundles())
def test_stored_copy_never_holds_the_canary(case: tuple[bytes, bool, bool]) -> None:
    """The copy that may be stored never contains the planted secret, compressed or opened."""
    blob, _, planted = case
    try:
        bundle = read_bundle(blob, "prop.tgz")
    except BundleError:
        return
    needle = CANARY.encode()
    assert needle not in bundle.stored_copy
    opened = gzip.decompress(bundle.stored_copy)
    if planted:
        assert needle not in opened
    assert CANARY not in repr(bundle)
    assert CANARY not in jsonio.dumps_text(bundle.portage_config)


@_SETTINGS
@given(hostile_bundles())
def test_the_stored_copy_is_judged_as_the_upload_was(case: tuple[bytes, bool, bool]) -> None:
    """A policy replay judges the stored copy: it must give the same verdict as the original."""
    blob, _, _ = case
    try:
        bundle = read_bundle(blob, "prop.tgz")
    except BundleError:
        return
    again = read_bundle(bundle.stored_copy, "prop.tgz")
    first = evaluate(submission_from_bundle(bundle), POLICY, CONTEXT)
    second = evaluate(submission_from_bundle(again), POLICY, CONTEXT)
    assert [(r.rule, r.status) for r in second.reasons] == [
        (r.rule, r.status) for r in first.reasons
    ]
