"""The OpenAPI document: checked in, served, and fuzzed with schemathesis (no 5xx on any input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from redprop.services.gateway.http import ROUTES
from redprop.services.gateway.openapi import render_json
from tests.gateway.conftest import start_gateway

OPENAPI_COPY = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
MAX_EXAMPLES = 12
STATUSES: dict[int, int] = {}


def test_the_checked_in_copy_is_current():
    assert OPENAPI_COPY.read_text(encoding="utf-8") == render_json(), (
        "docs/openapi.json is stale: run `redprop gateway openapi --out docs/openapi.json`")


def test_the_document_lists_every_route_with_its_errors_and_roles():
    doc = json.loads(render_json())
    assert doc["openapi"] == "3.1.0"
    for spec in ROUTES:
        operation = doc["paths"][spec.path][spec.method.lower()]
        assert operation["operationId"] == spec.operation_id
        if spec.permission:
            assert ({"403"} if spec.open311 else {"401", "403"}) <= set(operation["responses"]) and operation["x-redprop-roles"]
        else:
            assert operation["security"] == []
    submit = doc["paths"]["/api/v1/tickets"]["post"]
    body = doc["components"]["schemas"][submit["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert "request_id" not in body["properties"] and "category" in body["required"]


@pytest.mark.integration
def test_schemathesis_finds_no_server_error(run_suite, small_district):
    import schemathesis

    gateway = start_gateway(run_suite, small_district, "mediation", "evaluation")
    ticket = gateway.submit("resident")["id"]
    served = gateway.call("GET", "/openapi.json").json()
    assert served == json.loads(render_json())

    schema = schemathesis.openapi.from_dict(served)
    # An operator key: the widest role, so generated requests reach the services behind the gateway.
    headers = {"X-API-Key": "test-key-operator-990001"}
    failures, calls = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())  # noqa: B023 - check() runs before the loop moves on
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            nonlocal calls
            if case.path_parameters and "ticket_id" in case.path_parameters and calls % 2:
                case.path_parameters["ticket_id"] = ticket  # reach the service half of the time
            response = case.call(base_url=gateway.base_url, headers=headers, timeout=30)
            calls += 1
            STATUSES[response.status_code] = STATUSES.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                failures.append((operation.label, response.status_code, response.text[:300]))  # noqa: B023
            assert "Traceback" not in response.text

        check()
    assert calls >= MAX_EXAMPLES * len(ROUTES) // 2
    # The inputs reached the services, valid and invalid alike (not just the gateway's own checks).
    assert STATUSES.get(200, 0) > 0 and STATUSES.get(404, 0) > 0 and STATUSES.get(422, 0) + STATUSES.get(400, 0) > 0
    assert failures == []
