"""Issue 19's screens in headless Chromium against the real suite (tests/web/e2e.mjs): transfer, notes and
merging from the inbox; the matching proposals screen; an owner voting on the phone while the worker's
consultation screen moves; a non-owner told why they cannot vote. Screenshots go to var/screenshots/."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from tests.web.conftest import SHOTS, browse_screens

pytestmark = pytest.mark.integration


def rid() -> str:
    return uuid.uuid4().hex


def test_the_worker_transfers_notes_and_merges_a_duplicate_from_the_inbox(screens_workbench):
    kept = screens_workbench.submit()
    duplicate = screens_workbench.submit(description="楼道顶棚又漏水了")
    # The hub dispatched the first to the company; transfer is for a ticket someone holds.
    dispatched = screens_workbench.call("POST", f"/api/v1/tickets/{kept['id']}/dispatch", "grid_worker", json={})
    assert dispatched.status_code == 200, dispatched.text
    out = browse_screens(screens_workbench, "inboxmore", TICKET_ID=kept["id"], DUP_ID=duplicate["id"])
    assert "ok: the duplicate is merged" in out and "shows where it went" in out
    ticket = screens_workbench.call("GET", f"/api/v1/tickets/{kept['id']}", "grid_worker").json()["ticket"]
    assert ticket["handler"]["id"] == "DEP-WATER"
    assert [h["detail"].get("note") for h in ticket["history"] if h["action"] == "note"] == ["已电话联系居民，约定上门时间"]
    merged = screens_workbench.call("GET", f"/api/v1/tickets/{duplicate['id']}", "grid_worker").json()["ticket"]
    assert (merged["merged_into"], merged["status"]) == (kept["id"], "cancelled")
    assert (SHOTS / "worker-merge.png").stat().st_size > 10_000


def test_the_worker_accepts_and_declines_matching_proposals(screens_workbench):
    rpc = screens_workbench.suite.rpc.matching
    rpc.add_offers(actor="P-CW", request_id=rid(), offers=[{
        "id": "OF-PLANTS", "provider_id": "ENT-A", "title": "红叶石楠", "description": "苗圃搬迁，苗木可移栽",
        "quantity": 100, "unit": "株", "estimated_value": "8000"}])
    rpc.add_needs(actor="P-CW", request_id=rid(), needs=[{
        "id": "ND-PLANTS", "requester_id": "X2", "title": "绿化带补种红叶石楠", "quantity": 60, "unit": "棵",
        "priority": 4, "needed_by": (date.today() + timedelta(days=30)).isoformat(), "budget_estimate": "12000"}])
    [proposal] = rpc.run_matching(actor="P-SD", request_id=rid()).proposals
    out = browse_screens(screens_workbench, "proposals", PROPOSAL_ID=proposal.id)
    assert "ok: the declined proposal leaves the list" in out and "fits 390 px" in out
    assert "the reason field shows matching's limit" in out
    decided = rpc.get_proposal(proposal_id=proposal.id).proposal
    assert (decided.need_decision, decided.offer_decision, decided.status) == ("accept", "decline", "declined")
    for shot in ("worker-proposals.png", "worker-proposals-phone.png"):
        assert (SHOTS / shot).stat().st_size > 10_000


#: A complex of seven owners with different floor areas (700 m² in all), for the 2/3 lines of Civil Code
#: Art. 278 to be crossed by ballots one at a time: P2 (the phone's resident, who also owns in X1) and six more.
OWNERS_X7 = [("P2", None, "150.00"), ("P71", "钱一", "130.00"), ("P72", "孙二", "120.00"), ("P73", "周三", "90.00"),
             ("P74", "吴四", "80.00"), ("P75", "郑五", "70.00"), ("P76", "冯六", "60.00")]
X7_RECORDS = [
    {"kind": "complex", "id": "X7", "name": "和睦小区", "community_id": "C1", "year_built": 2008, "lat": 31.1, "lon": 121.1},
    {"kind": "grid", "id": "G7", "name": "第七网格", "community_id": "C1", "complex_id": "X7"},
    {"kind": "building", "id": "B7", "name": "7号楼", "complex_id": "X7", "grid_id": "G7", "lat": 31.1, "lon": 121.1},
    *[{"kind": "person", "id": person, "name": name} for person, name, _ in OWNERS_X7 if name],
    *[{"kind": "household", "id": f"H7{n}", "building_id": "B7", "unit": f"7-{n + 1}01", "area_m2": area,
       "owner_ids": [person]} for n, (person, _, area) in enumerate(OWNERS_X7)],
]
#: The order the ballots arrive in, and how: the phone page (the screen a resident uses) or the REST API.
BALLOTS = [("P2", "phone"), ("P71", "api"), ("P72", "api"), ("P73", "phone"), ("P74", "api"), ("P75", "api")]


def open_lift_vote(rpc, complex_id: str, question: str) -> str:
    matter = rpc.open_matter(actor="P-CW", title=f"{question} lift", topic="lift", complex_id=complex_id,
                             request_id=rid(), parties=["party_branch", "property_company",
                                                        "self_management_committee", "building_leaders"]).matter
    return rpc.open_consultation(
        actor="P-CW", matter_id=matter.id, art278_item=9, question=question, approve_option="agree",
        options=[{"id": "agree", "label": "同意"}, {"id": "disagree", "label": "不同意"}], complex_id=complex_id,
        closes_at=datetime.now(UTC) + timedelta(hours=1), request_id=rid()).consultation.id


def expected_lines(ballots) -> list[dict]:
    """After each ballot: participation by area and by headcount, and whether each 2/3 line (Civil Code Art.
    278: at least 2/3 of the area and 2/3 of the owners take part) is reached, counted here independently."""
    area = {person: Fraction(a) for person, _, a in OWNERS_X7}
    total, heads = sum(area.values()), len(OWNERS_X7)
    out, voted = [], []
    for person, _ in ballots:
        voted.append(person)
        part = sum(area[p] for p in voted)
        out.append({"area": float(part), "heads": len(voted), "area_reached": part / total >= Fraction(2, 3),
                    "heads_reached": Fraction(len(voted), heads) >= Fraction(2, 3)})
    return out


def test_owners_vote_one_by_one_and_the_workers_screen_crosses_the_two_thirds_lines_only_when_reached(
        screens_workbench):
    suite = screens_workbench.suite
    assert suite.rpc.registry.upsert(actor="P-DATA", records=X7_RECORDS, request_id=f"x7-{rid()[:8]}").applied
    accounts = {person: (f"owner{person[1:].lower()}", person) for person, name, _ in OWNERS_X7 if name}
    for username, person in accounts.values():
        screens_workbench.add_account(username, person)
    rpc = suite.rpc.mediation
    x7 = open_lift_vote(rpc, "X7", "和睦小区是否同意加装电梯？")
    x1 = open_lift_vote(rpc, "X1", "阳光小区是否同意更换水泵？")  # P2 owns there too: two complexes on the phone
    steps = expected_lines(BALLOTS)
    # The figures must cross one line before the other, or the test would not tell them apart.
    assert [(s["area_reached"], s["heads_reached"]) for s in steps] == [
        (False, False), (False, False), (False, False), (True, False), (True, True), (True, True)]
    owners = [{"person": person, "via": via, "household": f"H7{[o[0] for o in OWNERS_X7].index(person)}",
               "username": "lisi" if person == "P2" else accounts[person][0], "expect": step}
              for (person, via), step in zip(BALLOTS, steps, strict=True)]
    out = browse_screens(screens_workbench, "ballots", "nonowner", CONSULTATION_ID=x7, OTHER_ID=x1,
                         OWNERS=json.dumps(owners), AREA_WHOLE="700", HEADS_WHOLE=str(len(OWNERS_X7)))
    assert "the phone lists the consultations of both complexes where the owner has a home" in out
    assert "ok: the owner voted by keyboard" in out and "fits 390 px" in out
    for n in range(1, len(BALLOTS) + 1):
        assert f"ballot {n} of {len(BALLOTS)}:" in out
    assert "the area line is crossed and the headcount line is not" in out
    assert "both 2/3 lines crossed" in out and "a non-owner is told why not" in out
    ballots = rpc.ballots(consultation_id=x7).items
    assert sorted((b.owner_id, b.channel) for b in ballots) == sorted((p, "online") for p, _ in BALLOTS)
    tally = rpc.tally(consultation_id=x7).result
    assert (tally.participating_owners, Decimal(tally.participation_by_area.part)) == (6, Decimal(640))
    assert rpc.ballots(consultation_id=x1).items == []  # P2 voted in X7 only
    for shot in ("resident-vote-list.png", "resident-vote.png", "worker-consultation-before.png",
                 "worker-consultation-area-only.png", "worker-consultation-after.png", "resident-not-owner.png",
                 "worker-consultation-phone.png"):
        assert (SHOTS / shot).stat().st_size > 10_000, shot
