"""Deciding and fulfilling the city's pairs (contract 1.2): a real district (990001, with its registry)
and the real city release run in two vhosts; ``Federation`` forwards events between them with kombu as
the federation links would (district ``matching.#`` up; the city's pair events down). The other district,
Xuhui, is played by hand: its events are published straight into the city's vhost.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from kombu import Connection, Queue, binding

from redprop.contracts import matching as c
from redprop.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from redprop.messaging import wire
from redprop.testing.suite import wait_for
from tests.matching.conftest import OFFICER_ID, WORKER_ID, load_city_officials
from tests.matching.test_city import (
    CITY,
    SOON,
    TODAY,
    XUHUI,
    deliver,
    handled,
    need,
    offer,
    republished,
)

pytestmark = pytest.mark.integration

DOWN = ("matching.city_proposals_made", "matching.city_proposal_status")


class Federation:
    """Forwards the district's own matching events up to the city vhost, and the city's pair events down."""

    def __init__(self, district, city):
        self.district, self.city = district, city
        exchange = wire.event_exchange("matching")
        self.exchange = exchange
        self.up_conn = Connection(district.amqp_uri)
        self.down_conn = Connection(city.amqp_uri)
        self.up = Queue(f"fed-up-{uuid.uuid4().hex[:8]}", exchange=exchange, routing_key="matching.#",
                        durable=False)(self.up_conn.channel())
        self.down = Queue(f"fed-down-{uuid.uuid4().hex[:8]}", bindings=[binding(exchange, routing_key=k)
                                                                       for k in DOWN],
                          durable=False)(self.down_conn.channel())
        self.up.declare()
        self.down.declare()

    def _forward(self, queue: Queue, conn: Connection, only_from: str) -> int:
        n = 0
        producer = conn.Producer()
        while (msg := queue.get(no_ack=True)) is not None:
            if msg.headers.get(wire.H_DISTRICT) != only_from:
                continue  # max-hops 1: what came from elsewhere does not travel on
            producer.publish(msg.body, exchange=self.exchange,
                             routing_key=msg.delivery_info["routing_key"], headers=msg.headers,
                             content_type=msg.content_type, content_encoding=msg.content_encoding,
                             message_id=msg.properties.get("message_id"), declare=[self.exchange])
            n += 1
        return n

    def pump(self) -> int:
        return self._forward(self.up, self.down_conn, self.district.district) + \
            self._forward(self.down, self.up_conn, CITY)

    def until(self, predicate, message: str):
        return wait_for(lambda: self.pump() * 0 or predicate(), timeout=15, message=message)

    def close(self) -> None:
        self.up_conn.release()
        self.down_conn.release()


@pytest.fixture
def city_vhost(rabbit_management):
    # Set up before the suites, so it is deleted after they stop.
    name = f"redprop_test_{uuid.uuid4().hex[:10]}"
    rabbit_management.create_vhost(name)
    yield name
    rabbit_management.delete_vhost(name)


@pytest.fixture
def linked(request, city_vhost, run_suite, make_settings, matching):
    # The city's database: sqlite unless a test asks for postgresql (indirect parametrisation).
    backend = getattr(request, "param", "sqlite")
    settings = make_settings(["registry", "matching"], backend, services={"matching": {"options": {"role": "city"}}})
    city = run_suite("registry", "matching",
                     settings=settings.with_vhost(city_vhost).model_copy(update={"district": CITY}))
    load_city_officials(city, CITY)
    fed = Federation(matching.settings, city.settings)
    yield matching, city, fed
    fed.close()


def add_offer(district, quantity: int = 20, value: int = 20_000) -> None:
    district.rpc.matching.add_offers(actor=WORKER_ID, offers=[{
        "id": "OF-1", "provider_id": "ENT-A", "title": "樱花树", "quantity": quantity, "unit": "棵",
        "estimated_value": str(value)}], request_id="add-offer-of1")


def add_need(district, id_: str = "ND-1", quantity: int = 8, budget: int = 8000) -> None:
    district.rpc.matching.add_needs(actor=WORKER_ID, needs=[{
        "id": id_, "requester_id": "X2", "title": "樱花树", "quantity": quantity, "unit": "棵",
        "needed_by": SOON.isoformat(), "budget_estimate": str(budget)}], request_id=f"add-need-{id_.lower()}")


def pooled(city, key):
    return {(e.district, e.side, e.id): e for e in city.rpc.matching.city_pool(open_only=False).entries}.get(key)


def kept(district, proposal_id: str, status: str | None = None):
    found = {p.id: p for p in district.rpc.matching.list_city_proposals().proposals}.get(proposal_id)
    return found if found is not None and (status is None or found.status == status) else None


def city_run(city, n: int) -> list[c.CityProposalRecord]:
    return city.rpc.matching.run_city_matching(actor="P-OPS", request_id=f"city-run-{n:04d}", as_of=TODAY.isoformat()).proposals


def decided(district: str, proposal_id: str, side: str, accept: bool) -> c.CityProposalDecided:
    return c.CityProposalDecided(district=district, city_proposal_id=proposal_id, side=side, accept=accept,
                                 actor="P-XUHUI-1")


def offer_left(district, offer_id: str = "OF-1") -> int:
    return {o.id: o for o in district.rpc.matching.list_offers(status=None).offers}[offer_id].available_quantity


# -- our offer, Xuhui's need -------------------------------------------------------------------------


def test_both_sides_accept_and_the_delivery_reduces_the_offer_while_the_hold_keeps_home_runs_off(linked):
    home, city, fed = linked
    here = home.settings.district
    add_offer(home)  # 20 cherry trees, 1000 yuan each
    deliver(city.settings, c.NeedsAdded(district=XUHUI, need_ids=["ND-X"],
                                        needs=[need(XUHUI, "ND-X", 15, 31.012, 121.012, 15_000)]))
    fed.until(lambda: pooled(city, (here, "offer", "OF-1")) and pooled(city, (XUHUI, "need", "ND-X")),
              "both pooled")
    [pair] = city_run(city, 1)
    assert (pair.offer_district, pair.offer_id, pair.need_district, pair.quantity) == (here, "OF-1", XUHUI, 15)
    fed.until(lambda: kept(home, pair.id), "the district to keep the pair")

    # The hold: a home need of 8 gets only the 5 the city pair leaves.
    add_need(home)
    [local] = home.rpc.matching.run_matching(actor=OFFICER_ID, request_id="home-run-01").proposals
    assert (local.offer_id, local.need_id, local.quantity) == ("OF-1", "ND-1", 5)
    assert offer_left(home) == 0
    # The district announces what it placed at home only; the city counts its own pair once.
    fed.until(lambda: pooled(city, (here, "offer", "OF-1")).open_quantity == 15, "the remainder")
    entry = pooled(city, (here, "offer", "OF-1"))
    assert entry.held_quantity == 15 and city_run(city, 2) == []

    # Only the offer's side is ours; unknown pairs are not found; we record no delivery for Xuhui's need.
    rpc = home.rpc.matching
    with pytest.raises(PermissionDenied):
        rpc.decide_city_proposal(actor="P-DO", city_proposal_id=pair.id, side="need", accept=True,
                                 request_id="decide-wrong-side")
    with pytest.raises(NotFound):
        rpc.decide_city_proposal(actor="P-DO", city_proposal_id="CITY-nope-0001", side="offer", accept=True,
                                 request_id="decide-unknown-1")
    with pytest.raises(PermissionDenied):
        rpc.fulfil_city_proposal(actor="P-DO", city_proposal_id=pair.id, delivered_quantity=1, request_id="fulfil-wrong-01")

    first = rpc.decide_city_proposal(actor="P-DO", city_proposal_id=pair.id, side="offer", accept=True,
                                     request_id="decide-offer-01")
    assert (first.proposal.offer_decision, first.proposal.status, first.changed) == ("accept", "proposed", True)
    retried = rpc.decide_city_proposal(actor="P-DO", city_proposal_id=pair.id, side="offer", accept=True,
                                       request_id="decide-offer-01")
    assert retried == first
    again = rpc.decide_city_proposal(actor="P-DO", city_proposal_id=pair.id, side="offer", accept=True,
                                     request_id="decide-offer-02")
    assert again.changed is False
    # Matching 2.0: a decline says why, over the wire too (before any state is looked at).
    with pytest.raises(ValidationFailed) as refused:
        rpc.decide_city_proposal(actor="P-DO", city_proposal_id=pair.id, side="offer", accept=False,
                                 request_id="decide-offer-03")
    assert [f["field"] for f in refused.value.fields] == ["reason"]
    with pytest.raises(Conflict):
        rpc.decide_city_proposal(actor="P-DO", city_proposal_id=pair.id, side="offer", accept=False,
                                 reason="改变主意", request_id="decide-offer-03")

    # Xuhui accepts its side (twice, and once more under a new id); a forged decline of our side is ignored.
    forged = decided(XUHUI, pair.id, "offer", False)
    accept = decided(XUHUI, pair.id, "need", True)
    deliver(city.settings, forged, accept, accept, republished(accept))
    fed.until(lambda: kept(home, pair.id, "accepted"), "the pair accepted at home")
    [at_city] = city.rpc.matching.list_city_proposals().proposals
    assert (at_city.status, at_city.offer_decision, at_city.need_decision) == ("accepted", "accept", "accept")
    assert offer_left(home) == 0, "an accepted pair keeps holding"

    # Xuhui receives 12 of the 15 (the fulfilment reaches the city twice): our offer drops by 12 and 3 are free.
    got = c.CityProposalFulfilled(district=XUHUI, city_proposal_id=pair.id, offer_district=here, offer_id="OF-1",
                                  need_id="ND-X", delivered_quantity=12, savings=Decimal("12000.00"),
                                  delivered_on=TODAY)
    deliver(city.settings, got, republished(got))
    mine = fed.until(lambda: kept(home, pair.id, "fulfilled"), "the delivery at home")
    assert (mine.delivered_quantity, mine.savings) == (12, Decimal("12000.00"))
    assert offer_left(home) == 3
    assert home.rpc.matching.list_offers(status="open").offers[0].id == "OF-1"
    entry = pooled(city, (here, "offer", "OF-1"))
    assert entry.open_quantity - entry.held_quantity == 3, "the city counts the delivery once"
    assert home.rpc.matching.ledger(level="district").total == Decimal("0.00"), "savings belong to the need"


# -- Xuhui's offer, our need -------------------------------------------------------------------------


@pytest.mark.parametrize("linked", ["postgresql"], indirect=True)
def test_the_need_district_records_the_delivery_and_its_savings(linked):
    home, city, fed = linked
    here = home.settings.district
    deliver(city.settings, c.OffersAdded(district=XUHUI, offer_ids=["OF-X"],
                                         offers=[offer(XUHUI, "OF-X", 30, 31.012, 121.012)]))
    add_need(home, quantity=10, budget=10_000)
    fed.until(lambda: pooled(city, (here, "need", "ND-1")) and pooled(city, (XUHUI, "offer", "OF-X")),
              "both pooled")
    [pair] = city_run(city, 1)
    assert (pair.offer_district, pair.need_district, pair.need_id, pair.quantity) == (XUHUI, here, "ND-1", 10)
    fed.until(lambda: kept(home, pair.id), "the district to keep the pair")
    rpc = home.rpc.matching
    with pytest.raises(Conflict):  # not accepted yet
        rpc.fulfil_city_proposal(actor="P-DO", city_proposal_id=pair.id, delivered_quantity=10, request_id="fulfil-early-1")

    rpc.decide_city_proposal(actor="P-DO", city_proposal_id=pair.id, side="need", accept=True,
                             request_id="decide-need-01")
    deliver(city.settings, decided(XUHUI, pair.id, "offer", True))
    fed.until(lambda: kept(home, pair.id, "accepted"), "the pair accepted at home")
    with pytest.raises(ValidationFailed):
        rpc.fulfil_city_proposal(actor="P-DO", city_proposal_id=pair.id, delivered_quantity=11, request_id="fulfil-much-1")

    done = rpc.fulfil_city_proposal(actor="P-DO", city_proposal_id=pair.id, delivered_quantity=10, request_id="fulfil-pair-1")
    assert (done.proposal.status, done.proposal.delivered_quantity) == ("fulfilled", 10)
    unit_value = pair.explanation.unit_value
    assert done.proposal.savings == (unit_value * 10).quantize(Decimal("0.01")) > 0
    assert rpc.fulfil_city_proposal(actor="P-DO", city_proposal_id=pair.id, delivered_quantity=10,
                                    request_id="fulfil-pair-1") == done, "a retry is the same reply"
    with pytest.raises(Conflict):
        rpc.fulfil_city_proposal(actor="P-DO", city_proposal_id=pair.id, delivered_quantity=10, request_id="fulfil-pair-2")
    for level, key in (("complex", "X2"), ("community", "C1"), ("district", here)):
        [line] = rpc.ledger(level=level).lines
        assert (line.id, line.fulfilments, line.delivered_value) == (key, 1, done.proposal.savings)
    assert rpc.list_needs(status="met").needs[0].id == "ND-1"

    # The city hears of it and tells the offer's district (its status event reaches the districts).
    fed.until(lambda: city.rpc.matching.list_city_proposals(status="fulfilled").total == 1, "the city to know")
    [at_city] = city.rpc.matching.list_city_proposals().proposals
    assert (at_city.delivered_quantity, at_city.savings) == (10, done.proposal.savings)
    assert pooled(city, (XUHUI, "offer", "OF-X")).held_quantity == 10
    # The need is met at home: the city's pool closes it, and the fulfilled pair stays fulfilled.
    fed.until(lambda: pooled(city, (here, "need", "ND-1")).status == "met", "the need met in the pool")
    assert city.rpc.matching.list_city_proposals(status="fulfilled").total == 1


# -- declined ------------------------------------------------------------------------------------------


def test_a_declined_pair_releases_the_hold_and_is_never_proposed_again(linked):
    home, city, fed = linked
    here = home.settings.district
    add_offer(home)
    deliver(city.settings, c.NeedsAdded(district=XUHUI, need_ids=["ND-X"],
                                        needs=[need(XUHUI, "ND-X", 15, 31.012, 121.012, 15_000)]))
    fed.until(lambda: pooled(city, (here, "offer", "OF-1")) and pooled(city, (XUHUI, "need", "ND-X")),
              "both pooled")
    [pair] = city_run(city, 1)
    fed.until(lambda: kept(home, pair.id), "the district to keep the pair")
    assert offer_left(home) == 5

    # Xuhui accepts, we decline: declined whatever the order; the hold is released at once.
    deliver(city.settings, decided(XUHUI, pair.id, "need", True))
    reply = home.rpc.matching.decide_city_proposal(actor="P-DO", city_proposal_id=pair.id, side="offer", accept=False,
                                                   reason="已另有用途", request_id="decline-01")
    assert reply.proposal.status == "declined" and offer_left(home) == 20
    add_need(home)
    [local] = home.rpc.matching.run_matching(actor=OFFICER_ID, request_id="home-run-02").proposals
    assert local.quantity == 8

    fed.until(lambda: city.rpc.matching.list_city_proposals(status="declined").total == 1, "declined at the city")
    # Xuhui's late change of mind, and replays, change nothing.
    late = decided(XUHUI, pair.id, "need", False)
    deliver(city.settings, late, republished(late))
    handled(city.settings, late)
    [at_city] = city.rpc.matching.list_city_proposals().proposals
    assert (at_city.status, at_city.offer_decision, at_city.need_decision) == ("declined", "decline", "accept")

    # 12 plants are still free for the city, and Xuhui still needs 15, but this pair is barred.
    fed.until(lambda: pooled(city, (here, "offer", "OF-1")).open_quantity == 12, "the remainder")
    assert city_run(city, 2) == []
    assert kept(home, pair.id).status == "declined"
    with pytest.raises(Conflict):
        home.rpc.matching.decide_city_proposal(actor="P-DO", city_proposal_id=pair.id, side="offer", accept=True,
                                               request_id="decide-after-1")
