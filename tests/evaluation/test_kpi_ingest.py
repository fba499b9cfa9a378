"""KPI ingestion straight against the database (both backends): any order, any duplicate, same KPIs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from redprop.contracts import ticketing as t
from redprop.services.evaluation import kpis
from redprop.services.evaluation import models as m
from redprop.services.evaluation.counts import KpiCounts

DISTRICT = "990001"
T0 = datetime(2026, 10, 8, 2, 0, tzinfo=UTC)
ACTOR = t.Actor(kind="system", id="ticketing")
COMPANY = t.Handler(kind="property_company", id="CO1", name="安居物业")
COMMUNITY = t.Handler(kind="community", id="C1", name="幸福社区")


@pytest.fixture
def session(database_url_factory, backend):
    engine = create_engine(database_url_factory("evaluation", backend))
    m.metadata.create_all(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def facts(ticket_id: str, complex_id: str, **changes) -> t.TicketFacts:
    base = dict(ticket_id=ticket_id, category="leak", sla_class="utilities", level="grid", status="dispatched",
                handler=COMPANY, property_company_id="CO1", complex_id=complex_id, submitted_at=T0,
                response_due_at=T0 + timedelta(hours=2), resolution_due_at=T0 + timedelta(hours=24))
    return t.TicketFacts(**{**base, **changes})


def lifecycle(ticket_id: str, complex_id: str) -> list[t.TicketEvent]:
    """Submitted, accepted, resolved, rated 5, reopened, escalated to the community, resolved, rated 2."""
    at = [T0 + timedelta(minutes=k) for k in range(10)]
    f = lambda **kw: facts(ticket_id, complex_id, **kw)  # noqa: E731
    on_time = dict(responded_at=at[1], responded_on_time=True)
    return [
        t.TicketCreated(district=DISTRICT, occurred_at=at[0], actor=ACTOR, ticket=f()),
        t.TicketAccepted(district=DISTRICT, occurred_at=at[1], actor=ACTOR, ticket=f(status="in_progress", **on_time)),
        t.TicketResolved(district=DISTRICT, occurred_at=at[2], actor=ACTOR, cost=0, funding_source="company",
                         ticket=f(status="resolved", resolved_at=at[2], resolved_on_time=True, **on_time)),
        t.TicketRated(district=DISTRICT, occurred_at=at[3], actor=ACTOR, ticket=f(
            status="closed", resolved_at=at[2], resolved_on_time=True, rating=5, **on_time)),
        t.TicketReopened(district=DISTRICT, occurred_at=at[4], actor=ACTOR, reason="又漏了",
                         ticket=f(status="dispatched", reopen_count=1, **on_time)),
        t.TicketEscalated(district=DISTRICT, occurred_at=at[5], actor=ACTOR, from_level="grid", to_level="community",
                          trigger="request", reason="催办", ticket=f(status="dispatched", level="community",
                                                                    handler=COMMUNITY, reopen_count=1, **on_time)),
        t.TicketResolved(district=DISTRICT, occurred_at=at[6], actor=ACTOR, cost=0, funding_source="company",
                         ticket=f(status="resolved", level="community", handler=COMMUNITY, reopen_count=1,
                                  resolved_at=at[6], resolved_on_time=False, **on_time)),
        t.TicketRated(district=DISTRICT, occurred_at=at[7], actor=ACTOR, ticket=f(
            status="closed", level="community", handler=COMMUNITY, reopen_count=1, resolved_at=at[6],
            resolved_on_time=False, rating=2, **on_time)),
    ]


FINAL = KpiCounts(tickets=1, responded=1, responded_on_time=1, resolved=1, resolved_on_time=0, rated=1,
                  satisfied=0, rating_sum=2, reopened=1)


def test_any_order_and_any_replay_give_the_same_kpis(session):
    rng = random.Random(7)
    orders = [list(range(8)), list(range(7, -1, -1))] + [rng.sample(range(8), 8) for _ in range(10)]
    for n, order in enumerate(orders):
        events = lifecycle(f"T{n}", f"X{n}")
        for k in order:
            kpis.ingest(session, DISTRICT, events[k])
        for k in rng.sample(range(8), 4):       # a replay of some events, with new event ids
            kpis.ingest(session, DISTRICT, events[k].model_copy(update={"event_id": f"replay-{n}-{k}"}))
        session.commit()
        found = kpis.totals(session, DISTRICT, "complex", [f"X{n}"], None)
        assert found[(f"X{n}", "2026Q4")][0] == FINAL, order
        # The company held it before it climbed to the community: it still answers for it.
        assert kpis.ticket_state(session, DISTRICT, f"T{n}").company_id == "CO1"
    company = kpis.totals(session, DISTRICT, "company", ["CO1"], ["2026Q4"])[("CO1", "2026Q4")][0]
    assert company.tickets == len(orders) and company.rating_sum == 2 * len(orders)
    assert kpis.recount(session, DISTRICT, "company") == {("CO1", "2026Q4"): company}
    assert kpis.names_of(session, DISTRICT, ["CO1"]) == {"CO1": "安居物业"}


def test_a_cancelled_ticket_counts_nowhere_and_a_water_ticket_not_for_the_company(session):
    water = t.Handler(kind="department", id="DEP-WATER")
    kpis.ingest(session, DISTRICT, t.TicketCreated(district=DISTRICT, occurred_at=T0, actor=ACTOR,
                                                   ticket=facts("W1", "X1", handler=water)))
    created = t.TicketCreated(district=DISTRICT, occurred_at=T0, actor=ACTOR, ticket=facts("C1", "X1"))
    cancelled = t.TicketCancelled(district=DISTRICT, occurred_at=T0 + timedelta(minutes=1), actor=ACTOR, reason="重复",
                                  ticket=facts("C1", "X1", status="cancelled"))
    kpis.ingest(session, DISTRICT, cancelled)
    kpis.ingest(session, DISTRICT, created)    # late: older than what is kept
    session.commit()
    assert kpis.totals(session, DISTRICT, "complex", ["X1"], None)[("X1", "2026Q4")][0].tickets == 1
    # CO1 held the cancelled ticket but it counts nowhere: its totals row is all zeros.
    company = kpis.totals(session, DISTRICT, "company", ["CO1"], None)
    assert all(counts.is_zero() for counts, _ in company.values())
    row = kpis.ticket_state(session, DISTRICT, "C1")
    assert (row.status, row.events_seen, row.tickets) == ("cancelled", 2, 0)


def test_the_quarter_is_the_shanghai_quarter_of_submission(session):
    late_night = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)   # 1 January 2027, 00:30 in Shanghai
    kpis.ingest(session, DISTRICT, t.TicketCreated(district=DISTRICT, occurred_at=late_night, actor=ACTOR,
                                                   ticket=facts("N1", "X1", submitted_at=late_night)))
    session.commit()
    assert list(kpis.totals(session, DISTRICT, "complex", ["X1"], None)) == [("X1", "2027Q1")]


def test_a_batch_leaves_the_same_rows_and_totals_as_one_event_at_a_time(database_url_factory, backend):
    """``ingest_many`` folds a batch in memory: any order, the same ticket several times in one batch,
    stale events and replays, a ticket moving company within the batch: same state as ``ingest`` each."""
    rng = random.Random(21)
    events = []
    for n in range(6):
        events += lifecycle(f"T{n}", f"X{n % 2}")
    other = t.Handler(kind="property_company", id="CO2", name="新安物业")
    events.append(t.TicketAccepted(district=DISTRICT, occurred_at=T0 + timedelta(hours=1), actor=ACTOR,
                                   ticket=facts("T0", "X0", status="in_progress", handler=other, reopen_count=2)))
    rng.shuffle(events)
    events += [e.model_copy(update={"event_id": f"replay-{k}"}) for k, e in enumerate(rng.sample(events, 12))]
    states = []
    for batched in (False, True):
        engine = create_engine(database_url_factory("evaluation", backend))
        m.metadata.create_all(engine)
        with Session(engine) as s:
            if batched:
                results = []
                for start in range(0, len(events), 10):
                    results += kpis.ingest_many(s, DISTRICT, events[start:start + 10])
            else:
                results = [kpis.ingest(s, DISTRICT, e) for e in events]
            s.commit()
            tickets = {r.ticket_id: tuple(r) for r in s.execute(m.kpi_tickets.select()).all()}
            totals = {tuple(r[:4]): tuple(r) for r in s.execute(m.kpi_totals.select()).all()}
            states.append((results, tickets, totals, kpis.names_of(s, DISTRICT, ["CO1", "CO2"])))
        engine.dispose()
    assert states[0] == states[1]
    results, tickets, totals, names = states[1]
    assert sum(r.applied for r in results) < len(events)  # some events were stale: they changed no facts
    assert tickets["T0"][4] == "CO2" and names == {"CO1": "安居物业", "CO2": "新安物业"}
    assert sum(v[4] for k, v in totals.items() if k[1] == "company") == 6  # every ticket counted once
