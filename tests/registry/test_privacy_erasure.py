"""Erasure reaches the services that hold what a person wrote: ticketing, mediation and matching blank the
contact numbers (``registry.person_erased``), and the tickets' statistics do not move."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from redprop.testing.suite import wait_for
from redprop.testing.tickets import COMPANY, RESIDENT, WORKER, act, rid
from tests.registry.test_privacy import privacy_people

pytestmark = pytest.mark.integration

PHONE = "13900000002"
ERASED = "[已删除]"


def load(suite, small_district):
    records = [r for r in small_district if r["id"] != "P3"] + privacy_people()
    assert suite.rpc.registry.upsert(actor="P-DATA", records=records, request_id=rid("load")).applied


def erase(suite, person_id: str) -> None:
    suite.rpc.registry.erase_person(actor="DO", person_id=person_id, reason="resident's request 2026-120",
                                    request_id=rid("erase"))


def test_erasing_a_resident_blanks_their_tickets_texts_and_leaves_the_statistics_unchanged(
        run_suite, small_district, backend):
    suite = run_suite("registry", "ticketing", backend=backend,
                      services={"ticketing": {"options": {"sweep_interval": 3600}}})
    load(suite, small_district)
    rpc = suite.rpc.ticketing
    done = rpc.submit(resident_id="P2", category="leak", building_id="B1",
                      description=f"楼道漏水，请联系李四 {PHONE}", request_id=rid("submit")).ticket
    act(suite, "accept", done.id, COMPANY)
    act(suite, "resolve", done.id, COMPANY, summary=f"已修复，回访电话 {PHONE}")
    act(suite, "rate", done.id, RESIDENT, rating=4, comment=f"满意，有事打{PHONE}")
    other = rpc.submit(resident_id="P3", category="leak", building_id="B2", description=f"邻居电话 {PHONE}",
                       request_id=rid("submit")).ticket
    stats = {g: rpc.stats(group_by=g) for g in ("handler", "complex", "district")}
    before = rpc.get(viewer=WORKER.model_dump(), ticket_id=done.id).ticket

    erase(suite, "P2")
    wait_for(lambda: PHONE not in rpc.get(viewer=WORKER.model_dump(), ticket_id=done.id).ticket.description, timeout=20,
             message="ticketing blanked the description")
    after = rpc.get(viewer=WORKER.model_dump(), ticket_id=done.id).ticket
    assert after.description == f"楼道漏水，请联系李四 {ERASED}"
    assert PHONE not in after.model_dump_json()  # the comment and the resolve note too
    assert {g: rpc.stats(group_by=g) for g in stats} == stats
    unchanged = {"status", "rating", "submitted_at", "resolved_at", "closed_at", "resident_id", "category"}
    assert {k: getattr(after, k) for k in unchanged} == {k: getattr(before, k) for k in unchanged}
    assert PHONE in rpc.get(viewer=WORKER.model_dump(), ticket_id=other.id).ticket.description  # another resident's ticket is theirs


def test_mediation_and_matching_blank_what_they_hold_about_an_erased_person(run_suite, small_district):
    suite = run_suite("registry", "mediation", "matching")
    load(suite, small_district)
    case = suite.rpc.mediation.open_case(actor="P-CW",
        category="parking", summary="停车位争议", description=f"当事人电话 {PHONE}", level="grid", scope_id="G1",
        parties=[{"kind": "person", "id": "P2", "name": "李四"}, {"kind": "company", "id": "CO1", "name": "物业"}],
        request_id=rid("case")).case
    suite.rpc.matching.add_offers(actor="P-CW", offers=[{
        "id": "OF-P2", "provider_id": "P2", "provider_kind": "person", "provider_name": "李四", "title": "旧沙发",
        "description": f"自取，联系 {PHONE}", "pickup_constraints": f"周末，先打电话 {PHONE}", "quantity": 1,
        "unit": "件", "complex_id": "X1"}], request_id=rid("offer"))

    # Minutes and an outcome: both are cross-checked against their records by verify.
    planned = suite.rpc.mediation.schedule_session(actor="P-CW", case_id=case.id, scheduled_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat(),
                                                   place="议事厅", request_id=rid("session")).case.sessions[0]
    suite.rpc.mediation.record_session(actor="P-CW", case_id=case.id, session_id=planned.id,
                                       held_at=datetime.now(UTC).isoformat(), notes=f"李四留电话 {PHONE}",
                                       request_id=rid("minutes"))
    case = suite.rpc.mediation.conclude_case(actor="P-CW", case_id=case.id, request_id=rid("withdrawn"),
                                             outcome={"kind": "withdrawal", "reason": "已协商", "withdrawn_by": "P2"}).case
    assert suite.rpc.mediation.verify(matter_id=case.id).ok

    erase(suite, "P2")

    def blanked_case():
        got = suite.rpc.mediation.get_case(case_id=case.id, viewer_id="P-CW").case  # who may see it whole
        return PHONE not in got.description and got
    got = wait_for(blanked_case, timeout=20, message="mediation blanked the case")
    assert got.description == f"当事人电话 {ERASED}"
    assert {p.id: p.name for p in got.parties} == {"P2": None, "CO1": "物业"}
    assert got.state == case.state and got.settle_by == case.settle_by
    # The record log is redacted the same way (PIPL Art. 47) and still verifies: the chain keeps the
    # original payload's SHA-256 (format 2).
    logged = suite.rpc.mediation.records(matter_id=case.id).items
    opened = next(r for r in logged if r.kind == "case_opened")
    assert {r.kind for r in logged if r.redacted_at} >= {"case_opened", "session_minutes", "case_outcome"}
    assert opened.redacted_at is not None and opened.payload_sha256
    assert PHONE not in json.dumps([r.payload for r in logged], ensure_ascii=False)
    assert {p["id"]: p["name"] for p in opened.payload["parties"]} == {"P2": None, "CO1": "物业"}
    verified = suite.rpc.mediation.verify(matter_id=case.id)
    assert verified.ok, verified.failures

    def blanked_offer():
        offers = suite.rpc.matching.list_offers().offers
        offer = next(o for o in offers if o.id == "OF-P2")
        return PHONE not in offer.model_dump_json() and offer
    offer = wait_for(blanked_offer, timeout=20, message="matching blanked the offer")
    assert offer.provider_name is None and offer.description == f"自取，联系 {ERASED}"
    assert offer.quantity == 1 and offer.status == "open"
