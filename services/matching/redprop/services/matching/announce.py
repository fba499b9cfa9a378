"""What a district tells the city release: what is left of the offers and needs a command touched.

Announcements are absolute (status and open quantity now), so the city can apply them in any number
and keep the newest; they go out through the outbox with the change that caused them. They leave out
what the city's own pairs hold or delivered: the city counts those itself (city.held).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from redprop.contracts import matching as c
from redprop.services.matching import models as m
from redprop.services.matching import store


def touched(db: Session, district: str, events: Iterable) -> tuple[set[str], set[str]]:
    """The offers and needs whose remainder the given events (of one command) may have changed."""
    offer_ids: set[str] = set()
    need_ids: set[str] = set()
    proposal_ids: set[str] = set()
    for evt in events:
        if isinstance(evt, c.OffersExpired):
            offer_ids.update(evt.offer_ids)
            proposal_ids.update(evt.proposal_ids)
        elif isinstance(evt, c.ProposalsMade):
            proposal_ids.update(evt.proposal_ids)
        elif isinstance(evt, (c.ProposalDecided, c.ProposalFulfilled)):
            offer_ids.add(evt.offer_id)
            need_ids.add(evt.need_id)
    if proposal_ids:
        p = m.proposals.c
        for offer_id, need_id in db.execute(select(p.offer_id, p.need_id).where(
                p.district == district, p.id.in_(sorted(proposal_ids)))):
            offer_ids.add(offer_id)
            need_ids.add(need_id)
    return offer_ids, need_ids


def remainder(db: Session, district: str, offer_ids: Iterable[str], need_ids: Iterable[str],
              today: date) -> c.RemainderChanged | None:
    o, n = m.offers.c, m.needs.c
    offer_ids, need_ids = sorted(set(offer_ids)), sorted(set(need_ids))
    entries: list[c.PoolEntry] = []
    if offer_ids:
        rows = db.execute(select(m.offers).where(o.district == district, o.id.in_(offer_ids)).order_by(o.id)).all()
        for rec, row in zip(store.offer_records(db, district, rows, today, city=False), rows, strict=True):
            entries.append(c.PoolEntry(side="offer", id=rec.id, status=rec.status, open_quantity=rec.available_quantity,
                                       until=store.effective_end(row)))
    if need_ids:
        rows = db.execute(select(m.needs).where(n.district == district, n.id.in_(need_ids)).order_by(n.id)).all()
        for rec in store.need_records(db, district, rows, city=False):
            entries.append(c.PoolEntry(side="need", id=rec.id, status=rec.status, open_quantity=rec.open_quantity))
    return c.RemainderChanged(district=district, entries=entries) if entries else None
