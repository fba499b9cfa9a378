"""Micro-points over the real broker and databases: earned once per fact (a redelivered event earns once),
every balance the sum of its entries, overdrafts refused, also under concurrent redemptions, and expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select

from redprop.contracts import ticketing as t
from redprop.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from redprop.services.participation import models as m
from redprop.testing.events import deliver
from redprop.testing.suite import wait_for
from tests.participation.conftest import RESIDENT, WORKER, activity, rid, serve, start

NOW = datetime.now(UTC)


def rated(resident: str = RESIDENT, ticket_id: str = "T1") -> t.TicketRated:
    facts = t.TicketFacts(ticket_id=ticket_id, category="leak", sla_class="utilities", level="grid", status="closed",
                          complex_id="X1", community_id="C1", submitted_at=NOW - timedelta(days=1),
                          response_due_at=NOW, resolution_due_at=NOW, rating=5)
    return t.TicketRated(district="990001", actor=t.Actor(kind="resident", id=resident), ticket=facts)


def _entries_sum(suite, person: str) -> int:
    engine = create_engine(suite.settings.database_url("participation"))
    try:
        with engine.connect() as conn:
            e = m.entries
            return int(conn.execute(select(func.coalesce(func.sum(e.c.amount), 0)).where(
                e.c.account == f"person:{person}")).scalar_one())
    finally:
        engine.dispose()


def _ledger_balanced(suite) -> bool:
    """Double entry: all accounts together sum to zero, and each balance equals its entries."""
    engine = create_engine(suite.settings.database_url("participation"))
    try:
        with engine.connect() as conn:
            a, e = m.accounts, m.entries
            balances = dict(conn.execute(select(a.c.account, a.c.balance)).all())
            sums = dict(conn.execute(select(e.c.account, func.sum(e.c.amount)).group_by(e.c.account)).all())
            per_txn = conn.execute(select(e.c.transaction_id, func.sum(e.c.amount)).group_by(
                e.c.transaction_id)).all()
        return (sum(balances.values()) == 0 and balances == {k: int(v) for k, v in sums.items()}
                and all(total == 0 for _, total in per_txn))
    finally:
        engine.dispose()


def test_points_from_turns_and_rated_tickets_earned_once(run_suite, small_district, backend):
    suite = start(run_suite, small_district, backend)
    p = suite.rpc.participation
    day = activity(suite)
    assert serve(suite, day.id, RESIDENT, 1.5).points == 15  # 10 points an hour (the standard rules)
    evt = rated()
    deliver(suite.settings, "ticketing", evt)
    deliver(suite.settings, "ticketing", evt)  # a redelivery of the same event
    deliver(suite.settings, "ticketing", rated(ticket_id="T2"))
    deliver(suite.settings, "ticketing", t.TicketRated(  # rated by a worker, not the resident: no points
        district="990001", actor=t.Actor(kind="worker", id=WORKER), ticket=rated().ticket))
    wait_for(lambda: p.balance(person_id=RESIDENT).balance >= 25, timeout=15)
    suite.rpc.call("participation", "get_activity", {"activity_id": day.id})  # let the last events settle
    reply = p.balance(person_id=RESIDENT)
    assert (reply.balance, reply.earned, reply.spent) == (25, 25, 0)
    assert sorted(e.amount for e in reply.entries) == [5, 5, 15]
    assert sum(e.amount for e in reply.entries) == reply.balance == _entries_sum(suite, RESIDENT)
    assert p.balance(person_id=WORKER).balance == 0
    assert _ledger_balanced(suite)


def test_redeem_refuses_an_overdraft_and_explains_the_balance(run_suite, small_district):
    suite = start(run_suite, small_district)
    p = suite.rpc.participation
    serve(suite, activity(suite).id, RESIDENT, 2)  # 20 points
    soap = p.add_reward(actor=WORKER, community_id="C1", name="洗衣液", cost=8, stock=5,
                        request_id=rid("reward")).reward
    with pytest.raises(PermissionDenied):  # a resident does not stock the catalogue
        p.add_reward(actor=RESIDENT, community_id="C1", name="毛巾", cost=1, request_id=rid("reward"))
    got = p.redeem(actor=RESIDENT, reward_id=soap.id, quantity=2, request_id=rid("redeem"))
    assert (got.points, got.balance, got.reward.stock) == (16, 4, 3)
    with pytest.raises(Conflict) as exc:
        p.redeem(actor=RESIDENT, reward_id=soap.id, request_id=rid("redeem"))
    assert exc.value.details["balance"] == 4
    with pytest.raises(Conflict):  # nobody else has points either
        p.redeem(actor="P3", reward_id=soap.id, request_id=rid("redeem"))
    with pytest.raises(NotFound) as exc:
        p.redeem(actor=RESIDENT, reward_id="no-such-reward", request_id=rid("redeem"))
    assert exc.value.details["field"] == "reward_id"
    with pytest.raises(ValidationFailed) as exc:
        p.redeem(actor=RESIDENT, reward_id=soap.id, quantity=0, request_id=rid("redeem"))
    assert [f["field"] for f in exc.value.fields] == ["quantity"]
    reply = p.balance(person_id=RESIDENT)
    assert (reply.balance, reply.earned, reply.spent) == (4, 20, 16)
    assert sum(e.amount for e in reply.entries) == 4 == _entries_sum(suite, RESIDENT)
    assert p.list_rewards(community_id="C1").rewards[0].stock == 3  # the refused ones took no stock
    assert _ledger_balanced(suite)


def test_concurrent_redemptions_never_overdraw(run_suite, small_district, backend):
    suite = start(run_suite, small_district, backend)
    p = suite.rpc.participation
    serve(suite, activity(suite).id, RESIDENT, 5)  # 50 points
    tea = p.add_reward(actor=WORKER, community_id="C1", name="茶叶", cost=7, request_id=rid("reward")).reward
    calls = [suite.rpc.call_async("participation", "redeem", {"actor": RESIDENT, "reward_id": tea.id,
                                                              "request_id": rid("redeem")}) for _ in range(20)]
    done = refused = 0
    for call in calls:
        try:
            call.result(60)
            done += 1
        except Conflict:
            refused += 1
    assert (done, refused) == (7, 13)  # 7 x 7 = 49 of 50
    reply = p.balance(person_id=RESIDENT)
    assert reply.balance == 1 == _entries_sum(suite, RESIDENT)
    assert _ledger_balanced(suite)


def test_expiry_takes_the_oldest_points_once(run_suite, small_district):
    suite = start(run_suite, small_district, points_expire_after_years=1)
    p = suite.rpc.participation
    year = datetime.now(UTC).year
    old = activity(suite, starts_at=f"{year - 1}-06-01T01:00:00+00:00", ends_at=f"{year - 1}-06-01T05:00:00+00:00")
    serve(suite, old.id, RESIDENT, 3)           # 30 points last year
    serve(suite, activity(suite).id, RESIDENT, 1)  # 10 this year
    cake = p.add_reward(actor=WORKER, community_id="C1", name="月饼", cost=12, request_id=rid("reward")).reward
    p.redeem(actor=RESIDENT, reward_id=cake.id, request_id=rid("redeem"))  # spends 12 of last year's 30
    with pytest.raises(ValidationFailed) as exc:  # this year's points have not expired yet
        p.expire_points(actor="P-OPS", year=year, request_id=rid("expire"))
    assert [f["field"] for f in exc.value.fields] == ["year"]
    # Points are dated by the service that earned them: last year's 30, less the 12 spent (oldest first).
    first = p.expire_points(actor="P-OPS", year=year - 1, request_id=rid("expire"))
    again = p.expire_points(actor="P-OPS", year=year - 1, request_id=rid("expire"))
    assert (first.people, first.points) == (1, 18) and again.points == 0
    reply = p.balance(person_id=RESIDENT)
    assert (reply.balance, reply.earned, reply.spent, reply.expired) == (10, 40, 12, 18)
    assert _ledger_balanced(suite)


def test_expiry_only_where_the_district_configures_it(run_suite, small_district):
    suite = start(run_suite, small_district)
    with pytest.raises(Conflict):
        suite.rpc.participation.expire_points(actor="P-OPS", year=2020, request_id=rid("expire"))


def test_a_ticket_the_resident_rates_earns_points_end_to_end(run_suite, small_district):
    from redprop.testing.tickets import COMPANY, act, submit
    from redprop.testing.tickets import RESIDENT as RESIDENT_ACTOR

    suite = run_suite("registry", "ticketing", "participation",
                      services={"ticketing": {"options": {"sweep_interval": 3600}}})
    suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id=rid("load"))
    ticket = submit(suite)
    act(suite, "accept", ticket.id, COMPANY)
    act(suite, "resolve", ticket.id, COMPANY, summary="已修复")
    act(suite, "rate", ticket.id, RESIDENT_ACTOR, rating=5)
    p = suite.rpc.participation
    wait_for(lambda: p.balance(person_id=RESIDENT).balance > 0, timeout=20)
    reply = p.balance(person_id=RESIDENT)
    assert reply.balance == 5 and reply.entries[0].reason == "a ticket confirmed and rated"
    assert reply.entries[0].source.startswith("ticketing:")
