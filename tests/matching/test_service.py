"""The matching service end to end over the real broker, with the registry locating everything."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from redprop.contracts.matching import CONTRACT as MATCHING
from redprop.errors import Conflict, NotFound, ValidationFailed
from redprop.testing import events
from redprop.testing.suite import wait_for
from tests.matching.conftest import OFFICER_ID, WORKER_ID

pytestmark = pytest.mark.integration

TODAY = date.today()
SOON = (TODAY + timedelta(days=30)).isoformat()


def plants_offer(**extra) -> dict:
    return {"id": "OF-PLANTS", "provider_id": "ENT-A", "title": "红叶石楠", "description": "苗圃搬迁，苗木可移栽",
            "quantity": 100, "unit": "株", "estimated_value": "8000", **extra}


def plants_need(**extra) -> dict:
    return {"id": "ND-PLANTS", "requester_id": "X2", "title": "绿化带补种红叶石楠", "quantity": 60, "unit": "棵",
            "priority": 4, "needed_by": SOON, "budget_estimate": "12000", **extra}


@pytest.fixture
def backend_matching(run_suite, backend, district_records):
    suite = run_suite("registry", "matching", backend=backend)
    assert suite.rpc.registry.upsert(actor="P-DATA", records=district_records, request_id="load-district-1").applied
    return suite


def test_offer_to_need_to_delivery_to_savings(backend_matching):
    rpc = backend_matching.rpc.matching
    [offer] = rpc.add_offers(actor=WORKER_ID, offers=[plants_offer()]).offers
    assert (offer.category, offer.category_source) == ("greening", "synonym:红叶石楠")
    assert (offer.lat, offer.lon) == (31.005, 121.004)            # the enterprise's location, from the registry
    assert offer.leaves_on == date(2099, 6, 30)                   # and its relocation date
    assert offer.available_quantity == 100 and offer.provider_name == "绿源苗木场"
    [need] = rpc.add_needs(actor=WORKER_ID, needs=[plants_need()]).needs
    assert (need.complex_id, need.community_id, need.subdistrict_id) == ("X2", "C1", "S")
    assert (need.unit, need.open_quantity) == ("plant", 60)

    run = rpc.run_matching(actor=OFFICER_ID, )
    [prop] = run.proposals
    assert (prop.offer_id, prop.need_id, prop.quantity, prop.unit) == ("OF-PLANTS", "ND-PLANTS", 60, "plant")
    why = prop.explanation
    assert why.category == "greening" and "红叶石楠" in why.shared_terms
    assert why.unit_value == Decimal("200.0000") and why.value == Decimal("12000.00")
    assert 0 < why.distance_m < 2000 and why.needed_by.isoformat() == SOON
    assert "红叶石楠" in why.summary and run.matched_value == Decimal("12000.00")

    assert rpc.decide(actor=WORKER_ID, proposal_id=prop.id, side="need", decision="accept").proposal.status == "proposed"
    assert rpc.decide(actor=WORKER_ID, proposal_id=prop.id, side="offer", decision="accept").proposal.status == "accepted"
    published = events.bind(backend_matching.settings, "matching", "matching.proposal_fulfilled")
    done = rpc.fulfil(actor=WORKER_ID, proposal_id=prop.id, delivered_quantity=50).proposal
    assert (done.status, done.delivered_quantity, done.savings) == ("fulfilled", 50, Decimal("10000.00"))
    # Since 1.4 the event names who gave it, so participation can credit a person's donation.
    fulfilled = wait_for(lambda: events.drain(backend_matching.settings, published), timeout=10)
    assert [(b["proposal_id"], b["provider_id"], b["provider_kind"]) for _, b in fulfilled] == \
        [(prop.id, "ENT-A", "organisation")]

    for level, key in (("complex", "X2"), ("community", "C1"), ("subdistrict", "S"), ("district", "990001")):
        ledger = rpc.ledger(level=level)
        assert [(line.id, line.fulfilments, line.delivered_value) for line in ledger.lines] == \
            [(key, 1, Decimal("10000.00"))]
    # 10 plants were not delivered: the need and the offer are open for them; the same pair may try again.
    assert rpc.list_needs().needs[0].open_quantity == 10
    assert rpc.list_offers().offers[0].available_quantity == 50
    again = rpc.run_matching(actor=OFFICER_ID, )
    assert [(p.offer_id, p.quantity) for p in again.proposals] == [("OF-PLANTS", 10)]


def test_a_declined_pair_is_never_proposed_again_and_runs_are_incremental(matching):
    rpc = matching.rpc.matching
    rpc.add_offers(actor=WORKER_ID, offers=[plants_offer(), {"id": "OF-SOFA", "provider_id": "ENT-B", "title": "旧沙发",
                                            "quantity": 4, "unit": "件", "condition": "fair"}])
    rpc.add_needs(actor=WORKER_ID, needs=[plants_need()])
    first = rpc.run_matching(actor=OFFICER_ID, )
    assert first.categories == ["furniture", "greening"]
    [prop] = first.proposals
    declined = rpc.decide(actor=WORKER_ID, proposal_id=prop.id, side="offer", decision="decline", reason="已预留").proposal
    assert declined.status == "declined"
    with pytest.raises(Conflict):
        rpc.decide(actor=WORKER_ID, proposal_id=prop.id, side="need", decision="accept")
    # Repeating the same decision changes nothing.
    assert rpc.decide(actor=WORKER_ID, proposal_id=prop.id, side="offer", decision="decline",
                      reason="已预留").changed is False

    second = rpc.run_matching(actor=OFFICER_ID, full=True)
    assert second.proposals == [] and second.candidates == 0

    # A new greening need: only greening is solved again; the declined pair stays barred.
    rpc.add_needs(actor=WORKER_ID, needs=[plants_need(id="ND-PLANTS-2", requester_id="X1", quantity=5)])
    third = rpc.run_matching(actor=OFFICER_ID, )
    assert third.categories == ["greening"]
    assert [(p.offer_id, p.need_id) for p in third.proposals] == [("OF-PLANTS", "ND-PLANTS-2")]
    # Nothing changed since: an incremental run solves nothing.
    assert rpc.run_matching(actor=OFFICER_ID, ).categories == []


def test_expired_offers_and_leaving_enterprises_close_their_proposals(matching):
    rpc = matching.rpc.matching
    until = TODAY + timedelta(days=10)
    rpc.add_offers(actor=WORKER_ID, offers=[plants_offer(available_until=until.isoformat()),
                           {"id": "OF-STONE", "provider_id": "ENT-B", "title": "石墩", "quantity": 20, "unit": "个"}])
    rpc.add_needs(actor=WORKER_ID, needs=[plants_need(needed_by=(TODAY + timedelta(days=60)).isoformat()),
                         {"id": "ND-STONE", "requester_id": "X1", "title": "挡车石墩", "quantity": 10, "unit": "个",
                          "needed_by": SOON}])
    run = rpc.run_matching(actor=OFFICER_ID, )
    by_need = {p.need_id: p for p in run.proposals}
    assert set(by_need) == {"ND-PLANTS", "ND-STONE"}

    # Planning from a day after the plants' window: the offer expires with its open proposal.
    later = rpc.run_matching(actor=OFFICER_ID, as_of=(until + timedelta(days=1)).isoformat())
    assert later.offers_expired == ["OF-PLANTS"]
    assert rpc.get_proposal(proposal_id=by_need["ND-PLANTS"].id).proposal.status == "expired"
    with pytest.raises(Conflict):
        rpc.decide(actor=WORKER_ID, proposal_id=by_need["ND-PLANTS"].id, side="need", decision="accept")

    # The stone works relocates today: its offer and open proposal go at once.
    left = rpc.provider_leaves(actor=WORKER_ID, provider_id="ENT-B", on=TODAY.isoformat())
    assert left.offers_expired == ["OF-STONE"] and left.proposals_expired == [by_need["ND-STONE"].id]
    assert [o.id for o in rpc.list_offers(status="expired").offers] == ["OF-PLANTS", "OF-STONE"]
    assert rpc.list_offers().total == 0


def test_the_registry_relocation_date_reaches_open_offers(matching):
    rpc = matching.rpc.matching
    rpc.add_offers(actor=WORKER_ID, offers=[plants_offer()])
    leaving = (TODAY + timedelta(days=5)).isoformat()
    matching.rpc.registry.upsert(actor="P-DATA", request_id="relocate-ent-a-1", records=[
        {"kind": "organisation", "id": "ENT-A", "org_kind": "enterprise", "name": "绿源苗木场", "lat": 31.005,
         "lon": 121.004, "relocation_date": leaving}])
    offer = wait_for(lambda: (o := rpc.list_offers().offers[0]).leaves_on.isoformat() == leaving and o,
                     message="the new relocation date on the offer")
    assert offer.status == "open"


def test_the_service_list_holds_standing_offers_renewed_each_period(matching):
    rpc = matching.rpc.matching
    rpc.add_offers(actor=WORKER_ID, offers=[{"id": "OF-VOL", "provider_id": "PAIR-1", "title": "助老探访", "quantity": 4,
                            "unit": "小时", "recurrence": "weekly", "weekdays": [6, 7]}])
    [standing] = rpc.service_list().offers
    assert (standing.kind, standing.recurrence, standing.lat) == ("service", "weekly", 31.005)  # the unit's community
    rpc.add_needs(actor=WORKER_ID, needs=[{"id": "ND-VISIT", "requester_id": "X1", "title": "独居老人探访", "quantity": 10,
                          "unit": "hour", "needed_by": (TODAY + timedelta(days=60)).isoformat(),
                          "budget_estimate": "500"}])
    monday = TODAY - timedelta(days=TODAY.weekday())
    week1 = rpc.run_matching(actor=OFFICER_ID, as_of=monday.isoformat())
    assert [p.quantity for p in week1.proposals] == [4]                  # one week's hours
    assert rpc.run_matching(actor=OFFICER_ID, as_of=(monday + timedelta(days=2)).isoformat()).proposals == []
    week2 = rpc.run_matching(actor=OFFICER_ID, as_of=(monday + timedelta(days=7)).isoformat())
    assert [p.quantity for p in week2.proposals] == [4]                  # the next week's


def test_a_decline_without_a_reason_is_refused_naming_the_field(matching):
    """Matching 2.0: a declined pair is never proposed again, so the decline says why, checked by the contract
    in the service (not only by the workbench's form): a typed ``validation_failed`` on ``reason``."""
    from tests.shared.test_plain_amqp_client import PlainClient

    rpc = matching.rpc.matching
    rpc.add_offers(actor=WORKER_ID, offers=[plants_offer()])
    rpc.add_needs(actor=WORKER_ID, needs=[plants_need()])
    [prop] = rpc.run_matching(actor=OFFICER_ID).proposals
    for bad, kind in ((None, "value_error"), ("   ", "value_error"), ("理" * 501, "string_too_long")):
        extra = {} if bad is None else {"reason": bad}
        with pytest.raises(ValidationFailed) as refused:
            rpc.decide(actor=WORKER_ID, proposal_id=prop.id, side="offer", decision="decline", **extra)
        assert [(f["field"], f["type"]) for f in refused.value.fields] == [("reason", kind)], bad
    assert "reason" in str(refused.value)
    # An accept needs none; its reason is bounded the same.
    with pytest.raises(ValidationFailed) as too_long:
        rpc.decide(actor=WORKER_ID, proposal_id=prop.id, side="need", decision="accept", reason="理" * 501)
    assert [f["field"] for f in too_long.value.fields] == ["reason"]
    unchanged = rpc.get_proposal(proposal_id=prop.id).proposal
    assert (unchanged.status, unchanged.offer_decision, unchanged.need_decision) == ("proposed", None, None)

    # On the wire, as docs/wire-protocol.md says: the error object names the field; a 1.x caller that says
    # so is refused rather than misread (the major version changed).
    plain = PlainClient(matching.settings.amqp_uri)
    try:
        body = plain.call("matching.decide", {"actor": WORKER_ID, "proposal_id": prop.id, "side": "offer",
                                              "decision": "decline", "request_id": "plain-decline-01"}, command=True)
        assert body["result"] is None and body["error"]["code"] == "validation_failed"
        assert [f["field"] for f in body["error"]["details"]["fields"]] == ["reason"]
        body = plain.call("matching.decide", {"actor": WORKER_ID, "proposal_id": prop.id, "side": "offer",
                                              "decision": "decline", "reason": "已预留", "schema_version": 1,
                                              "request_id": "plain-decline-02"}, command=True)
        assert body["error"]["details"]["fields"][0]["field"] == "schema_version"
        # A reply says the major version the service speaks, as the refusal above asks the caller to.
        body = plain.call("matching.get_proposal", {"proposal_id": prop.id})
        assert body["error"] is None and body["result"]["schema_version"] == MATCHING.major == 2
    finally:
        plain.close()

    declined = rpc.decide(actor=WORKER_ID, proposal_id=prop.id, side="offer", decision="decline",
                          reason="  苗木已预留  ").proposal
    assert declined.status == "declined"


def test_illegal_transitions_are_conflicts(matching):
    rpc = matching.rpc.matching
    rpc.add_offers(actor=WORKER_ID, offers=[plants_offer()])
    rpc.add_needs(actor=WORKER_ID, needs=[plants_need()])
    [prop] = rpc.run_matching(actor=OFFICER_ID, ).proposals
    with pytest.raises(Conflict):
        rpc.fulfil(actor=WORKER_ID, proposal_id=prop.id, delivered_quantity=1)            # not accepted yet
    rpc.decide(actor=WORKER_ID, proposal_id=prop.id, side="offer", decision="accept")
    with pytest.raises(Conflict):
        rpc.decide(actor=WORKER_ID, proposal_id=prop.id, side="offer", decision="decline",
                   reason="改变主意")  # changing one's mind
    rpc.decide(actor=WORKER_ID, proposal_id=prop.id, side="need", decision="accept")
    with pytest.raises(ValidationFailed) as err:
        rpc.fulfil(actor=WORKER_ID, proposal_id=prop.id, delivered_quantity=61)
    assert err.value.fields[0]["field"] == "delivered_quantity"
    rpc.fulfil(actor=WORKER_ID, proposal_id=prop.id, delivered_quantity=60)
    with pytest.raises(Conflict):
        rpc.fulfil(actor=WORKER_ID, proposal_id=prop.id, delivered_quantity=60)           # a second fulfilment, new request id
    assert rpc.list_needs(status="met").needs[0].id == "ND-PLANTS"
    assert rpc.ledger(level="district").total == Decimal("12000.00")
    with pytest.raises(NotFound):
        rpc.decide(actor=WORKER_ID, proposal_id="NO-SUCH", side="offer", decision="accept")


def test_bad_input_names_the_field_and_writes_nothing(matching):
    rpc = matching.rpc.matching
    cases = [
        (plants_offer(quantity=-5), "offers.0.quantity"),
        (plants_offer(unit="斤"), "offers.0.unit"),
        (plants_offer(available_from="2027-05-01", available_until="2027-04-01"), "offers.0.available_until"),
        (plants_offer(category="spaceships"), "offers.0.category"),
        (plants_offer(title="闲置物品", description=""), "offers.0.category"),
        (plants_offer(available_until=(TODAY - timedelta(days=1)).isoformat()), "offers.0.available_until"),
    ]
    for bad, field in cases:
        with pytest.raises(ValidationFailed) as err:
            rpc.add_offers(actor=WORKER_ID, offers=[plants_offer(id="OF-GOOD"), bad])
        assert [f["field"] for f in err.value.fields] == [field.replace("offers.0", "offers.1")], bad
    with pytest.raises(ValidationFailed) as err:
        rpc.add_needs(actor=WORKER_ID, needs=[plants_need(needed_from=SOON, needed_by=TODAY.isoformat())])
    assert [f["field"] for f in err.value.fields] == ["needs.0.needed_by"]
    with pytest.raises(ValidationFailed) as err:
        rpc.add_needs(actor=WORKER_ID, needs=[plants_need(quantity=0, unit="furlong")])
    assert {f["field"] for f in err.value.fields} == {"needs.0.quantity", "needs.0.unit"}
    with pytest.raises(NotFound) as err:
        rpc.add_offers(actor=WORKER_ID, offers=[plants_offer(provider_id="ENT-NOPE")])
    assert err.value.details["field"] == "offers.0.provider_id"
    with pytest.raises(NotFound) as err:
        rpc.add_needs(actor=WORKER_ID, needs=[plants_need(requester_id="NO-COMPLEX")])
    assert err.value.details["field"] == "needs.0.requester_id"
    assert rpc.list_offers(status=None).total == 0 and rpc.list_needs(status=None).total == 0

    rpc.add_offers(actor=WORKER_ID, offers=[plants_offer()])
    with pytest.raises(Conflict):
        rpc.add_offers(actor=WORKER_ID, offers=[plants_offer()])                         # the id is taken
