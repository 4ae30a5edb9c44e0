"""Policy what-if: 10,000 stored submissions replayed under a candidate policy (goal < 60 s).

The store (SQLite, a fresh file) is filled through the store's own repositories with 10,000
submissions of realistic Portage bundles (each its own commit), half passing and half failing
under the policy in force, each with its decision. The figure is the wall time of
:func:`belay.whatif.replay` under a stricter candidate (every pass flips). The reference is the
same walk through the store without judging (read every page and inflate every bundle), so the
ratio says what the judgement itself costs.
"""

from __future__ import annotations

import gzip
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from belay.config.settings import load_settings
from belay.gate import write_bundle
from belay.intake.judgement import judge_bundle
from belay.store import DecisionRecord, Store, SubmissionRecord
from benchmarks.common import Figure, commit_for, failed, realistic_reports

GOAL_SECONDS = 60.0
REMOTE = "https://gitlab.com/bench/whatif-app.git"
POLICY = """version: "1"
grype:
  severityLimit:
    critical: {enabled: true, limit: 0}
gitleaks: {limitEnabled: true}
belay:
  commitBinding: {enabled: true}
"""


def _fill(store: Store, settings_path: Path, count: int) -> None:
    from belay.gate import Intel, load_policy_set, read_bundle

    settings = load_settings(settings_path)
    project = settings.projects[0]
    policy = load_policy_set(settings_path.parent / "current.yaml").default
    start = datetime(2026, 10, 1, tzinfo=UTC)
    base = realistic_reports(start)
    failing_grype = (
        b'{"matches": [{"vulnerability": {"id": "CVE-2024-3094", "severity": "Critical"},'
        b' "artifact": {"name": "xz-utils", "version": "5.6.0"}}],'
        b' "descriptor": {"name": "grype", "timestamp": "%s"}}' % start.isoformat().encode()
    )
    batch = 500
    for first in range(0, count, batch):
        with store.unit_of_work() as uow:
            for n in range(first, min(first + batch, count)):
                at = start + timedelta(seconds=n)
                reports = list(base)
                if n % 2:
                    reports = [r for r in reports if "grype" not in r[0]]
                    reports.append(("grype-vulnerability-report.json", failing_grype, []))
                commit = commit_for(n)
                blob = write_bundle(
                    reports, created_at=start, commit=commit, branch="main", remote=REMOTE
                )
                verdict = judge_bundle(
                    read_bundle(blob, "b"),
                    project=project,
                    policy=policy,
                    intel=Intel(),
                    commit=commit,
                    branch="main",
                    now=at,
                    details_url=None,
                )
                sid, did = f"s{n:08d}", f"d{n:08d}"
                uow.submissions.add(
                    SubmissionRecord(
                        id=sid,
                        received_at=at,
                        idempotency_key=f"bench:{n}",
                        content_digest="0" * 64,
                        project=project.name,
                        remote=REMOTE,
                        branch="main",
                        commit_sha=commit,
                        state="decided",
                        decision_id=did,
                    ),
                    bundle=blob,
                )
                uow.decisions.add(
                    DecisionRecord(
                        id=did,
                        submission_id=sid,
                        decided_at=at,
                        decision=verdict.decision,
                        project=project.name,
                        revision=commit,
                        branch="main",
                        policy=project.policy,
                        verdict=verdict.model_dump(mode="json", by_alias=True),
                        data_digests={},
                    )
                )
            uow.commit()


def _walk(store: Store, projects: tuple[str, ...]) -> int:
    after = None
    seen = 0
    while True:
        with store.unit_of_work() as uow:
            page = uow.submissions.judged(projects=projects, since=None, after=after, limit=200)
        if not page:
            return seen
        for row in page:
            with store.unit_of_work() as uow:
                gzip.decompress(uow.submissions.bundle(row.submission_id) or b"")
            seen += 1
        after = (page[-1].decided_at, page[-1].submission_id)


def measure(quick: bool) -> list[Figure]:
    """Fill a store, then time the reference walk and the replay."""
    from belay.whatif import candidate_from_file, replay

    count = 2_000 if quick else 10_000
    name, unit = "policy.whatif", "s"
    goal = f"< {GOAL_SECONDS:g} s for 10,000"
    with tempfile.TemporaryDirectory(prefix="belay-bench-whatif-") as tmp:
        work = Path(tmp)
        (work / "current.yaml").write_text(POLICY)
        (work / "stricter.yaml").write_text(POLICY + "  requiredReports: [clamav]\n")
        config = work / "belay.yaml"
        config.write_text(
            f'database_url: "sqlite:///{work / "w.db"}"\n'
            f"policies:\n  current: {work / 'current.yaml'}\n"
            "projects:\n  - name: app\n"
            f'    match: {{remote: "{REMOTE}", branch: main}}\n'
            f'    token_sha256: ["{"0" * 64}"]\n'
            "    policy: current\n    argocd: {application: app}\n"
        )
        settings = load_settings(config)
        store = Store(settings.database_url)
        store.upgrade()
        _fill(store, config, count)
        started = time.perf_counter()
        walked = _walk(store, ("app",))
        reference = time.perf_counter() - started
        started = time.perf_counter()
        result = replay(
            store=store,
            settings=settings,
            candidate=candidate_from_file(work / "stricter.yaml"),
            actor="bench",
        )
        seconds = time.perf_counter() - started
        store.dispose()
    if result.evaluated != count or walked != count:
        return failed(name, unit, goal, f"replayed {result.evaluated} of {count}")
    scaled = seconds * 10_000 / count
    return [
        Figure(
            name=name,
            value=round(scaled, 2),
            unit=unit,
            goal=goal,
            met=scaled < GOAL_SECONDS,
            reference=round(reference * 10_000 / count, 2),
            ratio=round(seconds / reference, 1),
            note=f"{count:,} submissions replayed in {seconds:.1f} s ({len(result.flipped):,} "
            f"flipped); reference: reading and inflating them only",
        )
    ]
