"""The HTTP edge: body size, JSON depth, out-of-range numbers, idle and slow connections, the connection
cap and running out of file descriptors, and discovery's URL. Raw sockets where requests would hide it."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
import yaml

from redprop.messaging.client import RpcClient
from redprop.testing.pytest_plugin import free_port
from tests.gateway import georeport_schema as spec
from tests.gateway.conftest import api_keys, key_of, start_gateway

pytestmark = pytest.mark.integration

REDPROP = Path(sys.executable).with_name("redprop")


def raw(port: int, data: bytes, timeout: float = 5.0) -> tuple[bytes, float]:
    """Send ``data`` and read until the server closes; returns what came back and how long it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received, time.monotonic() - started


def port_of(gateway) -> int:
    return int(gateway.base_url.rsplit(":", 1)[1])


def all_running(suite) -> bool:
    return all(not container._died.ready() for container in suite.runner.containers)


def test_a_body_over_the_limit_is_413_from_its_header_alone(run_suite, small_district):
    gateway = start_gateway(run_suite, small_district, http={"max_body_bytes": 4096})
    # 10 MB announced, none sent: the answer comes at once and the connection closes (nothing is read).
    answer, took = raw(port_of(gateway), b"POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                                         b"\r\nContent-Length: 10000000\r\nX-API-Key: " + key_of("resident").encode()
                                         + b"\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b"Connection: close" in head and took < 3
    assert json.loads(body)["error"]["code"] == "payload_too_large"

    big = {"category": "leak", "building_id": "B1", "description": "漏" * 3000}
    response = gateway.call("POST", "/api/v1/tickets", "resident", json=big)
    assert response.status_code == 413 and response.json()["error"]["details"]["limit"] == 4096
    open311 = gateway.call("POST", "/open311/v2/requests.json", "resident",
                           data={"service_code": "leak", "description": "x" * 5000, "address_id": "B1"})
    assert open311.status_code == 413
    spec.validate(spec.ERRORS, open311.json())
    assert open311.json()[0]["code"] == 413
    # Just under the limit is an ordinary request.
    assert gateway.call("POST", "/api/v1/tickets", "resident",
                        json={**big, "description": "漏水" * 100}).status_code == 201
    assert all_running(gateway.suite)


def test_json_nested_too_deep_is_400_never_a_500(gateway):
    for depth in (33, 2_000, 200_000):  # over the limit; over the parser's own recursion limit
        body = "[" * depth + "]" * depth
        for path in ("/api/v1/tickets", "/api/v1/tickets/X/rate"):
            response = gateway.call("POST", path, "resident", data=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 400, (depth, path, response.text[:200])
            assert response.json()["error"]["code"] == "bad_request"
            assert "deeper than 32" in response.json()["error"]["message"]
    nested = {"service_code": "leak", "address_id": "B1", "attribute": {"urgency": {"a": [[[[[[[[[[]]]]]]]]]]}}}
    deep: dict = nested
    for _ in range(40):
        deep = {"x": deep}
    response = gateway.call("POST", "/open311/v2/requests.json", "resident", json=deep)
    assert response.status_code == 400 and "deeper than 32" in response.json()[0]["description"]
    # Depth within the limit is not refused for its depth.
    fine = gateway.call("POST", "/api/v1/tickets", "resident",
                        json={"category": "leak", "building_id": "B1", "description": "漏水了"})
    assert fine.status_code == 201


def test_numbers_and_periods_out_of_range_are_422_naming_the_field(run_suite, small_district):
    gateway = start_gateway(run_suite, small_district, "evaluation")
    for path, field in [
        ("/api/v1/communities/C1/complexes?offset=1000000000000000000000000000000", "offset"),
        ("/api/v1/tickets?offset=99999999999999999999", "offset"),
        ("/api/v1/tickets?limit=100000000000000000000", "limit"),
        ("/api/v1/league-table?until=2000Q1", "until"),
        ("/api/v1/league-table?until=2009Q4&periods=40", "until"),
        ("/api/v1/league-table?periods=41", "periods"),
    ]:
        response = gateway.call("GET", path, "operator")
        assert response.status_code == 422, (path, response.text)
        assert [f["field"] for f in response.json()["error"]["details"]["fields"]] == [field], path
    # The edges of the ranges are accepted.
    assert gateway.call("GET", "/api/v1/tickets?offset=2147483647", "operator").json()["tickets"] == []
    table = gateway.call("GET", "/api/v1/league-table?until=2010Q1&periods=40", "operator")
    assert table.status_code == 200, table.text
    assert table.json()["periods"][0] == "2000Q2" and len(table.json()["periods"]) == 40


def test_idle_and_slow_connections_are_closed_and_the_cap_keeps_the_gateway_answering(run_suite, small_district):
    gateway = start_gateway(run_suite, small_district,
                            http={"max_connections": 16, "idle_timeout": 1, "request_timeout": 1})
    port = port_of(gateway)

    # An idle connection is closed after idle_timeout.
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:
        assert idle.recv(1) == b""
    assert 0.5 < time.monotonic() - started < 5

    # A client trickling its headers is cut off after request_timeout, however steadily it trickles.
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        closed = False
        for _ in range(100):
            try:
                slow.sendall(b"X")
                time.sleep(0.1)
                if slow.recv(1, socket.MSG_DONTWAIT) == b"":
                    closed = True
                    break
            except BlockingIOError:
                continue
            except OSError:
                closed = True
                break
    assert closed and time.monotonic() - started < 6

    # Three times the cap of connections that never send a byte: the gateway still answers at once
    # (the longest-idle one makes room), and every service of the suite keeps running.
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(48)]
    try:
        for _ in range(5):
            started = time.monotonic()
            response = requests.get(gateway.base_url + "/api/v1/catalogue", headers={"X-API-Key": key_of("resident")},
                                    timeout=10)
            assert response.status_code == 200 and time.monotonic() - started < 3
        server = next(e.server for e in gateway.suite.container("gateway").entrypoints if hasattr(e, "server"))
        assert len(server.connections.open) <= 16
    finally:
        for sock in sockets:
            sock.close()
    assert all_running(gateway.suite)
    assert gateway.suite.rpc.registry.summary().district == gateway.suite.settings.district


def test_running_out_of_file_descriptors_stops_nothing(make_settings, small_district, tmp_path):
    """``redprop run`` with three services under a 256-descriptor limit, 400 idle connections to it:
    the gateway keeps answering and the process keeps running (it used to die with every service)."""
    from redprop.testing.suite import Suite

    port = free_port()
    settings = make_settings(("registry", "ticketing", "gateway"),
                             services={"gateway": {"options": {"http_host": "127.0.0.1", "http_port": port,
                                                               "api_keys": api_keys(),
                                                               "http": {"max_connections": 5000}}}})
    Suite(settings, ["registry", "ticketing", "gateway"]).migrate_databases()
    config = tmp_path / "redprop.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("REDPROP_")}
    env["REDPROP_CONFIG"] = str(config)

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    log = tmp_path / "run.log"
    process = subprocess.Popen([str(REDPROP), "run", "registry", "ticketing", "gateway"], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=log.open("wb"), preexec_fn=low_limit)
    sockets: list[socket.socket] = []
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "the suite did not start"
            time.sleep(0.2)
        with RpcClient(settings, timeout=20) as rpc:
            rpc.registry.upsert(actor="P-DATA", records=small_district, request_id=f"load-{uuid.uuid4().hex[:8]}")
        for _ in range(400):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(0.5)
        for _ in range(3):
            response = requests.get(base + "/api/v1/catalogue", headers={"X-API-Key": key_of("resident")}, timeout=10)
            assert response.status_code == 200, response.text
        assert process.poll() is None, "the process died"
        with RpcClient(settings, timeout=20) as rpc:  # the other services answer too
            assert rpc.registry.summary().district == settings.district
        # Nothing failed on the way (what happens on SIGTERM below is the runner's business, not this test's).
        output = log.read_text(encoding="utf-8")
        assert "Traceback" not in output and "stopped" not in output, output[-3000:]
    finally:
        for sock in sockets:
            sock.close()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # And it still stops cleanly: idle connections do not hold up SIGTERM.
    assert process.returncode == 0, log.read_text(encoding="utf-8")[-3000:]


def test_discovery_announces_the_configured_public_url_never_the_host_header(run_suite, small_district):
    gateway = start_gateway(run_suite, small_district, public_url="https://311.example.gov.cn/district/")
    for headers in ({}, {"Host": "evil.example.com"}, {"X-Forwarded-Host": "evil.example.com"}):
        discovery = gateway.call("GET", "/open311/discovery.json", headers=headers).json()
        assert discovery["endpoints"][0]["url"] == "https://311.example.gov.cn/district/open311/v2"
    assert b"evil" not in gateway.call("GET", "/open311/discovery.xml", headers={"Host": "evil.example.com"}).content
