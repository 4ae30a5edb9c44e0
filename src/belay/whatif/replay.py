"""Replay stored submissions under a candidate policy: which decisions would flip.

Each stored submission in range is judged again from its stored bundle with
:func:`~belay.intake.judgement.judge_bundle`, the same function the intake uses, at its original
decision's time (so freshness and exception expiry are as they were) and with the KEV/EPSS files
that decision used (kept in the store by digest). Where a file is gone, current data is used and
the row says so. A replay reads the store page by page, never writes a decision, never queues a
job, never calls Argo CD; it appends one ``policy.whatif`` event to the audit trail.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from belay.config import BelaySettings
from belay.errors import BadInput, cannot_read
from belay.gate import (
    BundleError,
    DataFile,
    Intel,
    PolicySet,
    Verdict,
    intel_from_files,
    load_policy_set,
    parse_policy_set,
    read_bundle,
    read_data_files,
)
from belay.intake import bundle_limits, judge_bundle
from belay.store import NewAuditEvent, Store, StoredJudgement
from belay.vocab import AuditKind
from belay.whatif.model import Flip, RuleChange, Skip, WhatIfResult

__all__ = [
    "Candidate",
    "candidate_from_file",
    "candidate_from_text",
    "compare_rules",
    "parse_since",
    "replay",
    "replay_projects",
]

_PAGE = 200
MAX_PASTED_BYTES = 64 * 1024
"""A pasted candidate larger than this is refused (real policies are a few kilobytes)."""
_RANK = {"fail": 3, "accepted": 2, "pass": 1}
_SINCE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

Progress = Callable[[int], None]


def parse_since(value: str | None, now: datetime) -> datetime | None:
    """``30d``, ``12h``, ``2w``, ``90m``, a date or an ISO 8601 time; ``None`` for all history."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    match = _SINCE.match(text)
    if match:
        try:
            return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        except (OverflowError, ValueError):
            raise BadInput(f"since {text[:40]!r}: reaches back before year 1") from None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(
            f"since {text[:40]!r}: not a duration (30d, 12h, 2w) or an ISO 8601 date"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _statuses(reasons: Iterable[Any]) -> dict[str, str]:
    """The worst status of each rule (a rule such as ``bundle.report`` may appear often)."""
    out: dict[str, str] = {}
    for reason in reasons:
        rule = reason["rule"] if isinstance(reason, dict) else reason.rule
        status = reason["status"] if isinstance(reason, dict) else reason.status
        if _RANK.get(status, 0) > _RANK.get(out.get(rule, ""), 0):
            out[rule] = status
    return out


def compare_rules(before: Sequence[Any], after: Sequence[Any]) -> tuple[RuleChange, ...]:
    """The rules whose status differs between two lists of reasons (``absent`` if missing)."""
    old, new = _statuses(before), _statuses(after)
    return tuple(
        RuleChange(rule=rule, before=old.get(rule, "absent"), after=new.get(rule, "absent"))
        for rule in sorted(old.keys() | new.keys())
        if old.get(rule) != new.get(rule)
    )


def replay_projects(
    settings: BelaySettings, candidate: Path | None, project: str | None
) -> tuple[str, ...]:
    """The projects to replay: ``project``; else those whose policy is the candidate's file; else
    every project (a candidate from elsewhere, e.g. a merge request's checkout, or pasted)."""
    if project is not None:
        if settings.project(project) is None:
            raise BadInput(f"project {project!r} is not in belay.yaml")
        return (project,)
    if candidate is None:
        return tuple(p.name for p in settings.projects)
    target = candidate.resolve()
    using = tuple(
        p.name
        for p in settings.projects
        if (path := settings.policy_path(p.policy)) is not None and path.resolve() == target
    )
    return using or tuple(p.name for p in settings.projects)


class Candidate(BaseModel):
    """The policy to replay under: parsed, with a label and the digest of its text."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    policy: PolicySet
    label: str
    sha256: str
    path: Path | None = None


def candidate_from_file(path: Path) -> Candidate:
    """Read and parse a candidate policy file (:class:`BadInput` with one line if it is bad)."""
    try:
        text = path.read_bytes()
    except OSError as err:
        raise BadInput(cannot_read("policy", path, err)) from None
    return Candidate(
        policy=load_policy_set(path),
        label=str(path),
        sha256=hashlib.sha256(text).hexdigest(),
        path=path,
    )


def candidate_from_text(
    text: str, *, data_from: PolicySet | None, label: str = "candidate"
) -> Candidate:
    """Parse a pasted candidate (from the web page or the API).

    A pasted candidate comes from a reader, not from the policy repository, so it may not name
    files on the server: data files (``belay.data``) and YAML aliases (which expand without
    bound) are refused. Its KEV/EPSS data are those of ``data_from``, the configured policy.
    """
    if len(text.encode()) > MAX_PASTED_BYTES:
        raise BadInput(f"{label}: larger than {MAX_PASTED_BYTES // 1024} KiB (a policy is a few)")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        aliased = any(
            isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=loader)
        )
    except (yaml.YAMLError, RecursionError):
        aliased = False  # the parser below says what is wrong
    if aliased:
        raise BadInput(f"{label}: YAML aliases (*name) are not accepted in a pasted policy")
    policy = parse_policy_set(text, source=label)
    named = [
        p.belay.data
        for p in (policy.default, *(b for _, b in policy.branches))
        if p.belay.data.kev or p.belay.data.epss
    ]
    if named:
        raise BadInput(
            f"{label}: a pasted policy may not name data files (belay.data); the configured "
            "policy's KEV and EPSS data are used"
        )
    if data_from is not None:
        policy = policy.model_copy(
            update={
                "default": policy.default.model_copy(
                    update={
                        "belay": policy.default.belay.model_copy(
                            update={"data": data_from.default.belay.data}
                        )
                    }
                ),
                "base_dir": data_from.base_dir,
            }
        )
    return Candidate(policy=policy, label=label, sha256=hashlib.sha256(text.encode()).hexdigest())


class _Data:
    """KEV/EPSS data for replays: the kept files by digest, else the candidate's current files."""

    def __init__(self, store: Store, candidate: PolicySet) -> None:
        self._store = store
        self._candidate = candidate
        self._cache: dict[tuple[tuple[str, str], ...], tuple[Intel, str | None]] = {}
        self._current: dict[str, DataFile] | None = None
        self._current_problems: dict[str, str] = {}

    def _current_files(self) -> dict[str, DataFile]:
        if self._current is None:
            files = self._candidate.default.belay.data
            self._current, self._current_problems = read_data_files(
                self._candidate.data_path(files.kev), self._candidate.data_path(files.epss)
            )
        return self._current

    def intel(self, digests: dict[str, str] | None) -> tuple[Intel, str | None]:
        """The data a decision used, and a note when some of it had to be replaced."""
        key = tuple(sorted((digests or {}).items()))
        if key in self._cache:
            return self._cache[key]
        files: dict[str, DataFile] = {}
        gone: list[str] = []
        if digests:
            with self._store.unit_of_work() as uow:
                for kind, digest in digests.items():
                    kept = uow.snapshots.content(digest)
                    if kept is None:
                        gone.append(f"{kind.upper()} {digest[:12]}")
                    else:
                        files[kind] = DataFile(
                            kind=kept[0], name=kept[1], content=kept[2], sha256=digest
                        )
        note = None
        if digests is None or gone:
            current = self._current_files()
            for kind, data in current.items():
                files.setdefault(kind, data)
            note = (
                f"the {' and '.join(gone)} data this decision used is no longer kept; "
                "current data was used"
                if gone
                else "decided before threat data was kept with decisions; current data was used"
            )
        problems = {k: v for k, v in self._current_problems.items() if k not in files}
        found = (intel_from_files(files, problems), note)
        self._cache[key] = found
        return found


def _judge_again(
    row: StoredJudgement,
    bundle_bytes: bytes | None,
    settings: BelaySettings,
    candidate: PolicySet,
    data: _Data,
) -> tuple[Verdict, str | None] | Skip:
    if bundle_bytes is None:
        return Skip(
            submission=row.submission_id,
            reason="the bundle was not stored (intake.store_bundles off, or an unreadable upload)",
        )
    project = settings.project(row.project or "")
    if project is None:
        return Skip(
            submission=row.submission_id, reason=f"project {row.project!r} is not in belay.yaml"
        )
    try:
        bundle = read_bundle(bundle_bytes, "stored bundle", limits=bundle_limits(settings.intake))
    except BundleError as err:
        return Skip(submission=row.submission_id, reason=f"the stored bundle cannot be read: {err}")
    intel, note = data.intel(row.data_digests)
    verdict = judge_bundle(
        bundle,
        project=project,
        policy=candidate.for_branch(row.branch),
        intel=intel,
        commit=row.commit,
        branch=row.branch,
        now=row.decided_at,
        details_url=None,
    )
    return verdict, note


def replay(
    *,
    store: Store,
    settings: BelaySettings,
    candidate: Candidate,
    project: str | None = None,
    since: datetime | None = None,
    actor: str,
    now: datetime | None = None,
    on_progress: Progress | None = None,
) -> WhatIfResult:
    """Replay the stored submissions in range under ``candidate``.

    :class:`~belay.errors.BadInput` when the project is unknown. The audit trail gets one
    ``policy.whatif`` event with the candidate's digest; nothing else is written.
    """
    digest = candidate.sha256
    projects = replay_projects(settings, candidate.path, project)
    data = _Data(store, candidate.policy)
    flipped: list[Flip] = []
    skipped: list[Skip] = []
    notes: dict[str, int] = {}
    evaluated = 0
    after: tuple[datetime, str] | None = None
    while True:
        with store.unit_of_work() as uow:
            page = uow.submissions.judged(projects=projects, since=since, after=after, limit=_PAGE)
        if not page:
            break
        after = (page[-1].decided_at, page[-1].submission_id)
        for row in page:
            # One bundle in memory at a time (a page of 200 could otherwise be gigabytes), read
            # in a short transaction of its own so that no lock is held while judging.
            with store.unit_of_work() as uow:
                stored = uow.submissions.bundle(row.submission_id)
            outcome = _judge_again(row, stored, settings, candidate.policy, data)
            if isinstance(outcome, Skip):
                skipped.append(outcome)
                continue
            verdict, note = outcome
            evaluated += 1
            if note:
                notes[note] = notes.get(note, 0) + 1
            if verdict.decision != row.decision:
                flipped.append(
                    Flip(
                        submission=row.submission_id,
                        project=row.project,
                        commit=row.commit,
                        decided_at=row.decided_at,
                        before=row.decision,
                        after=verdict.decision,
                        rules=compare_rules(row.verdict.get("reasons", []), verdict.reasons),
                        note=note,
                    )
                )
        if on_progress is not None:
            on_progress(evaluated + len(skipped))
    result = WhatIfResult(
        evaluated=evaluated,
        unchanged=evaluated - len(flipped),
        flipped=tuple(flipped),
        skipped=tuple(skipped),
        candidate=candidate.label,
        candidate_sha256=digest,
        projects=projects,
        since=since,
        notes=tuple(f"{count} submission(s): {note}" for note, count in notes.items()),
    )
    with store.unit_of_work() as uow:
        uow.audit.append(
            NewAuditEvent(
                kind=AuditKind.policy_whatif,
                actor=actor,
                data={
                    "candidate": candidate.label,
                    "candidate_sha256": digest,
                    "projects": list(projects),
                    "since": since.isoformat() if since else None,
                    "evaluated": result.evaluated,
                    "flipped": len(result.flipped),
                    "skipped": len(result.skipped),
                },
            ),
            now=now or datetime.now(UTC),
        )
        uow.commit()
    return result
