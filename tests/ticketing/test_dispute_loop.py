"""The dispute loop end to end on the real broker: ticket > mediation case > conclusion > ticket resolved or
closed, its SLA clock stopped while the case ran (no breach, no escalation), evaluation's KPIs right."""

from __future__ import annotations

from datetime import timedelta

import pytest

from redprop.testing.suite import wait_for
from redprop.testing.tickets import WORKER
from tests.ticketing.conftest import rid, submit

pytestmark = pytest.mark.integration

MEDIATOR = [{"kind": "person", "id": "M1", "name": "调解员"},
            {"kind": "role", "id": "R-M1", "person_id": "M1", "role": "grid_member", "scope_id": "G1",
             "term_start": "2024-01-01"}]


def start(run_suite, small_district, *services):
    suite = run_suite("registry", "ticketing", "mediation", *services,
                      services={"ticketing": {"options": {"sweep_interval": 3600}}})
    suite.rpc.registry.upsert(actor="P-DATA", records=small_district + MEDIATOR, request_id=rid("load"))
    return suite


def mediated(suite):
    """A neighbour dispute placed by P2; its case opened and the ticket with the mediation committee."""
    ticket = submit(suite, category="neighbour_dispute", description="楼上装修噪音和漏水，协商不成")
    case = wait_for(lambda: suite.rpc.mediation.list_cases().items, timeout=15, message="the case")[0]
    assert case.ticket_id == ticket.id

    def paused():
        t = suite.rpc.ticketing.get(viewer=WORKER.model_dump(), ticket_id=ticket.id).ticket
        return t if any(h.action == "mediation_opened" for h in t.history) else None

    held = wait_for(paused, timeout=15, message="the ticket in mediation")
    assert held.status == "in_progress" and held.handler.kind == "mediation" and held.responded_at is not None
    # The case opened from the ticket has one party: the other neighbour is added, a mediator assigned.
    suite.rpc.mediation.add_party(case_id=case.id, actor="P2", party={"kind": "person", "id": "P3", "name": "王五"},
                                  request_id=rid("party"))
    suite.rpc.mediation.assign_mediators(actor="P-CW", case_id=case.id, kinds=["grid_member"], request_id=rid("assign"))
    return ticket, case, held


def ticket_when(suite, ticket_id, status):
    return wait_for(lambda: (t := suite.rpc.ticketing.get(viewer=WORKER.model_dump(), ticket_id=ticket_id).ticket).status == status and t,
                    timeout=15, message=f"the ticket {status}")


def test_an_agreement_resolves_the_ticket_and_the_weeks_of_mediation_breach_nothing(run_suite, small_district):
    suite = start(run_suite, small_district, "evaluation")
    ticket, case, held = mediated(suite)
    # Weeks later (past the 15 working days of a complex ticket) the sweep finds nothing to breach or escalate.
    later = held.resolution_due_at + timedelta(days=20)
    swept = suite.rpc.ticketing.sweep(actor="P-OPS", now=later.isoformat(), request_id=rid("sweep"))
    assert swept.newly_breached == 0 and swept.escalated == 0
    still = suite.rpc.ticketing.get(viewer=WORKER.model_dump(), ticket_id=ticket.id).ticket
    assert (still.level, still.sla_state, still.status) == ("grid", held.sla_state, "in_progress")

    # An oral agreement takes effect when reached (People's Mediation Law Art. 30): the case concludes.
    suite.rpc.mediation.conclude_case(actor="P-CW", case_id=case.id, request_id=rid("conclude"), outcome={
        "kind": "agreement", "form": "oral", "facts": "装修噪音与漏水", "oral_record": "楼上修好防水，晚八点后停工",
        "terms": [{"text": "修复防水层", "performer_id": "P3", "method": "请物业施工", "due_on": "2030-01-01"}]})
    resolved = ticket_when(suite, ticket.id, "resolved")
    assert resolved.handler.kind == "mediation" and resolved.escalations == 0 and resolved.level == "grid"
    assert resolved.sla_state != "breached" and resolved.resolved_at <= resolved.resolution_due_at
    actions = [h.action for h in resolved.history]
    assert "mediation_opened" in actions and actions[-1] == "resolved"
    assert not {"response_breached", "resolution_breached", "escalated"} & set(actions)
    # The clock was given back what mediation took (working time: a pause at night moves nothing).
    assert resolved.resolution_due_at >= held.resolution_due_at
    assert resolved.history[-1].detail["paused_hours"] >= 0 and resolved.history[-1].detail["case_id"] == case.id
    kpi = wait_for(lambda: (k := suite.rpc.evaluation.kpi_ticket(ticket_id=ticket.id).ticket).resolved and k,
                   timeout=15, message="the KPIs")
    assert kpi.responded_on_time and kpi.resolved_on_time and kpi.status == "resolved"


def test_mediation_without_agreement_closes_the_ticket_with_its_referral(run_suite, small_district):
    suite = start(run_suite, small_district)
    ticket, case, _ = mediated(suite)
    suite.rpc.mediation.conclude_case(actor="P-CW", case_id=case.id, request_id=rid("conclude"), outcome={
        "kind": "failure", "reason": "双方分歧过大", "referral": "court", "referred_to": "某区人民法院"})
    closed = ticket_when(suite, ticket.id, "closed")
    last = closed.history[-1]
    assert last.action == "closed" and last.detail["case_state"] == "failed"
    assert last.detail["referral"] == "court" and "某区人民法院" in last.detail["note"]
    assert closed.resolved_at is None and closed.escalations == 0


def test_a_ticket_cancelled_during_mediation_stays_cancelled(run_suite, small_district):
    from redprop.testing.tickets import RESIDENT, act

    suite = start(run_suite, small_district)
    ticket, case, _ = mediated(suite)
    act(suite, "cancel", ticket.id, RESIDENT, reason="私下和解了")
    suite.rpc.mediation.conclude_case(actor="P-CW", case_id=case.id, request_id=rid("conclude"), outcome={
        "kind": "withdrawal", "reason": "私下和解", "withdrawn_by": "P2"})
    wait_for(lambda: suite.rpc.mediation.get_case(case_id=case.id).case.state == "withdrawn", message="withdrawn")
    # The conclusion is consumed and changes nothing (give the event time to arrive, then look).
    import time

    time.sleep(2)
    after = suite.rpc.ticketing.get(viewer=WORKER.model_dump(), ticket_id=ticket.id).ticket
    assert after.status == "cancelled" and after.history[-1].action == "cancelled"


# -- the desk alone (no broker): the clock stopped and given back exactly --------------------------


def test_the_desk_stops_the_clock_for_the_case_and_gives_back_exactly_what_was_left():
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from redprop.contracts.mediation import CaseConcluded, CaseOpened
    from redprop.services.ticketing import models as m
    from redprop.services.ticketing.dispute import DisputeDesk, follow
    from redprop.services.ticketing.outcome import write_rows
    from redprop.services.ticketing.sweep import due_batch
    from tests.ticketing.test_desk import DISTRICT, Clock, new_desk
    from tests.ticketing.test_desk import submit as desk_submit

    engine = create_engine("sqlite://")
    m.metadata.create_all(engine)
    with Session(engine) as session:
        clock = Clock()  # Monday 2026-03-02, 10:00 in Beijing
        desk = new_desk(session, clock)
        tid = desk_submit(desk, category="neighbour_dispute").result.id
        before = desk.load(tid, for_update=False)
        clock.now += timedelta(hours=1)
        opened = CaseOpened(district=DISTRICT, case_id="K1", level="grid", scope_id="G1", category="neighbour_dispute",
                            source="ticketing", ticket_id=tid, settle_by=clock.now + timedelta(days=30))
        outcome = follow(desk, opened)
        write_rows(session, outcome)
        assert [type(e).__name__ for e in outcome.events] == ["TicketAccepted"]
        held = desk.load(tid, for_update=False)
        assert (held.status, held.handler_kind, held.next_check_at) == ("in_progress", "mediation", None)
        assert held.paused_at == clock.now and held.responded_at == clock.now

        clock.now += timedelta(days=40)  # far past the 15 working days: the sweep never sees the ticket
        assert due_batch(session, DISTRICT, clock.now, 10) == []
        concluded = CaseConcluded(district=DISTRICT, case_id="K1", level="grid", state="settled", ticket_id=tid,
                                  days_to_conclude="40.04")
        outcome = follow(DisputeDesk.of(new_desk(session, clock)), concluded)
        write_rows(session, outcome)
        assert [type(e).__name__ for e in outcome.events] == ["TicketResolved"]
        done = desk.load(tid, for_update=False)
        assert (done.status, done.resolution_breached, done.level, done.escalations) == ("resolved", False, "grid", 0)
        policy = desk.policy
        left_at_pause = policy.elapsed(done.sla_class, held.paused_at, before.resolution_due_at)
        assert policy.elapsed(done.sla_class, clock.now, done.resolution_due_at) == left_at_pause
        assert done.resolved_at <= done.resolution_due_at
        # A case not from a ticket, or naming a ticket this district does not hold, changes nothing.
        assert follow(desk, concluded.model_copy(update={"ticket_id": None})) is None
        assert follow(desk, concluded.model_copy(update={"ticket_id": "T-NOPE"})) is None
