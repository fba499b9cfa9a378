"""Prometheus metrics, /healthz and /readyz for each service, on the service's own port.

Standard series (every service):
  redprop_entrypoint_duration_seconds{service,entrypoint,outcome}  histogram of worker time
  redprop_entrypoint_calls_total{service,entrypoint,outcome}        every call, including requests
                                                                    rejected before a worker ran
  redprop_workers_in_flight{service} / redprop_workers_max{service} saturation = in_flight / max
``outcome`` is ``success``, an error code (``validation_failed``, ``not_found``, ``conflict``,
``permission_denied``, ``internal_error``...), or ``replayed`` for a retried command answered from store.

Services add domain series through ``self.metrics.gauge(...)`` / ``counter`` / ``histogram``.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable

import eventlet
import eventlet.wsgi
from kombu import Connection
from nameko.extensions import DependencyProvider, SharedExtension
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from redprop.config import settings_from_config
from redprop.errors import ConfigError, RedpropError

log = logging.getLogger(__name__)

# RPC on a LAN is sub-millisecond to seconds; imports and sweeps take longer.
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120)


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
        self.registry = CollectorRegistry()
        self._metrics: dict[str, object] = {}
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
        self.calls.labels(self.service, entrypoint, outcome).inc()

    # -- HTTP ------------------------------------------------------------------------------------

    def start(self):
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
            start_response("200 OK" if ready else "503 Service Unavailable", [("Content-Type", "text/plain")])
            return [(why + "\n").encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"try /metrics, /healthz or /readyz\n"]

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
    """Times every worker and counts it by outcome; injects :class:`ServiceMetrics`."""

    server = MetricsServer()

    def setup(self):
        self._started: dict[object, float] = {}

    def get_dependency(self, worker_ctx) -> ServiceMetrics:
        return ServiceMetrics(self.server)

    def worker_setup(self, worker_ctx):
        self._started[worker_ctx] = time.perf_counter()
        self.server.in_flight.inc()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self._started.pop(worker_ctx, None)
        self.server.in_flight.dec()
        outcome = outcome_of(exc_info)
        entrypoint = worker_ctx.entrypoint.method_name
        if started is not None:
            self.server.duration.labels(self.server.service, entrypoint, outcome).observe(
                time.perf_counter() - started)
        self.server.count_call(entrypoint, outcome)


def find_metrics_server(container) -> MetricsServer | None:
    for ext in container.subextensions:
        if isinstance(ext, MetricsServer):
            return ext
    return None
