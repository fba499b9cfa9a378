"""Each service serves Prometheus metrics, /healthz and /readyz on its own port."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from redprop.errors import NotFound, ValidationFailed

pytestmark = pytest.mark.integration


def fetch(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def test_calls_are_counted_and_timed_by_outcome(run_suite, small_district):
    suite = run_suite("registry")
    port = suite.settings.metrics_port("registry")
    suite.rpc.registry.upsert(records=small_district, request_id="metrics-load-1")
    for _ in range(3):
        suite.rpc.registry.resolve(building_id="B1")
    with pytest.raises(NotFound):
        suite.rpc.registry.resolve(building_id="NOPE")
    suite.rpc.contracts = {}  # skip the client-side check so the service sees the bad request
    with pytest.raises(ValidationFailed):
        suite.rpc.call("registry", "resolve", {"building_id": 1})

    status, text = fetch(port, "/metrics")
    assert status == 200
    values = samples(text)

    def calls(outcome):
        return values.get(("redprop_entrypoint_calls_total", frozenset(
            {"service": "registry", "entrypoint": "resolve", "outcome": outcome}.items())), 0)

    assert calls("success") == 3
    assert calls("not_found") == 1
    assert calls("validation_failed") == 1
    count = values[("redprop_entrypoint_duration_seconds_count", frozenset(
        {"service": "registry", "entrypoint": "resolve", "outcome": "success"}.items()))]
    assert count == 3
    assert values[("redprop_workers_max", frozenset({"service": "registry"}.items()))] == 4
    assert ("redprop_workers_in_flight", frozenset({"service": "registry"}.items())) in values


def test_health_and_readiness(run_suite):
    suite = run_suite("registry")
    port = suite.settings.metrics_port("registry")
    assert fetch(port, "/healthz") == (200, "ok\n")
    status, body = fetch(port, "/readyz")
    assert (status, body.strip()) == (200, "ready")
    assert fetch(port, "/nothing-here")[0] == 404


def test_readiness_fails_when_the_database_is_gone(make_settings):
    from redprop.testing.suite import Suite

    settings = make_settings(["registry"], backend="postgresql")
    with Suite(settings, ["registry"]) as suite:
        port = settings.metrics_port("registry")
        # The service's database disappears from under it (dropped, or the server moved).
        db = next(d for d in suite.container("registry").dependencies if type(d).__name__ == "Database")
        from redprop.db.engine import build_engine

        good = db.engine
        db.engine = build_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/redprop_no_such_database")
        server = next(e for e in suite.container("registry").subextensions if type(e).__name__ == "MetricsServer")
        server._ready_cache = (0.0, False, "")
        status, body = fetch(port, "/readyz")
        db.engine.dispose()
        db.engine = good
    assert status == 503
    assert body.startswith("not ready")
