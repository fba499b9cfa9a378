"""Proposals after a run: decisions by both sides, fulfilment and the savings ledger, withdrawal,
cancellation and providers leaving.

    proposed --both accept--> accepted --fulfil--> fulfilled
    proposed --either declines--> declined   (the pair is barred from every later run)
    proposed/accepted --offer ends, need lapses, withdrawn, cancelled--> expired

Any other transition is a Conflict. Repeating a decision already recorded changes nothing.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from redprop.clock import utcnow
from redprop.contracts import matching as c
from redprop.errors import Conflict, ValidationFailed
from redprop.services.matching import models as m
from redprop.services.matching import store
from redprop.services.matching.planner import expire_proposals, mark_dirty

CENT = Decimal("0.01")


def _reply(db: Session, district: str, proposal_id: str, changed: bool = True) -> c.ProposalReply:
    return c.ProposalReply(proposal=store.proposal_record(store.get_proposal(db, district, proposal_id)),
                           changed=changed)


def decide(db: Session, district: str, request: c.DecideRequest, today: date) -> tuple[c.ProposalReply, list]:
    prop = store.get_proposal(db, district, request.proposal_id, lock=True)
    column = f"{request.side}_decision"
    previous = getattr(prop, column)
    if prop.status in ("declined", "expired", "fulfilled"):
        if previous == request.decision:
            return _reply(db, district, prop.id, changed=False), []
        raise Conflict(f"proposal {prop.id!r} is {prop.status}; it cannot be {request.decision}ed now",
                       {"proposal_id": prop.id, "status": prop.status})
    if previous is not None:
        if previous == request.decision:
            return _reply(db, district, prop.id, changed=False), []
        raise Conflict(f"the {request.side} side already {previous}ed proposal {prop.id!r}",
                       {"proposal_id": prop.id, "side": request.side, "decision": previous})
    now = utcnow()
    values: dict = {column: request.decision, "updated_at": now}
    if request.decision == "decline":
        values["status"] = "declined"
        db.execute(m.declined_pairs.insert().values(
            district=district, offer_id=prop.offer_id, need_id=prop.need_id, proposal_id=prop.id,
            declined_by=request.side, reason=request.reason, declined_at=now))
        mark_dirty(db, district, offer_ids={prop.offer_id}, need_ids={prop.need_id})
    else:
        offer = store.get_offer(db, district, prop.offer_id)
        need = store.get_need(db, district, prop.need_id)
        if offer.status != "open" or need.status != "open":
            raise Conflict(f"proposal {prop.id!r} can no longer be accepted: the offer is {offer.status}, "
                           f"the need is {need.status}", {"proposal_id": prop.id})
        end = store.effective_end(offer)
        if (end is not None and end < today) or need.needed_by < today:
            raise Conflict(f"proposal {prop.id!r} has run out of time (offer until {end}, needed by "
                           f"{need.needed_by})", {"proposal_id": prop.id})
        other = prop.need_decision if request.side == "offer" else prop.offer_decision
        if other == "accept":
            values["status"] = "accepted"
    db.execute(update(m.proposals).where(m.proposals.c.district == district, m.proposals.c.id == prop.id)
               .values(**values))
    reply = _reply(db, district, prop.id)
    event = c.ProposalDecided(district=district, proposal_id=prop.id, offer_id=prop.offer_id, need_id=prop.need_id,
                              side=request.side, decision=request.decision, status=reply.proposal.status)
    return reply, [event]


def fulfil(db: Session, district: str, request: c.FulfilRequest, today: date) -> tuple[c.ProposalReply, list]:
    prop = store.get_proposal(db, district, request.proposal_id, lock=True)
    if prop.status != "accepted":
        raise Conflict(f"proposal {prop.id!r} is {prop.status}; only an accepted proposal can be fulfilled",
                       {"proposal_id": prop.id, "status": prop.status})
    if request.delivered_quantity > prop.quantity:
        raise ValidationFailed.for_field(
            "delivered_quantity", f"more than the proposed {prop.quantity} {prop.unit}", "too_much")
    delivered_on = request.delivered_on or today
    savings = (prop.unit_value * request.delivered_quantity).quantize(CENT, rounding=ROUND_HALF_UP)
    now = utcnow()
    db.execute(update(m.proposals).where(m.proposals.c.district == district, m.proposals.c.id == prop.id).values(
        status="fulfilled", delivered_quantity=request.delivered_quantity, savings=savings, updated_at=now))
    need = store.get_need(db, district, prop.need_id)
    db.execute(m.ledger.insert().values(
        district=district, proposal_id=prop.id, need_id=prop.need_id, offer_id=prop.offer_id,
        complex_id=need.complex_id, community_id=need.community_id, subdistrict_id=need.subdistrict_id,
        delivered_quantity=request.delivered_quantity, value=savings, delivered_on=delivered_on, recorded_at=now))
    # Close what is used up; an under-delivery frees the rest for the next run.
    if store.delivered(db, district, need_id=need.id) >= need.base_quantity:
        db.execute(update(m.needs).where(m.needs.c.district == district, m.needs.c.id == need.id)
                   .values(status="met", updated_at=now))
    offer = store.get_offer(db, district, prop.offer_id)
    if offer.recurrence == "none" and store.delivered(db, district, offer_id=offer.id) >= offer.base_quantity:
        db.execute(update(m.offers).where(m.offers.c.district == district, m.offers.c.id == offer.id)
                   .values(status="exhausted", updated_at=now))
    if request.delivered_quantity < prop.quantity:
        mark_dirty(db, district, offer_ids={prop.offer_id}, need_ids={prop.need_id})
    event = c.ProposalFulfilled(district=district, proposal_id=prop.id, offer_id=prop.offer_id, need_id=prop.need_id,
                                delivered_quantity=request.delivered_quantity, savings=savings,
                                complex_id=need.complex_id, community_id=need.community_id,
                                provider_id=offer.provider_id, provider_kind=offer.provider_kind)
    return _reply(db, district, prop.id), [event]


def _open_proposals(db: Session, district: str, *, offer_ids=(), need_ids=()):
    p = m.proposals.c
    return db.execute(select(p.id, p.offer_id, p.need_id).where(
        p.district == district, p.status.in_(store.HOLDING),
        or_(p.offer_id.in_(list(offer_ids) or [""]), p.need_id.in_(list(need_ids) or [""])))).all()


def withdraw_offer(db: Session, district: str, offer_id: str, today: date) -> tuple[c.OfferReply, list]:
    offer = store.get_offer(db, district, offer_id, lock=True)
    if offer.status != "open":
        raise Conflict(f"offer {offer_id!r} is {offer.status}", {"offer_id": offer_id, "status": offer.status})
    db.execute(update(m.offers).where(m.offers.c.district == district, m.offers.c.id == offer_id)
               .values(status="withdrawn", updated_at=utcnow()))
    expired = expire_proposals(db, district, _open_proposals(db, district, offer_ids=[offer_id]))
    row = store.get_offer(db, district, offer_id)
    events = [c.OffersExpired(district=district, offer_ids=[offer_id], proposal_ids=expired)]
    return c.OfferReply(offer=store.offer_records(db, district, [row], today)[0]), events


def cancel_need(db: Session, district: str, need_id: str) -> tuple[c.NeedReply, list]:
    need = store.get_need(db, district, need_id, lock=True)
    if need.status != "open":
        raise Conflict(f"need {need_id!r} is {need.status}", {"need_id": need_id, "status": need.status})
    db.execute(update(m.needs).where(m.needs.c.district == district, m.needs.c.id == need_id)
               .values(status="cancelled", updated_at=utcnow()))
    expire_proposals(db, district, _open_proposals(db, district, need_ids=[need_id]))
    row = store.get_need(db, district, need_id)
    return c.NeedReply(need=store.need_records(db, district, [row])[0]), []


def provider_leaves(db: Session, district: str, request: c.ProviderLeavesRequest,
                    today: date) -> tuple[c.ProviderLeavesReply, list]:
    as_of = request.as_of or today
    o = m.offers.c
    rows = db.execute(select(m.offers).where(o.district == district, o.provider_id == request.provider_id,
                                             o.status == "open").order_by(o.id)).all()
    now = utcnow()
    ended, expired = [], []
    for row in rows:
        leaves_on = min(request.on, row.leaves_on) if row.leaves_on else request.on
        values = {"leaves_on": leaves_on, "dirty": True, "updated_at": now}
        if leaves_on <= as_of:
            values["status"] = "expired"
            expired.append(row.id)
        else:
            ended.append(row.id)
        db.execute(update(m.offers).where(o.district == district, o.id == row.id).values(**values))
    proposals = expire_proposals(db, district, _open_proposals(db, district, offer_ids=expired)) if expired else []
    events = [c.OffersExpired(district=district, offer_ids=expired, proposal_ids=proposals)] if expired else []
    return c.ProviderLeavesReply(offers_ended=ended, offers_expired=expired, proposals_expired=proposals), events
