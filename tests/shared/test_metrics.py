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
    suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id="metrics-load-1")
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


def families(text: str) -> dict[str, object]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_standard_collectors_build_info_and_every_call_counter_at_zero_from_start(run_suite):
    from importlib import metadata

    from redprop.messaging.rpc import CommandEntrypoint
    from redprop.metrics import known_outcomes

    suite = run_suite("registry")
    port = suite.settings.metrics_port("registry")
    text = fetch(port, "/metrics")[1]
    names = families(text)
    # The client library's process and Python collectors, on the service's own registry.
    for name in ("process_cpu_seconds", "process_resident_memory_bytes", "process_open_fds", "python_info",
                 "python_gc_objects_collected"):
        assert name in names, name
    (info,) = names["redprop_build_info"].samples
    assert info.value == 1
    assert info.labels["service"] == "registry"
    assert info.labels["version"] == metadata.version("redprop-shared")
    assert info.labels["service_version"] == metadata.version("redprop-registry")

    # Before any call, every entrypoint has every outcome at 0 (commands also `replayed`).
    values = samples(text)
    entrypoints = suite.container("registry").entrypoints
    assert {"resolve", "upsert"} <= {ep.method_name for ep in entrypoints}
    for ep in entrypoints:
        outcomes = known_outcomes() + (["replayed"] if isinstance(ep, CommandEntrypoint) else [])
        for outcome in outcomes:
            key = ("redprop_entrypoint_calls_total", frozenset(
                {"service": "registry", "entrypoint": ep.method_name, "outcome": outcome}.items()))
            assert values.get(key) == 0, key
    assert {"success", "validation_failed", "not_found", "conflict", "permission_denied", "internal_error",
            "unavailable", "error"} <= set(known_outcomes())

    with pytest.raises(NotFound):
        suite.rpc.registry.resolve(building_id="NOPE")
    values = samples(fetch(port, "/metrics")[1])

    def calls(outcome):
        return values[("redprop_entrypoint_calls_total", frozenset(
            {"service": "registry", "entrypoint": "resolve", "outcome": outcome}.items()))]

    assert (calls("not_found"), calls("success"), calls("internal_error")) == (1, 0, 0)


def readme_metric_names() -> set[str]:
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"\bredprop_[a-z_]+[a-z]", section))


def test_every_metric_the_readme_names_is_exposed(run_suite):
    names = readme_metric_names()
    assert {"redprop_entrypoint_calls_total", "redprop_build_info", "redprop_outbox_backlog",
            "redprop_calendar_covered_until_timestamp_seconds"} <= names
    suite = run_suite("registry", "ticketing", services={"ticketing": {"options": {"sweep_interval": 3600}}})
    # Before any call: every series the README names is there from start.
    exposed: set[str] = set()
    for service in ("registry", "ticketing"):
        for family in text_string_to_metric_families(fetch(suite.settings.metrics_port(service), "/metrics")[1]):
            exposed.add(family.name)
            exposed.update(sample.name for sample in family.samples)
    assert names - exposed == set()


def test_the_outbox_backlog_counts_events_the_broker_refuses_until_they_go_out(run_suite, small_district,
                                                                               rabbit_management, vhost):
    import time
    from urllib.parse import quote

    def backlog(port):
        return samples(fetch(port, "/metrics")[1]).get(
            ("redprop_outbox_backlog", frozenset({"service": "registry"}.items())))

    def wait_for(port, expected):
        deadline = time.monotonic() + 20
        while (value := backlog(port)) != expected and time.monotonic() < deadline:
            time.sleep(0.2)
        return value

    suite = run_suite("registry")
    port = suite.settings.metrics_port("registry")
    assert backlog(port) == 0  # present at 0 from start
    # Our user may no longer write to registry's event exchange: the relay's publishes are refused.
    path = f"/permissions/{quote(vhost, safe='')}/{quote(rabbit_management.user, safe='')}"
    rabbit_management.request("PUT", path, {"configure": ".*", "write": r"^(?!registry\.events$).*", "read": ".*"})
    suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id="backlog-load-1")
    assert wait_for_positive(backlog, port) >= 1
    rabbit_management.request("PUT", path, {"configure": ".*", "write": ".*", "read": ".*"})
    assert wait_for(port, 0) == 0


def wait_for_positive(read, port, timeout: float = 20):
    import time

    deadline = time.monotonic() + timeout
    while not (read(port) or 0) > 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    return read(port) or 0
