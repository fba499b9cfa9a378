"""City-wide matching: the city release's matching pools the districts' federated events and proposes
pairs across district lines; the districts announce what they have left and keep the city's pairs.

Federation is simulated as the brief allows: district events are published by hand into the city's
vhost on the exchange, routing key and headers federation would deliver them with
(tests/federation checks the federation itself).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from kombu import Connection, Queue
from sqlalchemy import select

from redprop.clock import utcnow
from redprop.config import ConfigError, Settings
from redprop.contracts import matching as c
from redprop.db.engine import build_engine
from redprop.errors import Conflict
from redprop.messaging import wire
from redprop.messaging.tables import ProcessedEvent
from redprop.services.matching.options import MatchingOptions
from redprop.testing import events
from redprop.testing.suite import wait_for
from tests.matching.conftest import OFFICER_ID, WORKER_ID, load_city_officials

CITY, HUANGPU, XUHUI = "310000", "310101", "310104"
TODAY = date.today()
SOON = TODAY + timedelta(days=30)


# -- what the districts send ---------------------------------------------------------------------


def offer(district: str, id_: str, quantity: int, lat: float, lon: float, **extra) -> c.OfferRecord:
    return c.OfferRecord(**{
        "id": id_, "district": district, "kind": "goods", "provider_id": f"ENT-{district}",
        "provider_kind": "organisation", "provider_name": "地铁沿线搬迁企业", "title": "红叶石楠",
        "description": "搬迁留下的红叶石楠苗木", "category": "greening", "category_source": "synonym:红叶石楠",
        "quantity": quantity, "unit": "plant", "condition": "good", "estimated_value": Decimal(100 * quantity),
        "lat": lat, "lon": lon, "available_until": SOON, "recurrence": "none", "status": "open",
        "available_quantity": quantity, "base_unit": "plant", "created_at": utcnow(), **extra})


def need(district: str, id_: str, quantity: int, lat: float, lon: float, budget: int) -> c.NeedRecord:
    return c.NeedRecord(
        id=id_, district=district, requester_kind="complex", requester_id=f"CX-{id_}", complex_id=f"CX-{id_}",
        community_id=f"CM-{district}", title="小区绿化补种红叶石楠", description="", category="greening",
        category_source="synonym:红叶石楠", kind="goods", quantity=quantity, unit="plant", priority=3,
        needed_by=SOON, budget_estimate=Decimal(budget), lat=lat, lon=lon, status="open", open_quantity=quantity,
        base_unit="plant", created_at=utcnow())


def deliver(settings: Settings, *published: c.Event) -> None:
    """Publish as a district's outbox does, onto the city's federated ``matching.events`` exchange."""
    events.deliver(settings, "matching", *published)


def republished(evt: c.Event) -> c.Event:
    """The same fact published again under a new event id (e.g. a district replaying its outbox)."""
    return evt.model_copy(update={"event_id": uuid.uuid4().hex})


def bind_events(settings: Settings, pattern: str = "matching.#") -> Queue:
    queue = Queue(f"test-events-{uuid.uuid4().hex[:8]}", exchange=wire.event_exchange("matching"),
                  routing_key=pattern, durable=False, auto_delete=False)
    with Connection(settings.amqp_uri) as conn:
        queue(conn.default_channel).declare()
    return queue


drain = events.drain


def handled(settings: Settings, *events: c.Event) -> None:
    """Wait until the matching service has processed these events (its inbox has their ids)."""
    engine = build_engine(settings.database_url("matching"))
    wanted = {evt.event_id for evt in events}
    try:
        def done():
            with engine.connect() as conn:
                return wanted <= {r[0] for r in conn.execute(select(ProcessedEvent.event_id))}
        wait_for(done, message="the events handled")
    finally:
        engine.dispose()


@pytest.fixture
def city(make_settings, run_suite, backend):
    settings = make_settings(["registry", "matching"], backend, services={"matching": {"options": {"role": "city"}}})
    suite = run_suite("registry", "matching", settings=settings.model_copy(update={"district": CITY}))
    load_city_officials(suite, CITY)
    return suite


def pool(suite, **kw) -> dict[tuple[str, str, str], c.CityPoolEntry]:
    return {(e.district, e.side, e.id): e for e in suite.rpc.matching.city_pool(**kw).entries}


# -- the city ------------------------------------------------------------------------------------

pytestmark = pytest.mark.integration


def test_the_city_pairs_an_offer_with_a_need_just_across_the_district_line(city):
    # Huangpu has plants and a need of its own right beside them; Xuhui's need is 1.4 km away, across the line.
    offers_a = c.OffersAdded(district=HUANGPU, offer_ids=["OF-1"], offers=[offer(HUANGPU, "OF-1", 50, 31.000, 121.000)])
    needs_a = c.NeedsAdded(district=HUANGPU, need_ids=["ND-1"], needs=[need(HUANGPU, "ND-1", 30, 31.001, 121.001, 3000)])
    # Xuhui uses the same local id: the district code keeps them apart.
    needs_b = c.NeedsAdded(district=XUHUI, need_ids=["ND-1"], needs=[need(XUHUI, "ND-1", 20, 31.010, 121.010, 4000)])
    # A 1.0 district announces ids only: nothing to pool, and nothing breaks.
    old = c.OffersAdded(district="310105", offer_ids=["OF-9"])
    # Duplicates: the same message twice, and the same fact under a new event id.
    deliver(city.settings, offers_a, offers_a, republished(offers_a), needs_a, needs_b, old)

    found = wait_for(lambda: len(pool(city)) == 3 and pool(city), message="three pooled entries")
    assert set(found) == {(HUANGPU, "offer", "OF-1"), (HUANGPU, "need", "ND-1"), (XUHUI, "need", "ND-1")}
    assert found[(HUANGPU, "offer", "OF-1")].open_quantity == 50, "a replayed offer counted twice"

    events = bind_events(city.settings, "matching.city_proposals_made")
    reply = city.rpc.matching.run_city_matching(actor="P-OPS", request_id="city-run-0001", as_of=TODAY.isoformat())
    assert reply.districts == [HUANGPU, XUHUI]
    assert (reply.offers_considered, reply.needs_considered) == (1, 2)
    # Only the pair across the line: Huangpu matches its own need itself.
    [prop] = reply.proposals
    assert (prop.district, prop.offer_district, prop.offer_id, prop.need_district, prop.need_id, prop.quantity) == \
        (CITY, HUANGPU, "OF-1", XUHUI, "ND-1", 20)
    assert prop.explanation.value == Decimal("4000.00") and prop.explanation.distance_m < 2000
    assert HUANGPU in prop.explanation.summary and XUHUI in prop.explanation.summary

    # The districts hear of it.
    [(key, body)] = wait_for(lambda: drain(city.settings, events), message="city_proposals_made")
    announced = c.CityProposalsMade.model_validate(body)
    assert announced.district == CITY and [p.id for p in announced.proposals] == [prop.id]

    # The proposal holds its quantity: another run proposes nothing new, and replays change nothing.
    deliver(city.settings, republished(needs_b), republished(offers_a))
    again = city.rpc.matching.run_city_matching(actor="P-OPS", request_id="city-run-0002", as_of=TODAY.isoformat())
    assert again.proposals == []
    entries = pool(city)
    assert entries[(HUANGPU, "offer", "OF-1")].held_quantity == 20
    assert entries[(XUHUI, "need", "ND-1")].held_quantity == 20
    assert city.rpc.matching.list_city_proposals(district=XUHUI).total == 1
    assert city.rpc.matching.list_city_proposals(district="310105").total == 0


def test_remainders_and_a_withdrawal_keep_the_city_pool_current(city):
    added = c.OffersAdded(district=HUANGPU, offer_ids=["OF-1"], offers=[offer(HUANGPU, "OF-1", 50, 31.0, 121.0)])
    wanted = c.NeedsAdded(district=XUHUI, need_ids=["ND-7"], needs=[need(XUHUI, "ND-7", 20, 31.01, 121.01, 4000)])
    deliver(city.settings, added, wanted)
    wait_for(lambda: len(pool(city)) == 2, message="both pooled")

    # Huangpu matched 45 of its plants at home: only 5 are left for the city.
    left = c.RemainderChanged(district=HUANGPU, entries=[c.PoolEntry(side="offer", id="OF-1", status="open",
                                                                    open_quantity=5, until=SOON)])
    deliver(city.settings, left, republished(left))
    wait_for(lambda: pool(city)[(HUANGPU, "offer", "OF-1")].open_quantity == 5, message="the remainder")
    [prop] = city.rpc.matching.run_city_matching(actor="P-OPS", request_id="city-run-0003", as_of=TODAY.isoformat()).proposals
    assert prop.quantity == 5

    # Huangpu's enterprise withdraws the offer: it leaves the pool and the city's pair expires.
    withdrawn = c.RemainderChanged(district=HUANGPU, entries=[c.PoolEntry(side="offer", id="OF-1",
                                                                         status="withdrawn", open_quantity=0)])
    deliver(city.settings, withdrawn)
    wait_for(lambda: (HUANGPU, "offer", "OF-1") not in pool(city), message="the offer to leave the pool")
    assert pool(city, open_only=False)[(HUANGPU, "offer", "OF-1")].status == "withdrawn"
    assert [(p.id, p.status) for p in city.rpc.matching.list_city_proposals().proposals] == [(prop.id, "expired")]

    # Old news replayed after the withdrawal reopens nothing.
    replays = (republished(added), republished(left))
    deliver(city.settings, *replays)
    handled(city.settings, *replays)
    assert pool(city, open_only=False)[(HUANGPU, "offer", "OF-1")].status == "withdrawn"
    assert city.rpc.matching.run_city_matching(actor="P-OPS", request_id="city-run-0004", as_of=TODAY.isoformat()).proposals == []


# -- the districts -------------------------------------------------------------------------------


def test_a_district_announces_its_records_and_remainders_and_keeps_the_citys_pairs(matching):
    rpc = matching.rpc.matching
    events = bind_events(matching.settings)
    district = matching.settings.district
    rpc.add_offers(actor=WORKER_ID, offers=[{"id": "OF-1", "provider_id": "ENT-A", "title": "樱花树", "quantity": 20, "unit": "棵"}],
                   request_id="add-offers-01")
    rpc.add_needs(actor=WORKER_ID, needs=[{"id": "ND-1", "requester_id": "X2", "title": "樱花树", "quantity": 8, "unit": "棵",
                          "needed_by": SOON.isoformat(), "budget_estimate": "8000"}], request_id="add-needs-01")
    rpc.run_matching(actor=OFFICER_ID, request_id="run-000001")
    rpc.withdraw_offer(actor=WORKER_ID, offer_id="OF-1", request_id="withdraw-01")

    seen: list[tuple[str, dict]] = []
    wait_for(lambda: seen.extend(drain(matching.settings, events)) or
             sum(k == "matching.remainder_changed" for k, _ in seen) >= 2, message="the announcements")
    by_type = {}
    for key, body in seen:
        by_type.setdefault(key, []).append(body)
    [added] = by_type["matching.offers_added"]
    assert added["offer_ids"] == ["OF-1"] and added["offers"][0]["district"] == district
    assert added["offers"][0]["available_quantity"] == 20 and added["offers"][0]["lat"] is not None
    assert by_type["matching.needs_added"][0]["needs"][0]["open_quantity"] == 8
    after_run, after_withdrawal = (c.RemainderChanged.model_validate(b) for b in by_type["matching.remainder_changed"])
    assert {(e.side, e.id, e.status, e.open_quantity) for e in after_run.entries} == \
        {("offer", "OF-1", "open", 12), ("need", "ND-1", "open", 0)}
    assert {(e.side, e.id, e.status, e.open_quantity) for e in after_withdrawal.entries} == \
        {("offer", "OF-1", "withdrawn", 0), ("need", "ND-1", "open", 8)}

    # The city's pairs reach the district (federated back): it keeps those with its own records, once.
    explanation = c.Explanation(
        category="greening", offer_category_source="given", need_category_source="given", shared_terms=[],
        similarity=1.0, scores={}, quality=1.0, distance_m=900.0, feasible_from=TODAY, feasible_until=SOON,
        needed_by=SOON, unit="plant", unit_value=Decimal("100"), value=Decimal("500"), priority=3,
        priority_weight=1.0, fairness_weight=1.0, transport_cost=Decimal("0"), net_benefit=Decimal("500"),
        summary="across")
    pair = {"district": CITY, "run_id": "CITY-1", "quantity": 5, "unit": "plant", "status": "proposed",
            "explanation": explanation, "created_at": utcnow()}
    made = c.CityProposalsMade(district=CITY, run_id="CITY-1", matched_value=Decimal("1000"), proposals=[
        c.CityProposalRecord(id="CITY-1-0001", offer_district=HUANGPU, offer_id="OF-5", need_district=district,
                             need_id="ND-1", **pair),
        c.CityProposalRecord(id="CITY-1-0002", offer_district=HUANGPU, offer_id="OF-6", need_district=XUHUI,
                             need_id="ND-2", **pair)])
    again = republished(made)
    deliver(matching.settings, made, again)
    handled(matching.settings, made, again)
    kept = rpc.list_city_proposals().proposals
    assert [(p.district, p.id, p.offer_district, p.need_id) for p in kept] == \
        [(district, "CITY-1-0001", HUANGPU, "ND-1")]

    # City operations belong to the city release.
    with pytest.raises(Conflict) as refused:
        rpc.run_city_matching(actor="P-OPS", request_id="city-run-0009")
    assert "role" in str(refused.value)
    with pytest.raises(Conflict):
        rpc.city_pool()


def test_the_role_option_is_checked():
    assert MatchingOptions().role == "district"
    settings = Settings(district=HUANGPU, services={"matching": {"options": {"role": "province"}}})
    with pytest.raises(ConfigError) as wrong:
        settings.service_options("matching", MatchingOptions)
    assert "services.matching.options.role" in str(wrong.value)
    settings = Settings(district=HUANGPU, services={"matching": {"options": {"rol": "city"}}})
    with pytest.raises(ConfigError, match="options.rol"):
        settings.service_options("matching", MatchingOptions)
