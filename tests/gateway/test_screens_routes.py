"""The routes behind the workbench's later screens (issue 19), against the real suite: transfer, merge and
notes on tickets; matching proposals for a community's needs; a complex's open consultations and an
owner's own vote in one."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import requests

from tests.gateway.conftest import start_gateway
from tests.matching.conftest import ZONE_RECORDS

pytestmark = pytest.mark.integration

SOON = (date.today() + timedelta(days=30)).isoformat()
#: A person of the registry who owns no part of any complex: a resident, but nobody's owner.
TENANT = [{"kind": "person", "id": "P4", "name": "赵六"}]
OPTIONS = [{"id": "agree", "label": "同意"}, {"id": "disagree", "label": "不同意"}]


def rid() -> str:
    return uuid.uuid4().hex


def field_of(response) -> list:
    return [f["field"] for f in response.json()["error"]["details"].get("fields", [])]


@pytest.fixture
def gateway(run_suite, small_district):
    return start_gateway(run_suite, [*small_district, *ZONE_RECORDS, *TENANT], "matching", "mediation")


# -- tickets: transfer, merge, notes -----------------------------------------------------------------


def test_a_worker_transfers_notes_and_merges_a_duplicate_into_the_ticket_kept(gateway):
    kept, duplicate = gateway.submit(), gateway.submit(description="楼道顶棚还在漏水")
    base = "/api/v1/tickets/"

    moved = gateway.call("POST", base + kept["id"] + "/transfer", "grid_worker",
                         json={"handler": {"kind": "department", "id": "DEP-WATER"}, "reason": "水管属自来水公司"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["ticket"]["handler"]["id"] == "DEP-WATER"
    no_reason = gateway.call("POST", base + kept["id"] + "/transfer", "grid_worker",
                             json={"handler": {"kind": "department", "id": "DEP-WATER"}})
    assert no_reason.status_code == 422 and "reason" in field_of(no_reason)

    noted = gateway.call("POST", base + kept["id"] + "/note", "grid_worker", json={"note": "已电话联系居民"})
    assert noted.status_code == 200, noted.text
    assert any(h["action"] == "note" for h in noted.json()["ticket"]["history"])
    resident_note = gateway.call("POST", base + kept["id"] + "/note", "resident", json={"note": "还在漏"})
    assert resident_note.status_code == 403  # a resident answers through rate/reopen, not workers' notes

    for body, status, field in (({}, 422, "original_id"),
                                ({"original_id": duplicate["id"]}, 409, "original_id"),   # into itself
                                ({"original_id": "T-NOPE"}, 404, None)):
        refused = gateway.call("POST", base + duplicate["id"] + "/merge", "grid_worker", json=body)
        assert refused.status_code == status, refused.text
        if status == 422:
            assert field in field_of(refused)
        elif field:
            assert refused.json()["error"]["details"]["field"] == field
    assert gateway.call("POST", base + duplicate["id"] + "/merge", "resident",
                        json={"original_id": kept["id"]}).status_code == 403
    assert gateway.call("GET", base + duplicate["id"], "grid_worker").json()["ticket"]["status"] != "cancelled"

    merged = gateway.call("POST", base + duplicate["id"] + "/merge", "grid_worker", json={"original_id": kept["id"]})
    assert merged.status_code == 200, merged.text
    ticket = merged.json()["ticket"]
    assert (ticket["merged_into"], ticket["status"]) == (kept["id"], "cancelled")
    # The resident who placed the duplicate sees where it went.
    mine = gateway.call("GET", base + duplicate["id"], "resident").json()["ticket"]
    assert mine["merged_into"] == kept["id"]


# -- matching proposals ---------------------------------------------------------------------------


def propose(gateway) -> str:
    rpc = gateway.suite.rpc.matching
    rpc.add_offers(actor="P-CW", offers=[{"id": "OF-PLANTS", "provider_id": "ENT-A", "title": "红叶石楠",
                                          "description": "苗圃搬迁，苗木可移栽", "quantity": 100, "unit": "株",
                                          "estimated_value": "8000"}], request_id=rid())
    rpc.add_needs(actor="P-CW", needs=[{"id": "ND-PLANTS", "requester_id": "X2", "title": "绿化带补种红叶石楠",
                                        "quantity": 60, "unit": "棵", "priority": 4, "needed_by": SOON,
                                        "budget_estimate": "12000"}], request_id=rid())
    [proposal] = rpc.run_matching(actor="P-SD", request_id=rid()).proposals
    return proposal.id


def test_a_worker_sees_the_communitys_proposals_and_decides_them(gateway):
    proposal_id = propose(gateway)
    listed = gateway.call("GET", "/api/v1/proposals?community_id=C1", "grid_worker")
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["proposal"]["id"] == proposal_id
    assert (item["need"]["title"], item["offer"]["title"]) == ("绿化带补种红叶石楠", "红叶石楠")
    assert item["need"]["community_id"] == "C1" and item["proposal"]["explanation"]["summary"]
    assert gateway.call("GET", "/api/v1/proposals?community_id=C9", "grid_worker").json()["items"] == []

    decide = f"/api/v1/proposals/{proposal_id}/decide"
    accepted = gateway.call("POST", decide, "grid_worker", json={"side": "need", "decision": "accept"})
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["proposal"]["need_decision"], accepted.json()["proposal"]["status"]) == ("accept", "proposed")
    declined = gateway.call("POST", decide, "grid_worker",
                            json={"side": "offer", "decision": "decline", "reason": "苗木已预留给别处"})
    assert declined.status_code == 200 and declined.json()["proposal"]["status"] == "declined"
    # The list of open proposals updates: the declined pair has left it, and is listed as declined.
    assert gateway.call("GET", "/api/v1/proposals", "grid_worker").json()["items"] == []
    [gone] = gateway.call("GET", "/api/v1/proposals?status=declined", "grid_worker").json()["items"]
    assert gone["proposal"]["offer_decision"] == "decline"


def test_proposals_refuse_residents_companies_bad_input_and_unknown_ids(gateway):
    proposal_id = propose(gateway)
    decide = f"/api/v1/proposals/{proposal_id}/decide"
    for role in ("resident", "property_company"):
        assert gateway.call("GET", "/api/v1/proposals", role).status_code == 403
        assert gateway.call("POST", decide, role, json={"side": "need", "decision": "accept"}).status_code == 403
    bad = gateway.call("POST", decide, "grid_worker", json={"side": "buyer", "decision": "accept"})
    assert bad.status_code == 422 and "side" in field_of(bad)
    missing = gateway.call("POST", decide, "grid_worker", json={"side": "need"})
    assert missing.status_code == 422 and "decision" in field_of(missing)
    assert gateway.call("GET", "/api/v1/proposals?status=maybe", "grid_worker").status_code == 422
    unknown = gateway.call("POST", "/api/v1/proposals/PR-NOPE/decide", "grid_worker",
                           json={"side": "need", "decision": "accept"})
    assert unknown.status_code == 404, unknown.text
    # Nothing half-written: the refused calls left the proposal undecided.
    [item] = gateway.call("GET", "/api/v1/proposals", "grid_worker").json()["items"]
    assert item["proposal"]["need_decision"] is None and item["proposal"]["offer_decision"] is None


def test_a_decline_without_a_reason_is_refused_by_matching_through_the_gateway(gateway):
    """Matching 2.0 checks the reason itself: any client of the gateway (not only the workbench's form) is
    told which field, and the proposal is left undecided."""
    proposal_id = propose(gateway)
    decide = f"/api/v1/proposals/{proposal_id}/decide"
    for body in ({"side": "offer", "decision": "decline"},
                 {"side": "offer", "decision": "decline", "reason": " \t "},
                 {"side": "offer", "decision": "decline", "reason": "理" * 501}):
        refused = gateway.call("POST", decide, "grid_worker", json=body)
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["code"] == "validation_failed" and field_of(refused) == ["reason"], error
    [item] = gateway.call("GET", "/api/v1/proposals", "grid_worker").json()["items"]
    assert (item["proposal"]["status"], item["proposal"]["offer_decision"]) == ("proposed", None)
    declined = gateway.call("POST", decide, "grid_worker",
                            json={"side": "offer", "decision": "decline", "reason": "理" * 500})
    assert declined.status_code == 200 and declined.json()["proposal"]["status"] == "declined", declined.text


# -- consultations and an owner's vote ------------------------------------------------------------------


def open_consultation(gateway, complex_id: str = "X1") -> str:
    rpc = gateway.suite.rpc.mediation
    matter = rpc.open_matter(actor="P-CW", title="电梯加装 lift", topic="lift", complex_id=complex_id,
                             parties=["party_branch", "property_company", "self_management_committee",
                                      "building_leaders"], request_id=rid()).matter
    return rpc.open_consultation(actor="P-CW", matter_id=matter.id, art278_item=9, question="加装电梯？",
                                 approve_option="agree", options=OPTIONS, complex_id=complex_id,
                                 closes_at=datetime.now(UTC) + timedelta(hours=1), request_id=rid()).consultation.id


def test_an_owner_finds_the_open_consultation_votes_once_and_sees_participation(gateway):
    consultation_id = open_consultation(gateway)
    listed = gateway.call("GET", "/api/v1/consultations?complex_id=X1", "resident")
    assert listed.status_code == 200, listed.text
    assert [c["id"] for c in listed.json()["items"]] == [consultation_id]
    assert gateway.call("GET", "/api/v1/consultations?complex_id=X2", "resident").json()["items"] == []
    assert gateway.call("GET", "/api/v1/consultations?complex_id=X9", "resident").status_code == 404
    no_complex = gateway.call("GET", "/api/v1/consultations", "resident")
    assert no_complex.status_code == 422 and "complex_id" in field_of(no_complex)

    mine = gateway.call("GET", f"/api/v1/consultations/{consultation_id}/my-vote", "resident").json()
    assert sorted(h["household_id"] for h in mine["households"]) == ["H1", "H2"]  # P2's parts in X1
    assert mine["ballot"] is None and mine["why_not"] is None

    cast = gateway.call("POST", f"/api/v1/consultations/{consultation_id}/ballots", "resident",
                        json={"household_id": "H1", "option": "agree"})
    assert cast.status_code == 201, cast.text
    mine = gateway.call("GET", f"/api/v1/consultations/{consultation_id}/my-vote", "resident").json()
    assert mine["ballot"]["option"] == "agree" and mine["ballot"]["person_id"]
    tally = gateway.call("GET", f"/api/v1/consultations/{consultation_id}/tally", "resident").json()["result"]
    assert tally["participating_owners"] == 1 and tally["participation_by_headcount"]["part"] == "1"

    # A second ballot of the same person supersedes the first: still one person counted.
    again = gateway.call("POST", f"/api/v1/consultations/{consultation_id}/ballots", "resident",
                         json={"household_id": "H2", "option": "disagree"})
    assert again.status_code == 201, again.text
    mine = gateway.call("GET", f"/api/v1/consultations/{consultation_id}/my-vote", "resident").json()
    assert mine["ballot"]["option"] == "disagree"
    tally = gateway.call("GET", f"/api/v1/consultations/{consultation_id}/tally", "resident").json()["result"]
    assert tally["participating_owners"] == 1


def test_a_non_owner_is_told_why_not_and_refused_a_ballot(gateway):
    consultation_id = open_consultation(gateway)
    gateway.add_account("zhao.liu", "P4")
    client = requests.Session()
    assert gateway.login("zhao.liu", client=client).status_code == 200
    headers = {"X-Requested-With": "redprop"}
    mine = client.get(f"{gateway.base_url}/api/v1/consultations/{consultation_id}/my-vote", timeout=30).json()
    assert mine["households"] == [] and mine["why_not"] == "not_owner"
    refused = client.post(f"{gateway.base_url}/api/v1/consultations/{consultation_id}/ballots", headers=headers,
                          json={"household_id": "H1", "option": "agree"}, timeout=30)
    assert refused.status_code in (403, 422), refused.text  # mediation: not an owner of that part
    tally = gateway.call("GET", f"/api/v1/consultations/{consultation_id}/tally", "resident").json()["result"]
    assert tally["participating_owners"] == 0  # nothing counted
    # Workers and companies have no vote of their own to look at.
    assert gateway.call("GET", f"/api/v1/consultations/{consultation_id}/my-vote", "grid_worker").status_code == 403
    assert gateway.call("GET", "/api/v1/consultations/C-NOPE/my-vote", "resident").status_code == 404


def test_an_owner_is_shown_the_consultations_of_the_complexes_where_they_own_a_home(gateway):
    """The vote screen needs no complex id: the registry's households say where the caller is an owner
    (registry 1.3 ``owner_id``), and only the caller's own are ever shown."""
    in_x1, in_x2 = open_consultation(gateway, "X1"), open_consultation(gateway, "X2")

    mine = gateway.call("GET", "/api/v1/my/consultations", "resident")  # P2: H1 and H2 (co-owned), both in X1
    assert mine.status_code == 200, mine.text
    [x1] = mine.json()["complexes"]
    assert (x1["complex"]["id"], x1["complex"]["name"]) == ("X1", "阳光小区")
    assert sorted(h["household_id"] for h in x1["households"]) == ["H1", "H2"]
    assert in_x1 in [c["id"] for c in x1["consultations"]] and in_x2 not in [c["id"] for c in x1["consultations"]]

    # P3 co-owns H2 in X1 and owns H3 in X2: both complexes, each with its own consultations and parts.
    other = gateway.call("GET", "/api/v1/my/consultations", key="test-key-resident-P3").json()["complexes"]
    assert [(c["complex"]["id"], [h["household_id"] for h in c["households"]]) for c in other] == [
        ("X2", ["H3"]), ("X1", ["H2"])]  # by complex name: 老街小区 before 阳光小区
    assert [c["id"] for c in other[0]["consultations"]] == [in_x2]
    closed = gateway.call("GET", "/api/v1/my/consultations?state=closed", "resident").json()["complexes"]
    assert [(c["complex"]["id"], c["consultations"]) for c in closed] == [("X1", [])]

    # Someone who owns nothing is told so by an empty list, not refused; nobody can ask for another's homes.
    gateway.add_account("zhao.liu", "P4")
    client = requests.Session()
    assert gateway.login("zhao.liu", client=client).status_code == 200
    nothing = client.get(f"{gateway.base_url}/api/v1/my/consultations", timeout=30)
    assert nothing.status_code == 200 and nothing.json()["complexes"] == []
    for extra in ("?person_id=P3", "?owner_id=P3"):  # no such parameter: still the caller's own (P2's)
        asked = gateway.call("GET", "/api/v1/my/consultations" + extra, "resident").json()["complexes"]
        assert [(c["complex"]["id"], len(c["households"])) for c in asked] == [("X1", 2)]
    assert gateway.call("GET", "/api/v1/my/consultations?state=maybe", "resident").status_code == 422
    for role in ("grid_worker", "property_company"):
        assert gateway.call("GET", "/api/v1/my/consultations", role).status_code == 403
    assert gateway.call("GET", "/api/v1/my/consultations").status_code == 401


def test_a_resident_is_offered_their_own_homes_to_place_a_request_from(gateway):
    """``/my/homes`` lists the households the registry records the caller as an owner of, with building and
    complex (the resident's form starts from them); never anyone else's."""
    mine = gateway.call("GET", "/api/v1/my/homes", "resident")  # P2: owns H1, co-owns H2, both in B1 of X1
    assert mine.status_code == 200, mine.text
    assert [(h["household_id"], h["unit"], h["building"]["id"], h["complex"]["id"], h["complex"]["name"])
            for h in mine.json()["homes"]] == [("H1", "1-101", "B1", "X1", "阳光小区"), ("H2", "1-102", "B1", "X1", "阳光小区")]
    # P3 co-owns H2 in X1 and owns H3 in X2: by complex name, 老街小区 before 阳光小区.
    other = gateway.call("GET", "/api/v1/my/homes", key="test-key-resident-P3").json()["homes"]
    assert [(h["household_id"], h["building"]["id"]) for h in other] == [("H3", "B2"), ("H2", "B1")]
    # Asking for another's homes is not a thing: an unknown parameter still gives the caller's own.
    asked = gateway.call("GET", "/api/v1/my/homes?owner_id=P3", "resident").json()["homes"]
    assert [h["household_id"] for h in asked] == ["H1", "H2"]
    # Someone who owns nothing gets an empty list (a company's staff member too); no key, no answer.
    gateway.add_account("sun.qi", "P1")
    client = requests.Session()
    assert gateway.login("sun.qi", client=client).status_code == 200
    nothing = client.get(f"{gateway.base_url}/api/v1/my/homes", timeout=30)
    assert nothing.status_code == 200 and nothing.json()["homes"] == []
    staff = gateway.call("GET", "/api/v1/my/homes", "property_company")
    assert staff.status_code == 200 and staff.json()["homes"] == []
    assert gateway.call("GET", "/api/v1/my/homes").status_code == 401


def test_the_cases_list_reads_as_the_caller_whatever_the_query_string_says(gateway):
    """Mediation 2.4 masks a case's particulars for who reads it: the gateway names the caller and takes no
    ``viewer_id`` from the query (a fuzzed one once made it pass the field twice: a 500)."""
    gateway.suite.rpc.mediation.open_case(
        actor="P-CW", category="parking", summary="车位纠纷", level="grid", scope_id="G1", request_id=rid(),
        parties=[{"kind": "person", "id": "P2", "name": "李四", "phone": "13900000002"},
                 {"kind": "company", "id": "CO1", "name": "物业"}])
    for query in ("", "?viewer_id=P-NOBODY", "?viewer_id=0&level=grid&state=open"):
        listed = gateway.call("GET", "/api/v1/cases" + query, "grid_worker")  # P-CW, C1's community worker
        assert listed.status_code == 200, listed.text
        assert [p.get("phone") for p in listed.json()["items"][0]["parties"]] == ["13900000002", None], query
    documented = gateway.call("GET", "/openapi.json").json()["paths"]["/api/v1/cases"]["get"]["parameters"]
    assert "level" in [p["name"] for p in documented] and "viewer_id" not in [p["name"] for p in documented]
