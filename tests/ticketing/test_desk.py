"""The ticket desk without a broker: a plain desk over an in-memory SQLite database, and the service's
one settling place through nameko's ``worker_factory``.

Every operation returns an Outcome and writes nothing itself; the tests write it with ``write_rows``
(as the service's ``_settle`` does) and read the ticket back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from redprop.authz import AnswerCache, Authorizer
from redprop.contracts import registry as r
from redprop.contracts import ticketing as c
from redprop.contracts.registry import AncestryReply, Grant, GrantsReply
from redprop.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from redprop.services.ticketing import models as m
from redprop.services.ticketing import pricing
from redprop.services.ticketing.catalogue import Catalogue
from redprop.services.ticketing.lifecycle import SYSTEM, TicketDesk
from redprop.services.ticketing.options import TicketingOptions
from redprop.services.ticketing.outcome import write_rows
from redprop.services.ticketing.routing import DefaultRouter
from redprop.services.ticketing.service import TicketingService
from redprop.services.ticketing.sla import Beijing12345Policy
from redprop.services.ticketing.sweep import due_batch

DISTRICT = "990001"
COMPANY = c.Actor(kind="handler", handler_kind="property_company", id="CO1", person_id="P-CS")
OTHER_COMPANY = c.Actor(kind="handler", handler_kind="property_company", id="CO2", person_id="P-CS2")
RESIDENT = c.Actor(kind="resident", id="P2")
STRANGER = c.Actor(kind="resident", id="P9")
WORKER = c.Actor(kind="worker", id="P-CW")
START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Beijing

PLACE = r.ResolveReply(
    district=DISTRICT, matched_by="building", building=r.Ref(id="B1", name="1号楼"),
    complex=r.ComplexInfo(id="X1", name="金湖家园", has_property_certificate=True, has_maintenance_fund=True,
                          three_no=False),
    grid=r.Ref(id="G1", name="一网格"), community=r.Ref(id="C1", name="金湖社区"),
    subdistrict=r.Ref(id="S1", name="转桥街道"), district_region=r.Ref(id=DISTRICT, name="东井区"),
    property_company=r.OrgRef(id="CO1", name="金湖物业", org_kind="property_company"))


class Clock:
    def __init__(self):
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    m.metadata.create_all(engine)
    with Session(engine) as s:
        yield s


@pytest.fixture
def clock():
    return Clock()


def new_desk(session, clock) -> TicketDesk:
    options = TicketingOptions()
    return TicketDesk(session, DISTRICT, Catalogue(), Beijing12345Policy(options), DefaultRouter(),
                      options.at_risk_fraction, clock)


@pytest.fixture
def desk(session, clock):
    return new_desk(session, clock)


def submit(desk, category="leak", auto_dispatch=True, **fields):
    request = c.SubmitRequest(request_id="req-s1-0001", resident_id="P2", category=category, building_id="B1",
                              description="楼道顶棚漏水，雨天更严重", **fields)
    outcome = desk.submit(request, PLACE, None, auto_dispatch)
    write_rows(desk.session, outcome)
    return outcome


def step(desk, operation, ticket_id, *args, request_cls, **fields):
    """Load the ticket, run one operation, write its outcome; the ticket as it is now, and the outcome."""
    row = desk.load(ticket_id)
    outcome = getattr(desk, operation)(row, *args, request_cls(request_id=f"req-{operation}-0001", ticket_id=ticket_id,
                                                               **fields))
    write_rows(desk.session, outcome)
    return desk.load(ticket_id, for_update=False), outcome


def dispatched(desk) -> str:
    return submit(desk).result.id


def in_progress(desk) -> str:
    tid = dispatched(desk)
    step(desk, "accept", tid, request_cls=c.AcceptRequest, actor=COMPANY)
    return tid


def kinds(outcome) -> list[str]:
    return [type(e).__name__ for e in outcome.events]


# -- intake ----------------------------------------------------------------------------------------


def test_submit_returns_its_rows_and_writes_nothing(desk, session):
    outcome = desk.submit(c.SubmitRequest(request_id="req-s1-0001", resident_id="P2", category="leak", building_id="B1",
                                          description="楼道顶棚漏水"), PLACE, None, True)
    assert session.execute(select(m.tickets)).first() is None  # nothing written by the desk
    tables = {table.name: rows for table, rows in outcome.inserts}
    assert list(tables) == ["tickets", "ticket_history"]  # parents first, for the group commit
    (ticket,) = tables["tickets"]
    assert (ticket["status"], ticket["handler_id"], ticket["sla_class"]) == ("dispatched", "CO1", "utilities")
    assert [h["action"] for h in tables["ticket_history"]] == ["submitted", "dispatched"]
    assert outcome.updates == []
    assert kinds(outcome) == ["TicketCreated", "TicketDispatched"]
    assert [n.recipients for n in outcome.notices] == [("handler:property_company:CO1",)]
    assert [t[0] for t in outcome.timings] == ["dispatch"]
    assert outcome.result.id == ticket["id"]


def test_submit_without_auto_dispatch_waits_for_a_worker(desk):
    outcome = submit(desk, auto_dispatch=False)
    ticket = desk.load(outcome.result.id, for_update=False)
    assert (ticket.status, ticket.handler_id, ticket.next_check_at is not None) == ("submitted", None, True)
    assert kinds(outcome) == ["TicketCreated"]


def test_submit_a_dispute_refers_it_to_mediation(desk):
    outcome = submit(desk, category="neighbour_dispute")
    assert kinds(outcome) == ["TicketCreated", "DisputeReferred", "TicketDispatched"]
    assert desk.load(outcome.result.id).handler_kind == "mediation"


def test_submit_an_unknown_category_is_refused(desk):
    with pytest.raises(ValidationFailed):
        submit(desk, category="no_such_category")


def test_an_emergency_gets_the_emergency_clock(desk, clock):
    ticket = desk.load(submit(desk, urgency="emergency").result.id)
    assert ticket.sla_class == "emergency"
    assert ticket.resolution_due_at == START + timedelta(hours=2)


# -- dispatch and the handler's side ---------------------------------------------------------------


def test_dispatch_to_a_named_handler(desk):
    tid = submit(desk, auto_dispatch=False).result.id
    other = c.Handler(kind="grid_team", id="G1", name="一网格")
    ticket, outcome = step(desk, "dispatch", tid, PLACE, request_cls=c.DispatchRequest, actor=WORKER, handler=other)
    assert (ticket.status, ticket.handler_id) == ("dispatched", "G1")
    assert kinds(outcome) == ["TicketDispatched"]
    ((updated_id, changed),) = outcome.updates
    assert updated_id == tid and {"status", "handler_id", "dispatched_at"} <= set(changed)


def test_a_resident_may_not_dispatch(desk):
    tid = submit(desk, auto_dispatch=False).result.id
    with pytest.raises(PermissionDenied):
        step(desk, "dispatch", tid, PLACE, request_cls=c.DispatchRequest, actor=RESIDENT)


def test_accept_by_the_holder_starts_the_work(desk, clock):
    tid = dispatched(desk)
    clock.now += timedelta(minutes=20)
    ticket, outcome = step(desk, "accept", tid, request_cls=c.AcceptRequest, actor=COMPANY)
    assert (ticket.status, ticket.responded_at) == ("in_progress", clock.now)
    assert kinds(outcome) == ["TicketAccepted"]
    assert [t[:2] for t in outcome.timings] == [("respond", "utilities")]
    assert outcome.notices[0].recipients == ("resident:P2",)


def test_accept_by_another_unit_is_refused_and_changes_nothing(desk):
    tid = dispatched(desk)
    with pytest.raises(PermissionDenied):
        step(desk, "accept", tid, request_cls=c.AcceptRequest, actor=OTHER_COMPANY)
    # The desk is usable again, and the failed operation left nothing behind in the next outcome.
    ticket, outcome = step(desk, "accept", tid, request_cls=c.AcceptRequest, actor=COMPANY)
    assert ticket.status == "in_progress"
    assert kinds(outcome) == ["TicketAccepted"]


def test_accept_twice_is_a_conflict(desk):
    tid = in_progress(desk)
    with pytest.raises(Conflict):
        step(desk, "accept", tid, request_cls=c.AcceptRequest, actor=COMPANY)


def test_an_unknown_ticket_is_not_found(desk):
    with pytest.raises(NotFound):
        desk.load("T-nope")


def test_reject_twice_escalates_to_the_community(desk):
    tid = dispatched(desk)
    ticket, first = step(desk, "reject", tid, PLACE, request_cls=c.RejectRequest, actor=COMPANY, reason="不归我们管")
    # The only eligible company rejected it: nobody holds it, and the community is told.
    assert (ticket.status, ticket.handler_id, ticket.rejections) == ("submitted", None, 1)
    assert first.notices[0].recipients == ("community:C1",)
    step(desk, "dispatch", tid, PLACE, request_cls=c.DispatchRequest, actor=WORKER,
         handler=c.Handler(kind="property_company", id="CO2", name="另一物业"))
    ticket, second = step(desk, "reject", tid, PLACE, request_cls=c.RejectRequest, actor=OTHER_COMPANY,
                          reason="也不归我们")
    assert (ticket.level, ticket.handler_kind, ticket.handler_id) == ("community", "community", "C1")
    assert kinds(second) == ["TicketRejected", "TicketEscalated", "TicketDispatched"]
    assert second.escalations == [("second_rejection", "community")]


def test_transfer_to_the_same_holder_is_a_conflict(desk):
    tid = in_progress(desk)
    with pytest.raises(Conflict):
        step(desk, "transfer", tid, request_cls=c.TransferRequest, actor=COMPANY,
             handler=c.Handler(kind="property_company", id="CO1", name="金湖物业"), reason="转给自己")


def test_waiting_for_the_resident_stops_the_clock_and_resume_extends_it(desk, clock):
    tid = in_progress(desk)
    due = desk.load(tid, for_update=False).resolution_due_at
    ticket, _ = step(desk, "note", tid, request_cls=c.NoteRequest, actor=COMPANY, note="等业主在家",
                     awaiting_resident=True)
    assert (ticket.status, ticket.next_check_at) == ("awaiting_resident", None)
    clock.now += timedelta(hours=3)
    ticket, outcome = step(desk, "resume", tid, request_cls=c.ResumeRequest, actor=RESIDENT)
    assert ticket.status == "in_progress"
    assert ticket.resolution_due_at == due + timedelta(hours=3)  # utilities: calendar time
    assert outcome.events == []  # a pause is history, not an event


def test_only_the_handler_or_a_worker_may_pause(desk):
    tid = in_progress(desk)
    with pytest.raises(PermissionDenied):
        step(desk, "note", tid, request_cls=c.NoteRequest, actor=RESIDENT, note="我等着", awaiting_resident=True)


def test_resolve_prices_the_work_and_draws_on_the_fund(desk, session):
    pricing.replace_price_list(session, DISTRICT, None, [
        c.PriceItem(code="PIPE", name="换水管", unit="米", price=Decimal("35.50"))])
    tid = in_progress(desk)
    ticket, outcome = step(desk, "resolve", tid, request_cls=c.ResolveRequest, actor=COMPANY, summary="换了水管",
                           items=[c.UsedItem(code="PIPE", quantity=Decimal("2"))],
                           funding_source="emergency_repair_fund")
    assert (ticket.status, ticket.cost, ticket.next_check_at) == ("resolved", Decimal("71.00"), None)
    assert [table.name for table, _ in outcome.inserts] == ["ticket_history", "fund_uses"]
    assert session.execute(select(m.fund_uses.c.amount)).scalar_one() == Decimal("71.00")
    assert kinds(outcome) == ["TicketResolved"]


def test_resolve_with_an_item_off_the_price_list_is_refused(desk):
    tid = in_progress(desk)
    with pytest.raises(ValidationFailed):
        step(desk, "resolve", tid, request_cls=c.ResolveRequest, actor=COMPANY, summary="修好了",
             items=[c.UsedItem(code="GOLD", quantity=Decimal("1"))])


def test_resolve_before_dispatch_is_a_conflict(desk):
    tid = submit(desk, auto_dispatch=False).result.id
    with pytest.raises(Conflict):
        step(desk, "resolve", tid, request_cls=c.ResolveRequest, actor=COMPANY, summary="修好了")


# -- the resident's side ---------------------------------------------------------------------------


def resolved(desk) -> str:
    tid = in_progress(desk)
    step(desk, "resolve", tid, request_cls=c.ResolveRequest, actor=COMPANY, summary="修好了")
    return tid


def test_rating_closes_the_ticket(desk):
    tid = resolved(desk)
    ticket, outcome = step(desk, "rate", tid, request_cls=c.RateRequest, actor=RESIDENT, rating=5, comment="很快")
    assert (ticket.status, ticket.rating) == ("closed", 5)
    assert kinds(outcome) == ["TicketRated", "TicketClosed"]


def test_only_the_resident_who_placed_it_may_rate(desk):
    tid = resolved(desk)
    with pytest.raises(PermissionDenied):
        step(desk, "rate", tid, request_cls=c.RateRequest, actor=STRANGER, rating=1)


def test_reopen_sends_it_back_to_the_holder(desk):
    tid = resolved(desk)
    ticket, outcome = step(desk, "reopen", tid, request_cls=c.ReopenRequest, actor=RESIDENT, reason="又漏了")
    assert (ticket.status, ticket.reopen_count, ticket.resolved_at) == ("dispatched", 1, None)
    assert outcome.notices[0].recipients == ("handler:property_company:CO1",)


def test_reopen_a_month_after_closing_is_refused(desk, clock):
    tid = resolved(desk)
    step(desk, "rate", tid, request_cls=c.RateRequest, actor=RESIDENT, rating=4)
    clock.now += timedelta(days=31)
    with pytest.raises(Conflict):
        step(desk, "reopen", tid, request_cls=c.ReopenRequest, actor=RESIDENT, reason="又漏了")


def test_only_workers_close_without_a_rating(desk):
    tid = resolved(desk)
    with pytest.raises(PermissionDenied):
        step(desk, "close", tid, request_cls=c.CloseRequest, actor=RESIDENT)
    ticket, outcome = step(desk, "close", tid, request_cls=c.CloseRequest, actor=WORKER)
    assert ticket.status == "closed" and kinds(outcome) == ["TicketClosed"]


def test_cancel_then_cancel_again_is_a_conflict(desk):
    tid = dispatched(desk)
    ticket, outcome = step(desk, "cancel", tid, request_cls=c.CancelRequest, actor=RESIDENT, reason="自己修好了")
    assert (ticket.status, ticket.next_check_at) == ("cancelled", None)
    assert kinds(outcome) == ["TicketCancelled"]
    with pytest.raises(Conflict):
        step(desk, "cancel", tid, request_cls=c.CancelRequest, actor=RESIDENT, reason="再取消")


def test_merge_into_a_live_original_and_not_into_itself(desk):
    original, duplicate = dispatched(desk), dispatched(desk)
    row = desk.load(duplicate)
    with pytest.raises(Conflict):
        desk.merge(row, desk.load(duplicate), c.MergeRequest(request_id="req-m0-0001", ticket_id=duplicate, actor=WORKER,
                                                             original_id=duplicate))
    outcome = desk.merge(row, desk.load(original), c.MergeRequest(request_id="req-m1-0001", ticket_id=duplicate,
                                                                  actor=WORKER, original_id=original))
    write_rows(desk.session, outcome)
    ticket = desk.load(duplicate, for_update=False)
    assert (ticket.status, ticket.merged_into) == ("cancelled", original)
    assert [tid for tid, _ in outcome.updates] == [duplicate]  # the original is read, not changed


# -- the ladder and the sweep ----------------------------------------------------------------------


def test_escalate_up_to_the_district_and_no_further(desk):
    tid = dispatched(desk)
    for level in ("community", "subdistrict", "district"):
        row = desk.load(tid)
        outcome = desk.escalate(row, PLACE, WORKER, "request", "没人管")
        write_rows(desk.session, outcome)
        assert (row.level, row.handler_kind) == (level, level)
        assert outcome.escalations == [("request", level)]
    with pytest.raises(Conflict):
        desk.escalate(desk.load(tid), PLACE, WORKER, "request", "还是没人管")


def test_the_sweep_marks_a_missed_response_and_escalates_a_missed_resolution(session, clock):
    tid = dispatched(new_desk(session, clock))
    clock.now = START + timedelta(hours=3)  # utilities: respond within 2 h
    sweep = new_desk(session, clock)
    (row,) = due_batch(session, DISTRICT, clock.now, 10)
    outcome = sweep.sweep([row], lambda _row: PLACE)
    write_rows(session, outcome)
    assert outcome.result == ["breached"]
    assert outcome.breaches == [("response", "utilities")]
    assert kinds(outcome) == ["SlaBreached"]
    assert sweep.load(tid, for_update=False).sla_state == "breached"

    clock.now = START + timedelta(hours=25)  # resolve within 24 h
    sweep = new_desk(session, clock)
    (row,) = due_batch(session, DISTRICT, clock.now, 10)
    outcome = sweep.sweep([row], lambda _row: PLACE)
    write_rows(session, outcome)
    assert outcome.result == ["escalated"]
    assert outcome.escalations == [("sla_breach", "community")]
    ticket = sweep.load(tid, for_update=False)
    assert (ticket.level, ticket.resolution_breached, ticket.handler_id) == ("community", True, "C1")


def test_the_sweep_finds_nothing_before_the_at_risk_point(session, clock):
    dispatched(new_desk(session, clock))
    assert due_batch(session, DISTRICT, START + timedelta(minutes=10), 10) == []


def test_a_system_actor_may_cancel(desk):
    tid = dispatched(desk)
    ticket, _ = step(desk, "cancel", tid, request_cls=c.CancelRequest, actor=SYSTEM, reason="重复")
    assert ticket.status == "cancelled"


# -- the service's one settling place, nameko-style ------------------------------------------------


def test_the_service_settles_a_transition_in_one_place(session, clock):
    """``worker_factory`` gives the service mocks for what is not named: here the outbox, metrics and
    notifier wiring; the database is the SQLite session, the district's choices are real."""
    options = TicketingOptions()
    plugins = SimpleNamespace(sla_policy=Beijing12345Policy(options), router=DefaultRouter(), notifiers={})
    # The registry's answers for the one person acting (P-CS, CO1's staff), without a registry.
    posts = GrantsReply(person_id="P-CS", known=True, grants=[Grant(
        role="company_staff", role_id="R-P-CS", organisation_id="CO1", organisation_kind="property_company",
        covers=["C1"])])
    authz = Authorizer(lambda person, day: posts, lambda entity: AncestryReply(
        id=entity, kind="building", ancestry=[entity, "G1", "X1", "C1", "S", DISTRICT]), AnswerCache())
    service = worker_factory(TicketingService, db=session, settings=SimpleNamespace(district=DISTRICT),
                             options=options, plugins=plugins, categories=Catalogue(), authz=authz)
    tid = dispatched(new_desk(session, clock))

    reply = service.accept(c.AcceptRequest(request_id="req-a1-0001", ticket_id=tid, actor=COMPANY))

    assert reply.ticket.status == "in_progress"
    assert [h.action for h in reply.ticket.history] == ["submitted", "dispatched", "accepted"]
    (evt,), _ = service.events.emit.call_args
    assert isinstance(evt, c.TicketAccepted)
    (notices,), _ = service.notify_after_commit.call_args
    assert [n.event for n in notices] == ["accepted"]
    service.metrics.histogram.assert_called_once()  # time to respond


def test_a_sweep_batch_is_one_outcome(session, clock):
    first, second = dispatched(new_desk(session, clock)), dispatched(new_desk(session, clock))
    clock.now = START + timedelta(hours=3)
    sweep = new_desk(session, clock)
    outcome = sweep.sweep(due_batch(session, DISTRICT, clock.now, 10), lambda _row: PLACE)
    assert outcome.result == ["breached", "breached"]
    ((table, rows),) = outcome.inserts  # one history INSERT for the batch
    assert table.name == "ticket_history" and {h["ticket_id"] for h in rows} == {first, second}
    assert sorted(tid for tid, _ in outcome.updates) == sorted([first, second])


def test_a_transition_refused_halfway_leaves_its_ticket_as_it_was(desk):
    original, tid = dispatched(desk), resolved(desk)
    row = desk.load(tid)
    # follow marks the duplicate, then its cancel refuses: a resolved ticket is no longer open.
    with pytest.raises(Conflict):
        desk.follow(row, desk.load(original), c.FollowRequest(request_id="req-follow-0001", ticket_id=tid,
                                                              actor=RESIDENT, original_id=original))
    assert (row.status, row.duplicate_of) == ("resolved", None)
    outcome = desk.close(row, c.CloseRequest(request_id="req-close-0001", ticket_id=tid, actor=WORKER))
    ((_, changed),) = outcome.updates
    assert "duplicate_of" not in changed
