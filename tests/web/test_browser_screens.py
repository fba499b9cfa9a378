"""Issue 19's screens in headless Chromium against the real suite (tests/web/e2e.mjs): transfer, notes and
merging from the inbox; the matching proposals screen; an owner voting on the phone while the worker's
consultation screen moves; a non-owner told why they cannot vote. Screenshots go to var/screenshots/."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

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
    assert "ok: the declined proposal leaves the list" in out
    decided = rpc.get_proposal(proposal_id=proposal.id).proposal
    assert (decided.need_decision, decided.offer_decision, decided.status) == ("accept", "decline", "declined")
    assert (SHOTS / "worker-proposals.png").stat().st_size > 10_000


def test_an_owner_votes_on_the_phone_and_the_workers_screen_reaches_the_line(screens_workbench):
    rpc = screens_workbench.suite.rpc.mediation
    matter = rpc.open_matter(actor="P-CW", title="加装电梯 lift", topic="lift", complex_id="X1", request_id=rid(),
                             parties=["party_branch", "property_company", "self_management_committee",
                                      "building_leaders"]).matter
    consultation = rpc.open_consultation(
        actor="P-CW", matter_id=matter.id, art278_item=9, question="是否同意加装电梯？", approve_option="agree",
        options=[{"id": "agree", "label": "同意"}, {"id": "disagree", "label": "不同意"}], complex_id="X1",
        closes_at=datetime.now(UTC) + timedelta(hours=1), request_id=rid()).consultation
    out = browse_screens(screens_workbench, "vote", "nonowner", CONSULTATION_ID=consultation.id)
    assert "ok: the owner voted by keyboard" in out and "fits 390 px" in out
    assert "reached the 2/3 line by area as the ballot arrived" in out
    assert "a non-owner is told why not" in out
    ballots = rpc.ballots(consultation_id=consultation.id).items
    assert [(b.owner_id, b.option, b.channel) for b in ballots] == [("P2", "agree", "online")]  # one, the owner's
    for shot in ("resident-vote.png", "worker-consultation-live.png", "resident-not-owner.png"):
        assert (SHOTS / shot).stat().st_size > 10_000
