"""Prometheus metrics on a registry of the app's own (never the process-global one).

Two sources:

* the store, read at scrape time (so every replica reports the same numbers, and a restart
  loses nothing): submissions by verdict, queue depth and oldest age, deployments by outcome,
  sync attempts by outcome, and the deployment duration histogram (fed incrementally from
  jobs that finished since the last scrape);
* this process, observed live: Argo CD request latency by endpoint and status (through
  :func:`belay.argocd.add_call_observer`), HTTP requests served by route and status and their
  latency by route template (files under ``/static`` grouped as one route), and the standard
  process (CPU, memory, open files) and Python (version, garbage collection) collectors.

The ``_created`` series prometheus_client adds beside every counter and histogram (the time
each series was first seen) are turned off: nothing reads them and they double the output.

With several replicas on one PostgreSQL, aggregate the store-derived series with ``max``, not
``sum``: each replica reports the whole store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from belay.logs import get_logger
from belay.store import Store
from belay.vocab import END_STATES, OUTCOME_STATES, AuditKind, JobState

__all__ = ["CONTENT_TYPE", "Metrics", "endpoint_template"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_log = get_logger("belay.web")

SYNC_ATTEMPT_KINDS = {
    AuditKind.sync_requested: "accepted",
    AuditKind.sync_refused: "refused",
    AuditKind.sync_busy: "busy",
    AuditKind.sync_window_closed: "window_closed",
}
"""Audit kinds that record one attempt to start a sync, and the outcome label each gets."""

DURATION_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

_NAMED = ("applications", "projects", "clusters", "repositories", "applicationsets")
"""Argo CD collections whose next path segment is a name (templated to keep labels few)."""


def endpoint_template(path: str) -> str:
    """An Argo CD request path with object names replaced by ``{name}``.

    ``/api/v1/applications/guestbook/sync`` becomes ``/api/v1/applications/{name}/sync``.
    """
    parts = path.split("/")
    if len(parts) < 3 or parts[1] != "api":
        return "other"
    if len(parts) < 4:
        return path
    if parts[3:5] == ["account", "can-i"]:
        return "/".join(parts[:5]) + "/{check}"
    if parts[3] in _NAMED and len(parts) > 4:
        parts[4] = "{name}"
    return "/".join(parts)


class _StoreCollector(Collector):
    """Reads the store at each scrape."""

    def __init__(self, store: Store, duration: Histogram) -> None:
        self.store = store
        self.duration = duration
        self._lock = threading.Lock()
        self._cursor: datetime | None = None
        self._seen_at_cursor: set[str] = set()

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        try:
            with self.store.unit_of_work() as uow:
                found = uow.read_models.counts(audit_kinds=SYNC_ATTEMPT_KINDS)
        except Exception as err:  # noqa: BLE001 - a scrape must answer even when the store cannot
            _log.warning("metrics.store_unavailable", error=type(err).__name__)
            up = GaugeMetricFamily("belay_store_up", "1 when the store answered this scrape.")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily("belay_store_up", "1 when the store answered this scrape.")
        up.add_metric([], 1)
        yield up

        subs = CounterMetricFamily(
            "belay_submissions", "Submissions received, by verdict.", labels=["verdict"]
        )
        by_verdict = {"pass": 0, "fail": 0} | found.verdicts
        for verdict, count in sorted(by_verdict.items()):
            subs.add_metric([verdict], count)
        subs.add_metric(["none"], found.judging)
        yield subs

        counts = found.jobs
        depth = GaugeMetricFamily(
            "belay_queue_depth", "Deployment jobs waiting or running.", labels=["state"]
        )
        for state in (JobState.queued, JobState.running):
            depth.add_metric([state], counts.get(state, 0))
        yield depth

        age = GaugeMetricFamily(
            "belay_queue_oldest_age_seconds",
            "Age of the oldest queued deployment job (0 when none is queued).",
        )
        oldest = found.oldest_queued_at
        age.add_metric([], max(0.0, (_utcnow() - oldest).total_seconds()) if oldest else 0.0)
        yield age

        outcomes = CounterMetricFamily(
            "belay_deployments", "Deployment jobs ended, by outcome.", labels=["outcome"]
        )
        for state in END_STATES:
            outcomes.add_metric([state], counts.get(state, 0))
        yield outcomes

        tries = CounterMetricFamily(
            "belay_sync_attempts",
            "Attempts to start an Argo CD sync, by outcome (accepted, refused, busy, "
            "window_closed).",
            labels=["outcome"],
        )
        for kind, outcome in SYNC_ATTEMPT_KINDS.items():
            tries.add_metric([outcome], found.audit_kinds.get(kind, 0))
        yield tries

        unapproved = CounterMetricFamily(
            "belay_unapproved_deployments",
            "Deployments of a mapped application at a revision without a passing decision.",
        )
        unapproved.add_metric([], found.unapproved_deployments)
        yield unapproved

    def observe_durations(self) -> None:
        """Feed the duration histogram with jobs that ended since the last call.

        Called before each exposition (the histogram is rendered before this collector runs).
        """
        with self._lock:
            try:
                with self.store.unit_of_work() as uow:
                    ended = uow.read_models.ended_jobs(states=OUTCOME_STATES, since=self._cursor)
            except Exception as err:  # noqa: BLE001 - belay_store_up reports it
                _log.warning("metrics.store_unavailable", error=type(err).__name__)
                return
            for job in ended:
                if job.finished_at == self._cursor and job.id in self._seen_at_cursor:
                    continue
                self.duration.labels(outcome=job.state).observe(
                    max(0.0, (job.finished_at - job.created_at).total_seconds())
                )
                if job.finished_at != self._cursor:
                    self._cursor = job.finished_at
                    self._seen_at_cursor = set()
                self._seen_at_cursor.add(job.id)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Metrics:
    """The metrics of one app: its registry, the Argo CD observer and the HTTP counters."""

    def __init__(self, store: Store) -> None:
        # Process-wide and idempotent: no _created series beside counters and histograms.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.argocd_latency = Histogram(
            "belay_argocd_request_duration_seconds",
            "Argo CD API request latency, by method, endpoint (names templated) and status.",
            ["method", "endpoint", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.deployment_duration = Histogram(
            "belay_deployment_duration_seconds",
            "Time from a deployment job's creation (the verdict) to its end, by outcome.",
            ["outcome"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.http_requests = Counter(
            "belay_http_requests",
            "HTTP requests served, by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "belay_http_request_duration_seconds",
            "HTTP request latency, by method and route template (static files as one route).",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )
        self._store_collector = _StoreCollector(store, self.deployment_duration)
        self.registry.register(self._store_collector)

    def observe_argocd(
        self, _instance: str, method: str, path: str, status: int | None, seconds: float
    ) -> None:
        """The Argo CD client's call observer (``status`` is ``error`` when none came back)."""
        self.argocd_latency.labels(
            method=method,
            endpoint=endpoint_template(path),
            status=str(status) if status is not None else "error",
        ).observe(seconds)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one served HTTP request and observe its latency (the request log's observer)."""
        self.http_requests.labels(method=method, route=route, status=str(status)).inc()
        self.http_latency.labels(method=method, route=route).observe(seconds)

    def render(self) -> bytes:
        """The exposition text for ``/metrics``."""
        self._store_collector.observe_durations()
        return generate_latest(self.registry)
