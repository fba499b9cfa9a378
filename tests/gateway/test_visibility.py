"""No existence oracle: a ticket the caller may not see answers exactly as a missing one (404), whatever
is asked of it, through REST and Open311, by key and by session; a company sees only the tickets dispatched
to it, not every ticket of a complex it runs."""

from __future__ import annotations

import pytest
import requests

from tests.gateway.conftest import start_gateway

pytestmark = pytest.mark.integration
MISSING = "T20990101-0000000000"
OTHER_RESIDENT = "test-key-resident-P3"
CSRF = {"X-Requested-With": "redprop"}
BODIES = {"rate": {"rating": 5}, "reopen": {"reason": "还在漏水"}, "cancel": {"reason": "不需要了"},
          "accept": {}, "note": {"note": "看过了"}, "reject": {"reason": "不归我们管"}}


@pytest.fixture
def gateway(run_suite, small_district):
    return start_gateway(run_suite, small_district)


def answer(response) -> tuple[int, str, set]:
    """What a caller learns from an error: status, code and the shape of the details (not the id echoed)."""
    error = response.json()["error"]
    return response.status_code, error["code"], set(error["details"])


def test_another_residents_ticket_is_404_exactly_like_a_missing_one(gateway):
    ticket = gateway.submit("resident")["id"]  # P2's
    for path in ("/api/v1/tickets/{id}",):
        theirs = gateway.call("GET", path.format(id=ticket), key=OTHER_RESIDENT)
        missing = gateway.call("GET", path.format(id=MISSING), key=OTHER_RESIDENT)
        assert answer(theirs) == answer(missing) == (404, "not_found", {"entity", "id", "field"})
    for action in ("rate", "reopen", "cancel"):
        theirs = gateway.call("POST", f"/api/v1/tickets/{ticket}/{action}", key=OTHER_RESIDENT, json=BODIES[action])
        missing = gateway.call("POST", f"/api/v1/tickets/{MISSING}/{action}", key=OTHER_RESIDENT, json=BODIES[action])
        assert answer(theirs) == answer(missing) == (404, "not_found", {"entity", "id", "field"}), action
    # Open311 too: one request by id, and a list by ids, leave it out like a missing one.
    one = gateway.call("GET", f"/open311/v2/requests/{ticket}.json", key=OTHER_RESIDENT)
    none = gateway.call("GET", f"/open311/v2/requests/{MISSING}.json", key=OTHER_RESIDENT)
    assert one.status_code == none.status_code == 404
    assert one.text.replace(ticket, "ID") == none.text.replace(MISSING, "ID")
    listed = gateway.call("GET", f"/open311/v2/requests.json?service_request_id={ticket},{MISSING}", key=OTHER_RESIDENT)
    assert listed.status_code == 200 and listed.json() == []
    assert ticket not in gateway.call("GET", "/api/v1/tickets", key=OTHER_RESIDENT).text
    # The ticket was not touched by any of it.
    assert gateway.call("GET", f"/api/v1/tickets/{ticket}", "resident").json()["ticket"]["status"] != "cancelled"


def test_the_same_for_a_resident_logged_in_with_a_session(gateway):
    ticket = gateway.submit("resident")["id"]
    gateway.add_account("wang.wu", "P3")
    client = requests.Session()
    assert gateway.login("wang.wu", client=client).status_code == 200
    theirs = client.post(gateway.base_url + f"/api/v1/tickets/{ticket}/cancel", json=BODIES["cancel"],
                         headers=CSRF, timeout=30)
    missing = client.post(gateway.base_url + f"/api/v1/tickets/{MISSING}/cancel", json=BODIES["cancel"],
                          headers=CSRF, timeout=30)
    assert answer(theirs) == answer(missing) == (404, "not_found", {"entity", "id", "field"})


def test_a_company_sees_only_the_tickets_dispatched_to_it(gateway):
    ticket = gateway.submit("resident")
    assert ticket["handler"]["id"] == "CO1"  # routed to the company running complex X1
    assert gateway.call("GET", f"/api/v1/tickets/{ticket['id']}", "property_company").status_code == 200
    # A worker hands it to the water company: CO1 still runs the complex, but the ticket is no longer its.
    moved = gateway.call("POST", f"/api/v1/tickets/{ticket['id']}/transfer", "grid_worker",
                         json={"handler": {"kind": "department", "id": "DEP-WATER"}, "reason": "总管漏水归水司"})
    assert moved.status_code == 200, moved.text
    for action in ("accept", "note", "reject"):
        theirs = gateway.call("POST", f"/api/v1/tickets/{ticket['id']}/{action}", "property_company",
                              json=BODIES[action])
        missing = gateway.call("POST", f"/api/v1/tickets/{MISSING}/{action}", "property_company", json=BODIES[action])
        assert answer(theirs) == answer(missing) == (404, "not_found", {"entity", "id", "field"}), action
    got = gateway.call("GET", f"/api/v1/tickets/{ticket['id']}", "property_company")
    assert answer(got) == (404, "not_found", {"entity", "id", "field"})
    assert ticket["id"] not in gateway.call("GET", "/api/v1/tickets", "property_company").text
    # The department it went to sees it, and acts on it.
    assert gateway.call("GET", f"/api/v1/tickets/{ticket['id']}", "department").status_code == 200
    assert gateway.call("POST", f"/api/v1/tickets/{ticket['id']}/accept", "department", json={}).status_code == 200
