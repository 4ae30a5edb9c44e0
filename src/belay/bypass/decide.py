"""Whether an application's deployed revision changed past the gate (pure).

Two steps, neither doing I/O:

:func:`deployments`   an :class:`~belay.argocd.Application` → the deployments it shows: its
                      current (or last) sync operation and each ``status.history`` entry, with
                      revision(s), who started it (``initiatedBy``), when, and Belay's job
                      marker when the operation carries one.
:func:`judge`         one deployment + what Belay knows (:class:`Known`) → :class:`Unapproved`
                      or ``None``.

A deployment is **approved**, so never flagged, when

* its revision has a passing Belay decision for the project (the newest decision about it is
  ``pass``): a re-sync or a rollback to a revision that passed the gate is fine whoever does it,
  and so is auto-sync to it. For a multi-source application, **every** source whose repository
  is the project's gated remote must have passed (a chart and its ``ref: values`` source from
  the same repository are both gated); only when no source is the gated remote (or the project
  names none) does a passing decision for any source's revision do;
* or it is Belay's own sync: the operation carries Belay's job marker (``belay-job`` in
  ``info``) *and* that job exists in Belay's store for the same instance and application, its
  revision is the deployed one, and this operation is the job's own: the job is still running,
  or it finished at or after the operation started. A marker copied onto someone else's
  ``argocd app sync --info`` names no such job, the wrong revision, or a job that finished
  before that operation began (a replayed marker). A job without a pinned revision (none, or a
  branch) vouches only while it is running. Belay's manual syncs (``belay sync``, audited with
  any gate override) are Belay's own syncs too. A history entry, which carries no marker once
  its operation is gone (after a restart), is Belay's own when a Belay job ran at that
  revision.

A finished deployment (a history entry, an ended operation) that names no commit of a gated
source at all (a Helm chart, a tag that never resolved) is unapproved: nothing can vouch for it.
Otherwise it is **not judged yet** (``None``, look again at the next event) while its revision is
not a full commit id (``HEAD`` or a branch before Argo CD resolved it), or while it is a running
multi-source operation whose sources are unknown (``operation.sync`` names revisions but no
sources and the application's ``spec.sources`` do not line up with them): which revision is
gated is not known yet, so it is neither approved nor settled (so too while a source of the gated
repository is not resolved to a commit yet). A finished deployment whose
sources are still unknown is judged strictly: every commit revision must have passed. It is
**ignored** when it is a dry run or started before Belay began watching the instance (``since``;
Argo CD's times are whole seconds, so a deployment started in the second Belay began is judged).

One deployment has one identity from its first ``Running`` observation to its history entry:
:attr:`Deployment.key` uses the operation's ``startedAt``, which Argo CD copies into the
history entry's ``deployStartedAt``; history entries without it (Argo CD before 1.7) use their
id. The dedup key of a report is ``<instance>/<application>@<revision>#<key>``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from belay.argocd.models import Application, ApplicationSource, OperationInitiator
from belay.config import normalize_remote
from belay.deploy.decide import MARKER_NAME
from belay.deploy.revision import is_full_sha, is_short_sha, revision_matches

__all__ = [
    "SINCE_SLACK",
    "BelayJob",
    "Deployment",
    "Known",
    "Unapproved",
    "candidate_revisions",
    "deployments",
    "judge",
    "judgeable",
    "markers",
    "report_key",
]


SINCE_SLACK = timedelta(seconds=1)
"""Argo CD writes ``startedAt`` in whole seconds: a deployment stamped with the second in which
Belay began watching may have started after it, so it is judged."""


_COMPLETED = frozenset({"Succeeded", "Failed", "Error"})


class BelayJob(Protocol):
    """A Belay job a marker names, as the caller looked it up (the store's ``BelayJobRecord``)."""

    @property
    def instance(self) -> str: ...
    @property
    def application(self) -> str: ...
    @property
    def revision(self) -> str | None: ...
    @property
    def state(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def finished_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class Deployment:
    """One change of the deployed revision an application shows."""

    key: str
    """``s<startedAt>`` (or ``h<history id>``): the same for an operation and its history entry."""
    revisions: tuple[str, ...]
    """The synced revision of each source (one for a single-source application)."""
    repos: tuple[str, ...]
    """The repository URL of each source, aligned with :attr:`revisions` (``""`` when unknown)."""
    initiated_by: str
    """``initiatedBy.username``, ``automated`` (auto-sync) or ``unknown``."""
    started_at: datetime | None = None
    deployed_at: datetime | None = None
    history_id: int | None = None
    marker: str | None = None
    """The value of Belay's ``belay-job`` info, when the operation carries one."""
    phase: str = ""
    """The operation's phase, ``""`` for a history entry."""

    @property
    def revision(self) -> str:
        """The revisions as one string (``a,b`` for several sources)."""
        return ",".join(self.revisions)

    @property
    def at(self) -> datetime | None:
        """When it was deployed (or, while running, started)."""
        return self.deployed_at or self.started_at


@dataclass(frozen=True)
class Known:
    """What Belay knows about an application, looked up by the caller for its deployments."""

    instance: str
    application: str
    project: str | None = None
    """The belay.yaml project mapping the application."""
    gated_remote: str | None = None
    """The project's ``match.remote``: which source of a multi-source application is gated."""
    passing: frozenset[str] = frozenset()
    """Revisions (lower case) with a passing decision for the project."""
    jobs: Mapping[str, BelayJob] = field(default_factory=dict)
    """Belay's jobs named by markers: ``{job id: job}``."""
    since: datetime | None = None
    """Deployments that started before are not judged."""
    belay_revisions: frozenset[str] = frozenset()
    """Revisions (lower case) Belay's own jobs synced: a history entry carries no marker, so
    after a restart this is how Belay recognises its own (e.g. overridden) deployments."""


@dataclass(frozen=True)
class Unapproved:
    """A deployment to a revision without a passing decision, to report once."""

    dedup_key: str
    instance: str
    application: str
    project: str | None
    revision: str
    initiated_by: str
    at: datetime | None
    history_id: int | None
    revert_to: str | None
    """The newest earlier history revision that passed the gate (for ``on_unapproved: revert``)."""
    reason: str


def _who(initiator: OperationInitiator | None) -> str:
    if initiator is None:
        return "unknown"
    if initiator.username:
        return initiator.username
    return "automated" if initiator.automated else "unknown"


def _repos(source: ApplicationSource | None, sources: list[ApplicationSource]) -> tuple[str, ...]:
    if sources:
        return tuple(s.repo_url for s in sources)
    return (source.repo_url,) if source is not None else ("",)


def _revisions(revision: str, revisions: list[str]) -> tuple[str, ...]:
    return tuple(revisions) if revisions else (revision,)


def _sources_known(revisions: tuple[str, ...], repos: tuple[str, ...]) -> bool:
    """Whether each revision of a multi-source deployment has its repository."""
    return len(revisions) <= 1 or (len(repos) == len(revisions) and all(repos))


def _key(started: datetime | None, history_id: int | None) -> str:
    if started is not None:
        return "s" + started.isoformat()
    return f"h{history_id}"


def deployments(app: Application) -> list[Deployment]:
    """The deployments ``app`` shows, oldest first: each history entry, then the current (or
    last) operation when it is not in the history yet. Dry runs are left out."""
    found: list[Deployment] = []
    keys: set[str] = set()
    for entry in app.status.history:
        key = _key(entry.deploy_started_at, entry.id)
        keys.add(key)
        found.append(
            Deployment(
                key=key,
                revisions=_revisions(entry.revision, entry.revisions),
                repos=_repos(entry.source, entry.sources),
                initiated_by=_who(entry.initiated_by),
                started_at=entry.deploy_started_at,
                deployed_at=entry.deployed_at,
                history_id=entry.id,
            )
        )
    state = app.status.operation_state
    if state is None or state.started_at is None:
        return found
    sync = state.operation.sync
    if sync is None or sync.dry_run:
        return found
    marker = state.operation.info_value(MARKER_NAME)
    key = _key(state.started_at, None)
    if key in keys:
        # The history entry of this operation: lend it the marker the entry cannot carry.
        found = [dataclasses.replace(d, marker=marker) if d.key == key else d for d in found]
        return found
    result = state.sync_result
    if result is not None and (result.revision or result.revisions):
        revisions = _revisions(result.revision, result.revisions)
        repos = _repos(result.source, result.sources)
    else:
        revisions = _revisions(sync.revision, sync.revisions)
        repos = _repos(sync.source, sync.sources)
    if not _sources_known(revisions, repos) and not sync.sources:
        # An operation without its own sources syncs the application's: take them from the spec.
        spec = _repos(None, app.spec.sources)
        if _sources_known(revisions, spec):
            repos = spec
    found.append(
        Deployment(
            key=key,
            revisions=revisions,
            repos=repos,
            initiated_by=_who(state.operation.initiated_by),
            started_at=state.started_at,
            marker=marker,
            phase=state.phase,
        )
    )
    return found


def report_key(known: Known, deployment: Deployment) -> str:
    """The dedup key of a report about ``deployment``."""
    return f"{known.instance}/{known.application}@{deployment.revision}#{deployment.key}"


def _gated(deployment: Deployment, gated_remote: str | None) -> tuple[tuple[str, ...], bool]:
    """The revisions the gate rules on, and whether *all* of them must pass.

    A single source: its revision. Several sources: the revision of every source whose
    repository is the gated remote (all must pass); when none is, every revision, of which any
    passing one will do (Belay cannot tell which is gated). Several sources whose repositories
    are unknown: every revision, all of which must pass (fail closed).
    """
    if len(deployment.revisions) <= 1:
        return deployment.revisions, True
    if not _sources_known(deployment.revisions, deployment.repos):
        return deployment.revisions, True
    if gated_remote:
        wanted = normalize_remote(gated_remote)
        picked = tuple(
            rev
            for rev, repo in zip(deployment.revisions, deployment.repos, strict=True)
            if normalize_remote(repo) == wanted
        )
        if picked:
            return picked, True
    return deployment.revisions, False


def _passes(known: Known, gated: tuple[str, ...], every: bool) -> bool:
    if every:
        return all(r.lower() in known.passing for r in gated)
    return any(r.lower() in known.passing for r in gated)


def _waiting_for_sources(deployment: Deployment) -> bool:
    """A running multi-source operation whose sources are not known yet: judged later, when
    Argo CD shows them (``syncResult``, the history entry)."""
    return (
        not _sources_known(deployment.revisions, deployment.repos)
        and deployment.history_id is None
        and deployment.phase not in _COMPLETED
    )


def _commits(deployment: Deployment, known: Known) -> tuple[tuple[str, ...], bool]:
    """The gated revisions that are commit ids (chart versions and unresolved refs are not), and
    whether all of them must pass; none while the deployment cannot be judged yet."""
    if _waiting_for_sources(deployment):
        return (), True
    gated, every = _gated(deployment, known.gated_remote)
    commits = tuple(r for r in gated if is_full_sha(r))
    from_remote = (
        every
        and len(deployment.revisions) > 1
        and _sources_known(deployment.revisions, deployment.repos)
    )
    if from_remote and len(commits) < len(gated):
        # A source of the gated repository not resolved to a commit yet: dropping it would let
        # the other gated source's pass approve (and settle) the deployment. Judged later.
        return (), True
    return commits, every


def _belay_own(deployment: Deployment, known: Known) -> bool:
    if not deployment.marker:
        # A history entry cannot carry the marker: Belay's own if one of its jobs synced it.
        return deployment.history_id is not None and all(
            r.lower() in known.belay_revisions for r in deployment.revisions
        )
    job = known.jobs.get(deployment.marker)
    if job is None:
        return False
    if (job.instance, job.application) != (known.instance, known.application):
        return False
    running = job.state == "running"
    revision = job.revision or ""
    if not (is_full_sha(revision) or is_short_sha(revision)):
        # No pinned revision (none, a branch, a tag): it could name anything, so the marker
        # vouches only for the job's own operation while the job runs.
        return running
    if not any(revision_matches(revision, r) for r in deployment.revisions):
        return False
    if running:
        return True
    # A finished job's marker stays readable in status.operationState: it vouches only for the
    # operation the job ran, which started before the job finished (a replay starts after).
    started = deployment.started_at
    return job.finished_at is not None and started is not None and job.finished_at >= started


def _finished(deployment: Deployment) -> bool:
    """A history entry, or an operation that ended: its revisions will not resolve any further."""
    return deployment.history_id is not None or deployment.phase in _COMPLETED


def judgeable(deployment: Deployment, known: Known) -> bool:
    """Whether :func:`judge`'s ``None`` for ``deployment`` is final (approved or ignored), not
    "look again": it names a commit id the gate could rule on."""
    return bool(_commits(deployment, known)[0])


def judge(
    deployment: Deployment, known: Known, *, history: Iterable[Deployment] = ()
) -> Unapproved | None:
    """:class:`Unapproved` when ``deployment`` deployed a revision the gate did not pass.

    ``history`` (the application's deployments, oldest first) gives the revision a revert
    would go back to.
    """
    gated, every = _commits(deployment, known)
    # A finished deployment that names no commit at all (the app pointed at a Helm repository or
    # a tag that never resolves): nothing the gate passed can vouch for it, so it is flagged.
    unvouched = not gated and _finished(deployment)
    if not gated and not unvouched:
        return None
    if known.since is not None and deployment.at is not None:
        start = deployment.started_at or deployment.at
        if start + SINCE_SLACK <= known.since:
            return None
    if not unvouched and (_passes(known, gated, every) or _belay_own(deployment, known)):
        return None
    revert_to = None
    for earlier in history:
        if earlier.key == deployment.key:
            break
        earlier_gated, earlier_every = _commits(earlier, known)
        if (
            len(earlier.revisions) == 1
            and earlier_gated
            and _passes(known, earlier_gated, earlier_every)
        ):
            revert_to = earlier.revisions[0]
    who = deployment.initiated_by
    how = "auto-sync" if who == "automated" else f"a sync by {who}"
    where = (
        f"history entry {deployment.history_id}"
        if deployment.history_id is not None
        else (f"operation {deployment.phase or 'pending'}")
    )
    return Unapproved(
        dedup_key=report_key(known, deployment),
        instance=known.instance,
        application=known.application,
        project=known.project,
        revision=deployment.revision,
        initiated_by=who,
        at=deployment.at,
        history_id=deployment.history_id,
        revert_to=revert_to,
        reason=(
            f"{how} deployed {deployment.revision} ({where}), which is not a commit Belay can "
            "vouch for"
            if unvouched
            else f"{how} deployed {deployment.revision} ({where}) without a passing Belay decision"
        ),
    )


def candidate_revisions(found: Iterable[Deployment]) -> set[str]:
    """Every revision ``found`` names (what the caller looks decisions up for)."""
    return {r for d in found for r in d.revisions if r}


def markers(found: Iterable[Deployment]) -> set[str]:
    """Every Belay marker ``found`` carries (what the caller looks jobs up for)."""
    return {d.marker for d in found if d.marker}
