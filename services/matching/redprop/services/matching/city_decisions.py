"""Deciding and fulfilling the city's pairs across district lines (since contract 1.2).

Events go both ways, as the rest of the city release does (RPC does not cross vhosts):

    district: decide_city_proposal --city_proposal_decided--> city
    city: settles the pair       --city_proposal_status--> both districts
    need's district: fulfil_city_proposal --city_proposal_fulfilled--> city --city_proposal_status--> offer's district

    proposed --both accept--> accepted --fulfil--> fulfilled
    proposed --either declines--> declined   (the pair is barred from every later city run)
    proposed/accepted --offer or need ends--> expired

A district decides only its own side. Its copy of a pair holds the quantity of its offer or need while
proposed or accepted (store.city_usage). Each side decides once. The city records a side's first decision
and ignores repeats, and a decline bars the pair whenever it arrives. A district applies a status only
if it moves the pair forward (``RANK``). So duplicated, replayed or reordered events change nothing.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from redprop.clock import utcnow
from redprop.contracts import matching as c
from redprop.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from redprop.services.matching import models as m
from redprop.services.matching import store
from redprop.services.matching.city import record, status_events
from redprop.services.matching.planner import mark_dirty

log = logging.getLogger(__name__)
CENT = Decimal("0.01")
#: How far along a pair is; a district applies the city's status only if it is further along.
RANK = {"proposed": 0, "accepted": 1, "declined": 2, "expired": 2, "fulfilled": 3}


def get(db: Session, district: str, proposal_id: str, lock: bool = False):
    p = m.city_proposals.c
    q = select(m.city_proposals).where(p.district == district, p.id == proposal_id)
    row = db.execute(q.with_for_update() if lock else q).first()
    if row is None:
        raise NotFound.entity("city proposal", proposal_id, "city_proposal_id")
    return row


def _reply(db: Session, district: str, proposal_id: str, changed: bool = True) -> c.CityProposalReply:
    return c.CityProposalReply(proposal=record(get(db, district, proposal_id)), changed=changed)


def _set(db: Session, district: str, proposal_id: str, **values) -> None:
    p = m.city_proposals.c
    db.execute(update(m.city_proposals).where(p.district == district, p.id == proposal_id)
               .values(updated_at=utcnow(), **values))


def _own(row, district: str) -> tuple[set[str], set[str]]:
    """This district's offer and need ids in the pair."""
    return ({row.offer_id} if row.offer_district == district else set(),
            {row.need_id} if row.need_district == district else set())


# -- in a district ---------------------------------------------------------------------------------


def decide(db: Session, district: str, request: c.DecideCityProposalRequest,
           today: date) -> tuple[c.CityProposalReply, list]:
    row = get(db, district, request.city_proposal_id, lock=True)
    owner = row.offer_district if request.side == "offer" else row.need_district
    if owner != district:
        raise PermissionDenied(f"the {request.side} of city proposal {row.id!r} belongs to district {owner}; "
                               f"this is {district}", {"field": "side", "district": owner})
    decision = "accept" if request.accept else "decline"
    column = f"{request.side}_decision"
    previous = getattr(row, column)
    if previous == decision:
        return _reply(db, district, row.id, changed=False), []
    if previous is not None:
        raise Conflict(f"the {request.side} side already {previous}ed city proposal {row.id!r}",
                       {"city_proposal_id": row.id, "side": request.side, "decision": previous})
    if row.status != "proposed":
        raise Conflict(f"city proposal {row.id!r} is {row.status}; it cannot be {decision}ed now",
                       {"city_proposal_id": row.id, "status": row.status})
    values: dict = {column: decision}
    if request.accept:
        _check_still_available(db, district, row, request.side, today)
    else:
        # Final at once: the hold is released here; the city will agree (a decline always wins).
        values["status"] = "declined"
        offer_ids, need_ids = _own(row, district)
        mark_dirty(db, district, offer_ids=offer_ids, need_ids=need_ids)
    _set(db, district, row.id, **values)
    event = c.CityProposalDecided(district=district, city_proposal_id=row.id, side=request.side,
                                  accept=request.accept, actor=request.actor, reason=request.reason)
    return _reply(db, district, row.id), [event]


def _check_still_available(db: Session, district: str, row, side: str, today: date) -> None:
    """The pair may have reached the district after it proposed the same quantity at home."""
    if side == "offer":
        rec = store.get_offer(db, district, row.offer_id)
        used = store.offer_usage(db, district, [rec], today)[rec.id]
        end = store.effective_end(rec)
        late = end is not None and end < today
    else:
        rec = store.get_need(db, district, row.need_id)
        used = store.need_usage(db, district, [rec.id])[rec.id]
        late = rec.needed_by < today
    if rec.status != "open" or late:
        raise Conflict(f"city proposal {row.id!r} can no longer be accepted: the {side} is "
                       f"{'past its date' if late else rec.status}", {"city_proposal_id": row.id})
    if used > rec.base_quantity:
        raise Conflict(f"city proposal {row.id!r} can no longer be accepted: {side} {rec.id!r} is promised "
                       f"{used} of {rec.base_quantity}", {"city_proposal_id": row.id, "used": used})


def fulfil(db: Session, district: str, request: c.FulfilCityProposalRequest,
           today: date) -> tuple[c.CityProposalReply, list]:
    """The need's district records the delivery, as ``lifecycle.fulfil`` does at home: the pair's savings
    go to the need's complex, community and district in this district's ledger."""
    row = get(db, district, request.city_proposal_id, lock=True)
    if row.need_district != district:
        raise PermissionDenied(f"the need's district ({row.need_district}) records the delivery of city "
                               f"proposal {row.id!r}", {"field": "city_proposal_id", "district": row.need_district})
    if row.status != "accepted":
        raise Conflict(f"city proposal {row.id!r} is {row.status}; only an accepted one can be fulfilled",
                       {"city_proposal_id": row.id, "status": row.status})
    if request.delivered_quantity > row.quantity:
        raise ValidationFailed.for_field(
            "delivered_quantity", f"more than the proposed {row.quantity} {row.unit}", "too_much")
    delivered_on = request.delivered_on or today
    unit_value = Decimal(str(row.explanation["unit_value"]))
    savings = (unit_value * request.delivered_quantity).quantize(CENT, rounding=ROUND_HALF_UP)
    _set(db, district, row.id, status="fulfilled", delivered_quantity=request.delivered_quantity, savings=savings)
    need = store.get_need(db, district, row.need_id)
    db.execute(m.ledger.insert().values(
        district=district, proposal_id=row.id, need_id=need.id, offer_id=row.offer_id,
        complex_id=need.complex_id, community_id=need.community_id, subdistrict_id=need.subdistrict_id,
        delivered_quantity=request.delivered_quantity, value=savings, delivered_on=delivered_on,
        recorded_at=utcnow()))
    if store.delivered(db, district, need_id=need.id) >= need.base_quantity:
        db.execute(update(m.needs).where(m.needs.c.district == district, m.needs.c.id == need.id)
                   .values(status="met", updated_at=utcnow()))
    elif request.delivered_quantity < row.quantity:
        mark_dirty(db, district, need_ids={need.id})
    event = c.CityProposalFulfilled(
        district=district, city_proposal_id=row.id, offer_district=row.offer_district, offer_id=row.offer_id,
        need_id=need.id, delivered_quantity=request.delivered_quantity, savings=savings, delivered_on=delivered_on,
        complex_id=need.complex_id, community_id=need.community_id)
    return _reply(db, district, row.id), [event]


def apply_status(db: Session, district: str, evt: c.CityProposalStatusChanged, today: date) -> tuple[set[str], set[str]]:
    """A district updates its copy from the city's status. Returns its own offers and needs whose status
    the change may have closed (to announce)."""
    x = evt.proposal
    if district not in (x.offer_district, x.need_district):
        return set(), set()
    p = m.city_proposals.c
    row = db.execute(select(m.city_proposals).where(p.district == district, p.id == x.id)
                     .with_for_update()).first()
    now = utcnow()
    if row is None:  # its city_proposals_made never arrived: the status carries the whole pair
        db.execute(m.city_proposals.insert().values(
            district=district, id=x.id, run_id=x.run_id, offer_district=x.offer_district, offer_id=x.offer_id,
            need_district=x.need_district, need_id=x.need_id, quantity=x.quantity, unit=x.unit, status="proposed",
            explanation=x.explanation.model_dump(mode="json"), created_at=x.created_at, updated_at=now))
        row = get(db, district, x.id)
    values = {k: getattr(x, k) for k in ("offer_decision", "need_decision") if getattr(row, k) is None
              and getattr(x, k) is not None}
    forward = RANK[x.status] > RANK[row.status]
    if forward:
        values["status"] = x.status
        if x.status == "fulfilled":
            values.update(delivered_quantity=x.delivered_quantity, savings=x.savings)
    if values:
        _set(db, district, row.id, **values)
    if not forward:
        return set(), set()
    offer_ids, need_ids = _own(row, district)
    if x.status in ("declined", "expired"):
        mark_dirty(db, district, offer_ids=offer_ids, need_ids=need_ids)  # the hold is released
    if x.status == "fulfilled" and offer_ids:
        offer = store.get_offer(db, district, row.offer_id)
        if offer.recurrence == "none" and store.delivered(db, district, offer_id=offer.id) >= offer.base_quantity:
            db.execute(update(m.offers).where(m.offers.c.district == district, m.offers.c.id == offer.id)
                       .values(status="exhausted", updated_at=now))
            return offer_ids, set()
        if (x.delivered_quantity or 0) < x.quantity:
            mark_dirty(db, district, offer_ids=offer_ids)
    return set(), set()


# -- in the city -----------------------------------------------------------------------------------


def _city_row(db: Session, city: str, proposal_id: str):
    p = m.city_proposals.c
    return db.execute(select(m.city_proposals).where(p.district == city, p.id == proposal_id)
                      .with_for_update()).first()


def apply_decision(db: Session, city: str, evt: c.CityProposalDecided) -> list:
    """The city records a side's decision (once), settles the pair and tells both districts."""
    row = _city_row(db, city, evt.city_proposal_id)
    if row is None:
        log.warning("decision on unknown city proposal %s from %s ignored", evt.city_proposal_id, evt.district)
        return []
    owner = row.offer_district if evt.side == "offer" else row.need_district
    if evt.district != owner:
        log.warning("district %s may not decide the %s of city proposal %s (%s's): ignored",
                    evt.district, evt.side, row.id, owner)
        return []
    column = f"{evt.side}_decision"
    if getattr(row, column) is not None:
        return []  # a repeat; each side decides once
    decision = "accept" if evt.accept else "decline"
    values: dict = {column: decision}
    other = row.need_decision if evt.side == "offer" else row.offer_decision
    # A decision that arrives after the pair expired is still recorded: a decline bars the pair anyway.
    if row.status == "proposed":
        if decision == "decline":
            values["status"] = "declined"
        elif other == "accept":
            values["status"] = "accepted"
    _set(db, city, row.id, **values)
    return status_events(db, city, [row.id])


def apply_fulfilment(db: Session, city: str, evt: c.CityProposalFulfilled) -> list:
    row = _city_row(db, city, evt.city_proposal_id)
    if row is None or evt.district != row.need_district:
        log.warning("fulfilment of city proposal %s from %s ignored", evt.city_proposal_id, evt.district)
        return []
    accepted = row.offer_decision == "accept" and row.need_decision == "accept"
    if row.status == "fulfilled" or not accepted:
        return []
    # Also from expired: the goods arrived whatever the pool heard meanwhile.
    _set(db, city, row.id, status="fulfilled", delivered_quantity=evt.delivered_quantity, savings=evt.savings)
    return status_events(db, city, [row.id])
