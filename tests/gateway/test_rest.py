"""REST: submit, track, act on and rate tickets; places; consultations; the one error format."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from redprop.testing.pytest_plugin import free_port
from tests.gateway.conftest import OTHER_DISTRICT, Gateway, api_keys, key_of, start_gateway

pytestmark = pytest.mark.integration


def error_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert "Traceback" not in response.text
    error = response.json()["error"]
    assert error["status"] == status and error["code"] == code and isinstance(error["message"], str)
    return error


def test_a_ticket_from_submission_to_rating(gateway):
    ticket = gateway.submit("resident", description="楼道顶棚漏水，雨天更严重")
    assert ticket["resident_id"] == "P2" and ticket["status"] == "dispatched"
    assert ticket["handler"]["id"] == "CO1"

    # The resident tracks it; the property company holding it accepts and resolves it.
    assert gateway.call("GET", f"/api/v1/tickets/{ticket['id']}", "resident").json()["ticket"]["id"] == ticket["id"]
    accepted = gateway.call("POST", f"/api/v1/tickets/{ticket['id']}/accept", "property_company", json={"note": "马上到"})
    assert accepted.status_code == 200 and accepted.json()["ticket"]["status"] == "in_progress"
    resolved = gateway.call("POST", f"/api/v1/tickets/{ticket['id']}/resolve", "property_company",
                            json={"summary": "更换了破损的防水层", "funding_source": "company"})
    assert resolved.json()["ticket"]["status"] == "resolved", resolved.text
    rated = gateway.call("POST", f"/api/v1/tickets/{ticket['id']}/rate", "resident", json={"rating": 5, "comment": "好"})
    assert rated.json()["ticket"]["status"] == "closed" and rated.json()["ticket"]["rating"] == 5

    # Rating again is an illegal transition: 409.
    error_of(gateway.call("POST", f"/api/v1/tickets/{ticket['id']}/rate", "resident", json={"rating": 4}), 409, "conflict")


def test_a_worker_submits_for_a_resident_and_sees_everything(gateway):
    mine = gateway.submit("resident")
    for_p3 = gateway.submit("grid_worker", resident_id="P3", building_id="B2", category="leak")
    assert for_p3["resident_id"] == "P3"
    assert gateway.call("GET", f"/api/v1/tickets/{for_p3['id']}", "grid_worker").status_code == 200
    # The worker must say for whom; a resident may not submit for someone else.
    error_of(gateway.call("POST", "/api/v1/tickets", "grid_worker",
                          json={"category": "leak", "building_id": "B1", "description": "漏水"}), 422, "validation_failed")
    error_of(gateway.call("POST", "/api/v1/tickets", "resident",
                          json={"category": "leak", "building_id": "B1", "description": "漏水", "resident_id": "P3"}),
             403, "permission_denied")

    # Lists are scoped: the resident sees only their own; the operator sees both; the company what it holds.
    own = gateway.call("GET", "/api/v1/tickets", "resident").json()
    assert [t["id"] for t in own["tickets"]] == [mine["id"]]
    every = gateway.call("GET", "/api/v1/tickets?limit=10", "operator").json()
    assert {t["id"] for t in every["tickets"]} == {mine["id"], for_p3["id"]}
    assert {t["id"] for t in gateway.call("GET", "/api/v1/tickets", "property_company").json()["tickets"]} == {mine["id"]}
    assert gateway.call("GET", "/api/v1/tickets", "department").json()["total"] == 0
    # ... and a filter that the role does not force still applies.
    assert gateway.call("GET", "/api/v1/tickets?status=closed", "operator").json()["total"] == 0
    # Another resident's ticket is not there for this resident; the department does not see the company's.
    error_of(gateway.call("GET", f"/api/v1/tickets/{for_p3['id']}", "resident"), 404, "not_found")
    error_of(gateway.call("GET", f"/api/v1/tickets/{mine['id']}", "department"), 404, "not_found")


def test_idempotency_key_makes_a_retry_safe(gateway):
    body = {"category": "leak", "building_id": "B1", "description": "水管漏水"}
    headers = {"Idempotency-Key": f"http-{uuid.uuid4().hex}"}
    first = gateway.call("POST", "/api/v1/tickets", "resident", json=body, headers=headers)
    again = gateway.call("POST", "/api/v1/tickets", "resident", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["ticket"]["id"] == again.json()["ticket"]["id"]
    assert gateway.call("GET", "/api/v1/tickets", "resident").json()["total"] == 1
    error_of(gateway.call("POST", "/api/v1/tickets", "resident", json={**body, "description": "别的事情"},
                          headers=headers), 409, "conflict")
    error_of(gateway.call("POST", "/api/v1/tickets", "resident", json=body, headers={"Idempotency-Key": "short"}),
             422, "validation_failed")


def test_errors_have_one_format_and_the_right_status(gateway):
    error_of(gateway.call("GET", "/api/v1/tickets"), 401, "unauthorized")
    assert gateway.call("GET", "/api/v1/tickets").headers["WWW-Authenticate"].startswith("ApiKey")
    error_of(gateway.call("GET", "/api/v1/tickets", key="not-a-key"), 401, "unauthorized")
    error = error_of(gateway.call("GET", "/api/v1/tickets", key=key_of("operator", OTHER_DISTRICT)), 403,
                     "permission_denied")
    assert OTHER_DISTRICT in error["message"]
    error_of(gateway.call("POST", "/api/v1/tickets", "resident", data="{not json",
                          headers={"Content-Type": "application/json"}), 400, "bad_request")
    error_of(gateway.call("POST", "/api/v1/tickets", "resident", json=[1, 2]), 400, "bad_request")
    error = error_of(gateway.call("POST", "/api/v1/tickets", "resident",
                                  json={"category": "Leak!", "building_id": "B1", "description": "x"}),
                     422, "validation_failed")
    assert sorted(f["field"] for f in error["details"]["fields"]) == ["category", "description"]
    error_of(gateway.call("POST", "/api/v1/tickets", "resident",
                          json={"category": "leak", "building_id": "NO-SUCH", "description": "漏水"}), 404, "not_found")
    error_of(gateway.call("GET", "/api/v1/tickets/NO-SUCH", "operator"), 404, "not_found")
    error_of(gateway.call("GET", "/api/v1/tickets?limit=0", "operator"), 422, "validation_failed")
    error_of(gateway.call("GET", "/api/v1/nothing-here", "operator"), 404, "not_found")
    error_of(gateway.call("DELETE", "/api/v1/tickets", "operator"), 405, "method_not_allowed")
    # A resident acting on a ticket that is not theirs: 404 exactly like a missing one (no existence oracle).
    other = gateway.submit("grid_worker", resident_id="P3")
    theirs = error_of(gateway.call("POST", f"/api/v1/tickets/{other['id']}/cancel", "resident",
                                   json={"reason": "不需要了"}), 404, "not_found")
    missing = error_of(gateway.call("POST", "/api/v1/tickets/T20990101-0000000000/cancel", "resident",
                                    json={"reason": "不需要了"}), 404, "not_found")
    assert theirs["details"].keys() == missing["details"].keys()


def test_places_of_a_community(gateway):
    complexes = gateway.call("GET", "/api/v1/communities/C1/complexes", "resident").json()
    assert {c["id"] for c in complexes["items"]} == {"X1", "X2"} and complexes["total"] == 2
    grids = gateway.call("GET", "/api/v1/communities/C1/grids?limit=1", "property_company").json()
    assert grids["total"] == 2 and len(grids["items"]) == 1
    error_of(gateway.call("GET", "/api/v1/communities/NOPE/grids", "resident"), 404, "not_found")


def test_voting_in_a_consultation(run_suite, small_district):
    # The community admin's key stands for P-SD, the street officer covering C1, who may enter paper ballots there.
    gateway = start_gateway(run_suite, small_district, "mediation")
    rpc = gateway.suite.rpc
    matter = rpc.mediation.open_matter(actor="P-CW", title="停车收费调整", topic="parking", complex_id="X1",
                                       parties=["party_branch", "property_company", "self_management_committee",
                                                "building_leaders"], request_id=uuid.uuid4().hex).matter.id
    now = datetime.now(UTC)
    consultation = rpc.mediation.open_consultation(
        actor="P-CW", matter_id=matter, art278_item=9, question="临时停车免费改为30分钟?", approve_option="agree",
        options=[{"id": "agree", "label": "同意"}, {"id": "disagree", "label": "不同意"}],
        opens_at=now, closes_at=now + timedelta(days=3), complex_id="X1").consultation.id

    shown = gateway.call("GET", f"/api/v1/consultations/{consultation}", "resident").json()
    assert shown["consultation"]["id"] == consultation
    online = gateway.call("POST", f"/api/v1/consultations/{consultation}/ballots", "resident",
                          json={"household_id": "H1", "option": "agree"})
    assert online.status_code == 201, online.text
    assert online.json()["ballot"]["owner_id"] == "P2" and online.json()["ballot"]["channel"] == "online"
    paper = gateway.call("POST", f"/api/v1/consultations/{consultation}/ballots", "community_admin",
                         json={"household_id": "H2", "option": "disagree", "owner_id": "P3", "witness_id": "P1"})
    assert paper.status_code == 201, paper.text
    assert paper.json()["ballot"]["channel"] == "paper" and paper.json()["ballot"]["entered_by"] == "P-SD"
    # A resident votes only as themself; a grid worker does not vote at all.
    error_of(gateway.call("POST", f"/api/v1/consultations/{consultation}/ballots", "resident",
                          json={"household_id": "H2", "option": "agree", "owner_id": "P3"}), 403, "permission_denied")
    error_of(gateway.call("POST", f"/api/v1/consultations/{consultation}/ballots", "grid_worker",
                          json={"household_id": "H2", "option": "agree", "owner_id": "P3"}), 403, "permission_denied")
    error_of(gateway.call("GET", "/api/v1/consultations/NOPE", "resident"), 404, "not_found")


def test_a_service_that_does_not_answer_is_503(run_suite, small_district):
    port = free_port()
    suite = run_suite("registry", "gateway", messaging={"rpc_timeout": 1},
                      services={"gateway": {"options": {"http_host": "127.0.0.1", "http_port": port,
                                                        "api_keys": api_keys()}}})
    gateway = Gateway(base_url=f"http://127.0.0.1:{port}", suite=suite)
    error_of(gateway.call("GET", "/api/v1/catalogue", "resident"), 503, "unavailable")
    ready = gateway.call("GET", "/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["ticketing"] == "unavailable"
    assert gateway.call("GET", "/healthz").json()["status"] == "ok"
