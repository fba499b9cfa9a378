"""Ticket KPIs end to end: tickets driven through ticketing's commands, events consumed by evaluation;
duplicated and replayed events published by hand never count twice; a poison event is dead-lettered."""

from __future__ import annotations

from decimal import Decimal

import eventlet
import pytest

from redprop.errors import NotFound, ValidationFailed
from redprop.messaging import wire
from redprop.testing.events import bind, dead_letters, drain, publish
from redprop.testing.suite import wait_for
from tests.evaluation.conftest import COMPANY, COMPANY2, RESIDENT, act, start, submit

pytestmark = pytest.mark.integration


def company_kpi(suite, company="CO1"):
    rows = suite.rpc.evaluation.kpis(scope="company", id=company).rows
    return rows[0] if rows else None


def seen(suite, ticket_id: str) -> int:
    try:
        return suite.rpc.evaluation.kpi_ticket(ticket_id=ticket_id).ticket.events_seen
    except NotFound:
        return 0


def test_kpis_from_tickets_and_replays_never_count_twice(run_suite, small_district, backend):
    suite = start(run_suite, small_district, backend)
    queue = bind(suite.settings, "ticketing")
    good = submit(suite)
    act(suite, "accept", good.id, COMPANY)
    act(suite, "resolve", good.id, COMPANY, summary="修好了")
    act(suite, "rate", good.id, RESIDENT, rating=5)
    again = submit(suite, description="单元门禁坏了", category="repair_common")
    act(suite, "resolve", again.id, COMPANY, summary="换了门禁")
    act(suite, "rate", again.id, RESIDENT, rating=2)
    act(suite, "reopen", again.id, RESIDENT, reason="还是坏的")
    dropped = submit(suite, description="路灯不亮", category="repair_common")
    act(suite, "cancel", dropped.id, RESIDENT, reason="自己好了")
    water = submit(suite, category="water", description="停水了")          # the water company's, not CO1's
    other = submit(suite, building_id="B3", description="三楼漏水")         # CO2's
    act(suite, "accept", other.id, COMPANY2)

    expected = {good.id: 6, again.id: 6, dropped.id: 3, water.id: 2, other.id: 3}
    events = []  # every one of them, or the replay below would miss one
    wait_for(lambda: events.extend(drain(suite.settings, queue)) or len(events) >= sum(expected.values()), timeout=30,
             message="all ticket events")
    wait_for(lambda: all(seen(suite, k) >= n for k, n in expected.items()), timeout=30, message="events counted")

    co1 = company_kpi(suite)
    assert (co1.tickets, co1.responded_on_time, co1.resolved, co1.rated, co1.satisfied, co1.reopened) == (2, 2, 1, 1, 1, 1)
    assert (co1.response_rate, co1.resolution_rate, co1.satisfaction_rate) == (Decimal("1"), Decimal("0.5"), Decimal("1"))
    assert (co1.on_time_rate, co1.reopen_rate, co1.mean_rating) == (Decimal("1"), Decimal("0.5"), Decimal("5.00"))
    x1 = suite.rpc.evaluation.kpis(scope="complex", id="X1").rows[0]
    assert x1.tickets == 3                      # the water ticket counts for the complex
    assert company_kpi(suite, "CO2").tickets == 1
    assert co1.name == "安居物业"
    before = (co1, x1, company_kpi(suite, "CO2"))

    # The same events again (the outbox or the broker delivered twice): the inbox drops them.
    for key, body in events:
        publish(suite.settings, key, body)
    # A replay with fresh event ids, newest first (a re-sent history, out of order): the versions drop them.
    for key, body in reversed(events):
        publish(suite.settings, key, {**body, "event_id": "replay-" + body["event_id"]})
    wait_for(lambda: all(seen(suite, k) >= 2 * n for k, n in expected.items()), timeout=30,
             message="the replayed events processed")
    eventlet.sleep(0.5)
    assert (company_kpi(suite), suite.rpc.evaluation.kpis(scope="complex", id="X1").rows[0],
            company_kpi(suite, "CO2")) == before
    assert all(seen(suite, k) == 2 * n for k, n in expected.items())
    state = suite.rpc.evaluation.kpi_ticket(ticket_id=again.id).ticket
    assert (state.status, state.reopened, state.resolved, state.rating) == ("dispatched", True, False, None)


def test_bad_queries_and_a_poison_event(suite):
    with pytest.raises(ValidationFailed) as err:
        suite.rpc.evaluation.kpis(scope="company", id="CO1", periods=["2026Q5"])
    assert err.value.fields[0]["field"].startswith("periods")
    with pytest.raises(ValidationFailed):
        suite.rpc.evaluation.kpis(scope="grid", id="G1")
    with pytest.raises(NotFound):
        suite.rpc.evaluation.kpi_ticket(ticket_id="NO-SUCH")
    publish(suite.settings, "ticketing.created", {"event_id": "broken-1", "district": "990001", "ticket": {"x": 1}})
    ticket = submit(suite)
    wait_for(lambda: seen(suite, ticket.id) >= 2, message="the good events behind the poison one")
    letters = wait_for(lambda: dead_letters(suite.settings, "evaluation") or None, message="the dead letter")
    assert len(letters) == 1 and "ticket" in letters[0].headers[wire.H_DEAD_REASON]
