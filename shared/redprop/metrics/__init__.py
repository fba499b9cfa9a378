"""Prometheus metrics, /healthz and /readyz for each service, on the service's own port.

Standard series (every service):
  redprop_entrypoint_duration_seconds{service,entrypoint,outcome}  histogram of worker time
  redprop_entrypoint_calls_total{service,entrypoint,outcome}        every call, including requests
                                                                    rejected before a worker ran
  redprop_workers_in_flight{service} / redprop_workers_max{service} saturation = in_flight / max
  redprop_build_info{service,version,service_version,python}         1, labels say what runs
  process_* and python_* (platform, gc)                              the client library's collectors
``outcome`` is ``success``, an error code (``validation_failed``, ``not_found``, ``conflict``,
``permission_denied``, ``internal_error``, ``unavailable``), ``error`` for an unexpected exception, or
``replayed`` for a retried command answered from store. The calls counter has every entrypoint and
outcome at 0 from start, so ``rate()`` and ``increase()`` see the first call. Server faults, the ones
an operator must act on, are ``internal_error``, ``unavailable`` and ``error`` (:data:`SERVER_FAULTS`);
the others are answers to the caller.

Services add domain series through ``self.metrics.gauge(...)`` / ``counter`` / ``histogram``.
"""

from __future__ import annotations

import errno
import logging
import platform
import time
from collections.abc import Callable
from importlib import metadata

import eventlet
import eventlet.wsgi
from kombu import Connection
from nameko.extensions import DependencyProvider, SharedExtension
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from redprop import logs
from redprop.config import settings_from_config
from redprop.errors import ConfigError, RedpropError

log = logging.getLogger(__name__)

# RPC on a LAN is sub-millisecond to seconds; imports and sweeps take longer.
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120)


#: Outcomes that are the server's fault (the high-error-rate alert counts these only).
SERVER_FAULTS = ("internal_error", "unavailable", "error")


def known_outcomes() -> list[str]:
    """Every outcome a call can have except ``replayed``: success, each error code, ``error``."""
    codes, todo = set(), [RedpropError]
    while todo:
        cls = todo.pop()
        codes.add(cls.code)
        todo.extend(cls.__subclasses__())
    return ["success", *sorted(codes)]


def _version(distribution: str | None) -> str:
    try:
        return metadata.version(distribution) if distribution else "unknown"
    except metadata.PackageNotFoundError:
        return "unknown"


def outcome_of(exc_info) -> str:
    if exc_info is None:
        return "success"
    exc = exc_info[1]
    return exc.code if isinstance(exc, RedpropError) else "error"


class ServiceMetrics:
    """What ``self.metrics`` is inside a worker: the service's own registry, plus helpers."""

    def __init__(self, server: MetricsServer):
        self._server = server
        self.registry = server.registry
        self.service = server.service

    def counter(self, name: str, documentation: str, labels: tuple[str, ...] = ()) -> Counter:
        return self._server.metric(Counter, name, documentation, labels)

    def gauge(self, name: str, documentation: str, labels: tuple[str, ...] = ()) -> Gauge:
        return self._server.metric(Gauge, name, documentation, labels)

    def histogram(self, name: str, documentation: str, labels: tuple[str, ...] = (),
                  buckets: tuple[float, ...] = DURATION_BUCKETS) -> Histogram:
        return self._server.metric(Histogram, name, documentation, labels, buckets=buckets)


class MetricsServer(SharedExtension):
    """One registry and one HTTP listener per service container."""

    def setup(self):
        settings = settings_from_config(self.container.config)
        self.service = self.container.service_name
        self.port = settings.metrics_port(self.service)
        self.amqp_uri = settings.amqp_uri
        self.district = settings.district
        self.registry = CollectorRegistry()
        # The process (CPU, memory, file descriptors) and Python (platform, gc) series, as on any
        # Prometheus client; one registry per service, so with `run --all` each service shows the process.
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)
        self._metrics: dict[str, object] = {}
        self._labelled: dict[tuple, object] = {}
        self._ready_cache: tuple[float, bool, str] = (0.0, False, "")
        labels = ("service", "entrypoint", "outcome")
        self.duration = Histogram("redprop_entrypoint_duration_seconds", "Time spent in a worker.",
                                  labels, buckets=DURATION_BUCKETS, registry=self.registry)
        self.calls = Counter("redprop_entrypoint_calls", "Calls by entrypoint and outcome.",
                             labels, registry=self.registry)
        self.in_flight = Gauge("redprop_workers_in_flight", "Workers running now.", ("service",),
                               registry=self.registry).labels(self.service)
        Gauge("redprop_workers_max", "Configured max_workers.", ("service",),
              registry=self.registry).labels(self.service).set(self.container.max_workers)
        Gauge("redprop_build_info", "What runs: redprop-shared's version, the service package's, Python's.",
              ("service", "version", "service_version", "python"), registry=self.registry).labels(
            self.service, _version("redprop-shared"), _version(self._distribution()),
            platform.python_version()).set(1)
        #: Callables returning a sentence for operators, or None: /readyz stays ready and shows them.
        self.readiness_warnings: list[Callable[[], str | None]] = []
        # Ready means the broker and this service's databases answer.
        from redprop.db.provider import Database
        self.readiness_checks: list[Callable[[], None]] = [
            dep.ping for dep in self.container.dependencies if isinstance(dep, Database)]
        self._sock = None
        self._gt = None

    def metric(self, cls, name, documentation, labels, **kwargs):
        existing = self._metrics.get(name)
        if existing is None:
            existing = cls(name, documentation, labels, registry=self.registry, **kwargs)
            self._metrics[name] = existing
        return existing

    def count_call(self, entrypoint: str, outcome: str) -> None:
        self._series(self.calls, entrypoint, outcome).inc()

    def observe_duration(self, entrypoint: str, outcome: str, seconds: float) -> None:
        self._series(self.duration, entrypoint, outcome).observe(seconds)

    def _series(self, metric, entrypoint: str, outcome: str):
        # labels() takes a lock and builds its key on every call; a worker looks its series up here.
        key = (metric, entrypoint, outcome)
        series = self._labelled.get(key)
        if series is None:
            series = self._labelled[key] = metric.labels(self.service, entrypoint, outcome)
        return series

    def _distribution(self) -> str | None:
        from redprop.plugins import installed_services
        ep = installed_services().get(self.service)
        return ep.dist.name if ep is not None and ep.dist is not None else None

    def _initialise_calls(self) -> None:
        """Every entrypoint's calls by outcome, at 0 (a series that appears only with its first call
        makes rate() miss that call, and an alert on a never-seen outcome can never be tested)."""
        from redprop.messaging.rpc import CommandEntrypoint
        outcomes = known_outcomes()
        for entrypoint in self.container.entrypoints:
            extra = ["replayed"] if isinstance(entrypoint, CommandEntrypoint) else []
            for outcome in outcomes + extra:
                self.calls.labels(self.service, entrypoint.method_name, outcome)

    # -- HTTP ------------------------------------------------------------------------------------

    def start(self):
        self._initialise_calls()
        if not self.port:
            return
        try:
            self._sock = eventlet.listen(("0.0.0.0", self.port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"setting 'services.{self.service}.metrics_port': port {self.port} is already in use"
                ) from None
            raise
        self._gt = self.container.spawn_managed_thread(
            lambda: eventlet.wsgi.server(self._sock, self._app, log_output=False),
            identifier="metrics-http")
        log.info("%s serves /metrics, /healthz and /readyz on port %d", self.service, self.port)

    def stop(self):
        if self._gt is not None:
            self._gt.kill()
            self._gt = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    kill = stop

    def _app(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [generate_latest(self.registry)]
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if path == "/readyz":
            ready, why = self.ready()
            lines = [why, *(f"warning: {w}" for w in self.warnings())]
            start_response("200 OK" if ready else "503 Service Unavailable", [("Content-Type", "text/plain")])
            return [("\n".join(lines) + "\n").encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"try /metrics, /healthz or /readyz\n"]

    def warnings(self) -> list[str]:
        out = []
        for check in self.readiness_warnings:
            try:
                warning = check()
            except Exception as exc:  # a warning's check must never make the probe fail
                warning = f"warning check failed: {exc!r}"
            if warning:
                out.append(warning)
        return out

    def ready(self) -> tuple[bool, str]:
        """Broker and database reachable (cached for 5 s so probes stay cheap)."""
        checked_at, ready, why = self._ready_cache
        if time.monotonic() - checked_at < 5:
            return ready, why
        try:
            with Connection(self.amqp_uri, connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1)
            for check in self.readiness_checks:
                check()
            # The broker answering a new connection is not enough: this service's consumers must be
            # attached again after an outage (they reconnect with backoff, see messaging/consumer.py).
            for consumer in self._queue_consumers():
                if not consumer.connected:
                    raise ConnectionError("the service's consumers are not connected to the broker yet")
            ready, why = True, "ready"
        except Exception as exc:
            ready, why = False, f"not ready: {exc!r}"
        self._ready_cache = (time.monotonic(), ready, why)
        return ready, why


    def _queue_consumers(self) -> list:
        from redprop.messaging.consumer import ReconnectingQueueConsumer

        return [ext for ext in self.container.subextensions if isinstance(ext, ReconnectingQueueConsumer)]


class Metrics(DependencyProvider):
    """Times every worker and counts it by outcome; injects :class:`ServiceMetrics`. Also puts the
    worker's service, entrypoint, call id, district and ticket or matter id in its log context."""

    server = MetricsServer()

    def setup(self):
        self._started: dict[object, float] = {}

    def get_dependency(self, worker_ctx) -> ServiceMetrics:
        return ServiceMetrics(self.server)

    def worker_setup(self, worker_ctx):
        self._started[worker_ctx] = time.perf_counter()
        self.server.in_flight.inc()
        # nameko runs worker_setup, the worker and every worker_teardown in the worker's own green
        # thread, which starts with an empty context: nothing to undo (and the teardowns of other
        # dependencies, after-commit notices among them, keep the fields).
        logs.bind_worker(worker_ctx, self.server.district)

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self._started.pop(worker_ctx, None)
        self.server.in_flight.dec()
        outcome = outcome_of(exc_info)
        entrypoint = worker_ctx.entrypoint.method_name
        if started is not None:
            self.server.observe_duration(entrypoint, outcome, time.perf_counter() - started)
        self.server.count_call(entrypoint, outcome)


def find_metrics_server(container) -> MetricsServer | None:
    for ext in container.subextensions:
        if isinstance(ext, MetricsServer):
            return ext
    return None
