"""A Node.js client (amqplib) that knows only docs/wire-protocol.md and docs/asyncapi.yaml submits a
ticket, receives the created event, retries idempotently and gets typed errors back."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.interop.conftest import ASYNCAPI_COPY, run_node

pytestmark = pytest.mark.integration


def test_a_node_client_submits_a_ticket_and_receives_the_event(node, run_suite, small_district):
    suite = run_suite("registry", "ticketing", services={"ticketing": {"options": {"sweep_interval": 3600}}})
    suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id=f"load-{uuid.uuid4().hex[:8]}")

    done = run_node(node, "test.mjs", timeout=60, env={
        "REDPROP_AMQP_URI": suite.settings.amqp_uri, "REDPROP_ASYNCAPI": str(ASYNCAPI_COPY),
        "REDPROP_RESIDENT": "P2", "REDPROP_BUILDING": "B1", "REDPROP_CATEGORY": "leak",
    })
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0, done.stdout + done.stderr
    steps = [line.get("step") for line in lines[:-1]]
    assert steps == ["read asyncapi", "catalogue", "submit", "event", "retry", "conflict", "validation",
                     "not_found", "unserved"]
    final = lines[-1]
    assert final["ok"] is True

    # What the Node client did is what the service holds: one ticket (the retry made no second one).
    ticket = suite.rpc.ticketing.get(ticket_id=final["ticket_id"]).ticket
    assert ticket.resident_id == "P2" and ticket.location.building_id == "B1"
    assert suite.rpc.ticketing.list(resident_id="P2").total == 1
    validation = next(line for line in lines if line.get("step") == "validation")
    assert validation["fields"] == ["category", "description"]


def test_the_node_client_fails_when_the_service_is_absent(node, run_suite):
    """Only the registry runs: the client must report failure (its checks are not vacuous)."""
    suite = run_suite("registry")
    done = run_node(node, "test.mjs", timeout=60, env={
        "REDPROP_AMQP_URI": suite.settings.amqp_uri, "REDPROP_ASYNCAPI": str(ASYNCAPI_COPY)})
    assert done.returncode == 1
    final = json.loads(done.stdout.splitlines()[-1])
    assert final["ok"] is False and "returned: nobody serves ticketing.catalogue" in final["error"]
