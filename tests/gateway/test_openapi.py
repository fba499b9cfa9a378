"""The OpenAPI document: checked in, served, and fuzzed with schemathesis (no 5xx on any input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from redprop.services.gateway.http import routes_of
from redprop.services.gateway.openapi import render_json
from redprop.services.gateway.service import GatewayService
from tests.gateway.conftest import SUBJECTS, key_of, start_gateway
from tests.gateway.photo_files import png

OPENAPI_COPY = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
#: Examples per operation for each role the fuzzer calls with: the widest role gets the most; 57 routes x
#: (24 + 8 + 8) cases, about 60-90 s on an idle 2-core machine.
MAX_EXAMPLES = {"operator": 24, "resident": 8, "property_company": 8}
STATUSES: dict[int, int] = {}


def test_the_checked_in_copy_is_current():
    assert OPENAPI_COPY.read_text(encoding="utf-8") == render_json(GatewayService), (
        "docs/openapi.json is stale: run `redprop gateway openapi --out docs/openapi.json`")


def test_the_document_lists_every_route_with_its_errors_and_roles():
    doc = json.loads(render_json(GatewayService))
    assert doc["openapi"] == "3.1.0"
    for spec in routes_of(GatewayService):
        operation = doc["paths"][spec.path][spec.method.lower()]
        assert operation["operationId"] == spec.operation_id
        if spec.permission:
            assert ({"403"} if spec.open311 else {"401", "403"}) <= set(operation["responses"]) and operation["x-redprop-roles"]
        else:
            assert operation["security"] == []
    submit = doc["paths"]["/api/v1/tickets"]["post"]
    body = doc["components"]["schemas"][submit["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert "request_id" not in body["properties"] and "category" in body["required"]


def reach(case, role: str, ticket: str) -> None:
    """Swap generated ids for ones that exist (still schema-valid), so requests get past the lookups."""
    if case.path_parameters:
        for name, value in (("ticket_id", ticket), ("service_request_id", ticket), ("community_id", "C1"),
                            ("service_code", "leak")):
            if name in case.path_parameters:
                case.path_parameters[name] = value
    if case.operation.path.endswith("/photos") and case.method.upper() == "POST":  # a real photo's bytes
        if isinstance(case.body, dict):
            case.body["photo"] = png()
        else:
            case.body = png()
    elif isinstance(case.body, dict):
        known = {"category": "leak", "service_code": "leak", "building_id": "B1", "complex_id": "X1",
                 "address_id": "B1", "resident_id": SUBJECTS["resident"] if role == "resident" else "P3"}
        case.body.update({k: v for k, v in known.items() if case.body.get(k) is not None})


#: Whose keys the fuzzer calls with: the widest role, a resident (its own tickets only) and a handler.
FUZZ_ROLES = tuple(MAX_EXAMPLES)


@pytest.mark.integration
@pytest.mark.timeout(600)  # thousands of HTTP calls through the whole suite: minutes on a busy CI machine
def test_schemathesis_with_all_checks_finds_the_document_and_the_server_agree(run_suite, small_district):
    """Schema-valid requests for three roles, every built-in check: no 5xx, no status, header, content type
    or body outside the document, and no schema-valid request refused as invalid (400/422)."""
    import schemathesis
    from schemathesis.generation.modes import GenerationMode

    gateway = start_gateway(run_suite, small_district, "mediation", "evaluation", "participation", "projects",
                            "matching")
    ticket = gateway.submit("resident")["id"]
    served = gateway.call("GET", "/openapi.json").json()
    assert served == json.loads(render_json(GatewayService))

    schema = schemathesis.openapi.from_dict(served)
    failures: list[tuple] = []
    calls = 0
    for role in FUZZ_ROLES:
        headers = {"X-API-Key": key_of(role)}
        for result in schema.get_all_operations():
            operation = result.ok()

            @given(case=operation.as_strategy(GenerationMode.POSITIVE))  # noqa: B023 - run before the loop moves
            @settings(max_examples=MAX_EXAMPLES[role], deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            def check(case):
                nonlocal calls
                if calls % 2:  # half the time, ids and codes that exist, so the services' success paths run
                    reach(case, role, ticket)  # noqa: B023
                calls += 1
                # A JSON Schema cannot say "starts with a PNG signature" of a binary body: random bytes sent as
                # a photo are refused 415, as documented, and a case whose body reach() made a real photo is
                # accepted; every other check still applies to the upload.
                upload = case.operation.path.endswith("/photos") and case.method.upper() == "POST"
                excluded = [positive_data_acceptance, negative_data_rejection] if upload else []
                try:
                    response = case.call_and_validate(base_url=gateway.base_url, headers=headers,  # noqa: B023
                                                      excluded_checks=excluded, timeout=30)
                except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - schemathesis' failures: gather all
                    failures.append((role, operation.label, str(exc)[:700]))  # noqa: B023
                    return
                STATUSES[response.status_code] = STATUSES.get(response.status_code, 0) + 1
                assert "Traceback" not in response.text

            check()
    assert failures == [], f"{len(failures)} failures:\n" + "\n\n".join(" ".join(f) for f in failures[:20])
    assert calls >= sum(MAX_EXAMPLES.values()) * len(routes_of(GatewayService)) // 2
    # The inputs reached the services and their success paths (not just the gateway's own checks).
    assert STATUSES.get(200, 0) > 0 and STATUSES.get(404, 0) > 0 and STATUSES.get(201, 0) > 0, STATUSES


def test_the_document_states_the_rules_the_server_applies():
    """Where schema and server used to disagree, both now say the same: checked value by value."""
    from jsonschema import Draft202012Validator

    from redprop.services.gateway.bodies import TICKET_ACTIONS, SubmitTicketBody

    doc = json.loads(render_json(GatewayService))
    schemas = doc["components"]["schemas"]

    def valid(name: str, body: dict) -> bool:  # the schema with the document's components, for its $refs
        return Draft202012Validator({**schemas[name], "components": doc["components"]}).is_valid(body)

    cancel = TICKET_ACTIONS["cancel"][1]
    resolve_body = TICKET_ACTIONS["resolve"][1]
    for reason in ("不需要了", " ok ", "  ", " x ", "\t\n", "ab"):
        assert valid(cancel.__name__, {"reason": reason}) == _accepts(cancel, {"reason": reason}), repr(reason)
    for quantity in (1, 0.5, 0.01, 0.001, 2.345, 10000, 10000.01, 0):
        body = {"summary": "修好了", "items": [{"code": "P1", "quantity": quantity}]}
        assert valid(resolve_body.__name__, body) == _accepts(resolve_body, body), quantity
    # Matching 2.0: a decline needs a reason; the body's schema says what the contract's validator checks.
    from redprop.contracts.matching import DecideRequest

    for body in ({"side": "offer", "decision": "decline"}, {"side": "offer", "decision": "decline", "reason": " "},
                 {"side": "offer", "decision": "decline", "reason": "已预留"}, {"side": "need", "decision": "accept"},
                 {"side": "need", "decision": "accept", "reason": ""}, {"side": "need", "decision": "decline",
                                                                         "reason": "x" * 501}):
        contract = _accepts(DecideRequest, {**body, "actor": "P-CW", "proposal_id": "PR-1", "request_id": "fuzz-0001"})
        assert valid("DecideProposalBody", body) == contract, body
    submit = {"category": "leak", "description": "漏水", "resident_id": "P2"}
    for location in ({}, {"building_id": "B1"}, {"building_id": None, "complex_id": "X1"},
                     {"building_id": "B1", "complex_id": "X1"}, {"point": {"lat": 31, "lon": 121}},
                     {"building_id": None}):
        body = {**submit, **location}
        assert valid(SubmitTicketBody.__name__, body) == _contract_accepts(body), location
    # A worker must name the resident: the document requires it of everyone (a resident may omit its own).
    assert not valid(SubmitTicketBody.__name__, {"category": "leak", "description": "漏水", "building_id": "B1"})


def _accepts(model, body: dict) -> bool:
    from pydantic import ValidationError

    try:
        model.model_validate(body)
        return True
    except ValidationError:
        return False


def _contract_accepts(body: dict) -> bool:
    """What ticketing.submit takes (the gateway's body model leaves the location rule to the contract)."""
    from redprop.contracts.ticketing import SubmitRequest

    return _accepts(SubmitRequest, {**body, "request_id": "fuzz-0001"})


def test_routes_are_found_on_the_class_and_importing_the_document_builder_imports_no_service():
    import subprocess
    import sys

    from redprop.services.gateway.http import route

    probe = ("import sys, redprop.services.gateway.openapi; "
             "print('redprop.services.gateway.service' in sys.modules)")
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr  # no import cycle, nothing registered on import

    ids = [spec.operation_id for spec in routes_of(GatewayService)]
    assert "submitTicket" in ids and len(ids) == len(set(ids))

    class Twice(GatewayService):
        @route("GET", "/again", "submitTicket", "A second operation with a taken id.", tags=("x",))
        def again(self, request, principal):
            raise AssertionError("never called")

    with pytest.raises(ValueError, match="submitTicket declared twice"):
        routes_of(Twice)
