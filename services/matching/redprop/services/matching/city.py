"""City-wide matching (the city release): a pool of the districts' open remainders, matched across
district lines.

The pool is fed by the districts' federated events: ``offers_added``/``needs_added`` carry the records,
``remainder_changed`` what is left of each (absolute values). Every entry is keyed by its own district
code, and remembers when the newest event applied to it happened, so a duplicated, replayed or
reordered event never double-counts nor reopens what a district closed.

A run solves the same min-cost flow as a district, over the whole pool, but only pairs whose offer and
need lie in different districts are candidates (a district matches its own). Open city proposals hold
their quantity in the pool until the record closes or the hand-over window passes.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from redprop.clock import utcnow
from redprop.contracts import matching as c
from redprop.services.matching import candidates, optimiser, planner
from redprop.services.matching import models as m
from redprop.services.matching.scorers import PairScorer

Key = tuple[str, str, str]  # (district, side, id)


# -- the pool ------------------------------------------------------------------------------------


def _existing(db: Session, district: str, side: str, ids: Sequence[str]) -> dict[str, object]:
    t = m.city_pool.c
    return {r.id: r for r in db.execute(select(m.city_pool).where(
        t.district == district, t.side == side, t.id.in_(list(ids))))} if ids else {}


def add_records(db: Session, city: str, side: str, district: str, records: Sequence,
                occurred_at: datetime) -> list[str]:
    """Pool a district's new offers or needs; returns the city proposals that expired as a result."""
    if district == city or not records:
        return []
    now = utcnow()
    t = m.city_pool.c
    known = _existing(db, district, side, [r.id for r in records])
    changed = 0
    for rec in records:
        left = rec.available_quantity if side == "offer" else rec.open_quantity
        values = dict(category=rec.category, status=rec.status, open_quantity=left,
                      record=rec.model_dump(mode="json"), as_of=occurred_at, updated_at=now)
        row = known.get(rec.id)
        if row is None:
            db.execute(m.city_pool.insert().values(district=district, side=side, id=rec.id, **values))
        elif occurred_at > row.as_of:
            db.execute(update(m.city_pool).where(t.district == district, t.side == side, t.id == rec.id)
                       .values(**values))
        else:
            continue  # a replay, or older than what we know
        changed += 1
    return _close_proposals(db, city) if changed else []


def apply_remainder(db: Session, city: str, evt: c.RemainderChanged) -> list[str]:
    """What is left of a district's offers and needs; unknown entries are skipped (their records come
    with ``offers_added``/``needs_added``, which a 1.0 district does not send). Returns the city
    proposals that expired as a result."""
    if evt.district == city:
        return []
    now = utcnow()
    t = m.city_pool.c
    changed = 0
    for side in ("offer", "need"):
        entries = [e for e in evt.entries if e.side == side]
        known = _existing(db, evt.district, side, [e.id for e in entries])
        for entry in entries:
            row = known.get(entry.id)
            if row is None or evt.occurred_at <= row.as_of:
                continue
            values = dict(status=entry.status, open_quantity=entry.open_quantity, as_of=evt.occurred_at,
                          updated_at=now)
            if side == "offer" and entry.until is not None:
                values["record"] = {**row.record, "leaves_on": entry.until.isoformat()}
            db.execute(update(m.city_pool).where(t.district == evt.district, t.side == side, t.id == entry.id)
                       .values(**values))
            changed += 1
    return _close_proposals(db, city) if changed else []


#: An accepted pair survives its record being met or exhausted (its own delivery may have done that,
#: and the news can overtake the delivery); it expires only when the record ends without it.
ENDED = ("withdrawn", "expired", "cancelled", "lapsed")


def _close_proposals(db: Session, city: str, as_of: date | None = None) -> list[str]:
    """Proposed city pairs whose offer or need is no longer open (or whose window passed) expire;
    accepted ones when the offer or need ended."""
    p = m.city_proposals.c
    rows = db.execute(select(m.city_proposals).where(
        p.district == city, p.status.in_(("proposed", "accepted")))).all()
    if not rows:
        return []
    status = {(r.district, r.side, r.id): r.status for r in db.execute(
        select(m.city_pool.c.district, m.city_pool.c.side, m.city_pool.c.id, m.city_pool.c.status))}

    def ends(r) -> bool:
        sides = (status.get((r.offer_district, "offer", r.offer_id)), status.get((r.need_district, "need", r.need_id)))
        if r.status == "accepted":
            return any(s in ENDED for s in sides)
        return any(s != "open" for s in sides) or \
            (as_of is not None and date.fromisoformat(r.explanation["feasible_until"]) < as_of)

    ended = [r.id for r in rows if ends(r)]
    if ended:
        db.execute(update(m.city_proposals).where(p.district == city, p.id.in_(ended))
                   .values(status="expired", updated_at=utcnow()))
    return ended


def held(db: Session, city: str) -> dict[Key, int]:
    """What open city proposals hold of each pool entry, and fulfilled ones delivered (the districts'
    remainders leave city pairs out)."""
    p = m.city_proposals.c
    out: dict[Key, int] = defaultdict(int)
    for r in db.execute(select(p.offer_district, p.offer_id, p.need_district, p.need_id, p.quantity, p.status,
                               p.delivered_quantity).where(
            p.district == city, p.status.in_(("proposed", "accepted", "fulfilled")))):
        used = (r.delivered_quantity or 0) if r.status == "fulfilled" else r.quantity
        out[(r.offer_district, "offer", r.offer_id)] += used
        out[(r.need_district, "need", r.need_id)] += used
    return out


def declined_pairs(db: Session, city: str) -> set[tuple[str, str]]:
    """Pairs (as run ids ``district:id``) that either side declined: never proposed again."""
    p = m.city_proposals.c
    return {(f"{r.offer_district}:{r.offer_id}", f"{r.need_district}:{r.need_id}") for r in db.execute(
        select(p.offer_district, p.offer_id, p.need_district, p.need_id).where(
            p.district == city, or_(p.offer_decision == "decline", p.need_decision == "decline")))}


def pool(db: Session, city: str, request: c.CityPoolRequest) -> c.CityPoolReply:
    t = m.city_pool.c
    cond = []
    if request.open_only:
        cond += [t.status == "open", t.open_quantity > 0]
    if request.side:
        cond.append(t.side == request.side)
    if request.district:
        cond.append(t.district == request.district)
    total = db.execute(select(func.count()).select_from(m.city_pool).where(*cond)).scalar_one()
    rows = db.execute(select(m.city_pool).where(*cond).order_by(t.district, t.side, t.id)
                      .limit(request.limit).offset(request.offset)).all()
    holds = held(db, city)
    return c.CityPoolReply(total=total, entries=[c.CityPoolEntry(
        district=r.district, side=r.side, id=r.id, category=r.category, title=r.record["title"], status=r.status,
        open_quantity=r.open_quantity, held_quantity=holds.get((r.district, r.side, r.id), 0),
        base_unit=r.record["base_unit"], lat=r.record.get("lat"), lon=r.record.get("lon"), as_of=r.as_of)
        for r in rows])


# -- a run ---------------------------------------------------------------------------------------


def _as_row(pool_row) -> SimpleNamespace:
    """The pooled record with the attributes the district planner reads (id made unique city-wide)."""
    model = c.OfferRecord if pool_row.side == "offer" else c.NeedRecord
    rec = model.model_validate(pool_row.record)
    return SimpleNamespace(**{**rec.__dict__, "id": f"{pool_row.district}:{pool_row.id}",
                              "base_quantity": rec.quantity * c.UNITS[rec.unit][1]})


def run(db: Session, city: str, request: c.RunCityMatchingRequest, scorers: Sequence[PairScorer],
        today: date) -> tuple[c.RunCityMatchingReply, list]:
    started = time.perf_counter()
    as_of = request.as_of or today
    run_id = f"CITY-{uuid.uuid4().hex[:12]}"
    expired = _close_proposals(db, city, as_of)
    t = m.city_pool.c
    rows = db.execute(select(m.city_pool).where(t.status == "open", t.open_quantity > 0, t.district != city)
                      .order_by(t.district, t.side, t.id)).all()
    holds = held(db, city)
    offer_pool = [r for r in rows if r.side == "offer"]
    need_pool = [r for r in rows if r.side == "need"]
    offer_rows = [_as_row(r) for r in offer_pool]
    need_rows = [_as_row(r) for r in need_pool]
    offers = [planner.offer_view(a, r.open_quantity - holds.get((r.district, "offer", r.id), 0))
              for r, a in zip(offer_pool, offer_rows, strict=True)]
    needs = [planner.need_view(a, r.open_quantity - holds.get((r.district, "need", r.id), 0))
             for r, a in zip(need_pool, need_rows, strict=True)]

    cands = [x for x in candidates.generate(offers, needs, as_of=as_of, scorers=scorers,
                                            max_distance_m=request.max_distance_km * 1000,
                                            declined=declined_pairs(db, city))
             if offer_pool[x.offer].district != need_pool[x.need].district]
    cands = _best_per_need(cands, offers)
    arcs = [optimiser.Arc(x.offer, x.need, x.capacity, x.profit) for x in cands]
    solution = optimiser.solve([v.supply for v in offers], [v.demand for v in needs], arcs)

    now = utcnow()
    out: list[dict] = []
    objective = matched = Decimal("0")
    for k, flow in solution.used():
        cand = cands[k]
        offer, need = offer_pool[cand.offer], need_pool[cand.need]
        explanation = planner.explain(cand, offers[cand.offer], needs[cand.need], offer_rows[cand.offer],
                                      need_rows[cand.need], flow)
        explanation = explanation.model_copy(update={
            "summary": f"Across districts: offer {offer.id} of {offer.district}, need {need.id} of "
                       f"{need.district}. " + explanation.summary})
        out.append(dict(district=city, id=f"{run_id}-{len(out) + 1:04d}", run_id=run_id,
                        offer_district=offer.district, offer_id=offer.id, need_district=need.district,
                        need_id=need.id, quantity=flow, unit=planner.proposal_unit(need.record["unit"]),
                        status="proposed", explanation=explanation.model_dump(mode="json"),
                        created_at=now, updated_at=now))
        objective += explanation.net_benefit
        matched += explanation.value
    if out:
        db.execute(m.city_proposals.insert(), out)
    records = [record(SimpleNamespace(**r)) for r in out]
    reply = c.RunCityMatchingReply(
        run_id=run_id, as_of=as_of, districts=sorted({r.district for r in rows}), offers_considered=len(offers),
        needs_considered=len(needs), candidates=len(cands), proposals=records, objective=objective,
        matched_value=matched, solve_seconds=round(time.perf_counter() - started, 4))
    events = [c.CityProposalsMade(district=city, run_id=run_id, proposals=records, matched_value=matched)] \
        if records else []
    return reply, status_events(db, city, expired) + events


def status_events(db: Session, city: str, ids: Sequence[str]) -> list[c.CityProposalStatusChanged]:
    """What the city tells both districts after a pair changed (decision, fulfilment, expiry)."""
    if not ids:
        return []
    p = m.city_proposals.c
    rows = db.execute(select(m.city_proposals).where(p.district == city, p.id.in_(list(ids))).order_by(p.id))
    return [c.CityProposalStatusChanged(district=city, proposal=record(r)) for r in rows]


def _best_per_need(cands: list, offers: Sequence) -> list:
    """At most ``planner.MAX_PER_NEED`` best candidates per need, as a district run keeps."""
    by_need: dict[int, list] = defaultdict(list)
    for x in cands:
        by_need[x.need].append(x)
    keep = set()
    for found in by_need.values():
        found.sort(key=lambda x: (-x.profit, offers[x.offer].id))
        keep.update(id(x) for x in found[:planner.MAX_PER_NEED])
    return [x for x in cands if id(x) in keep]


# -- city proposals, in the city and in the districts ---------------------------------------------


def record(row) -> c.CityProposalRecord:
    return c.CityProposalRecord(
        id=row.id, district=row.district, run_id=row.run_id, offer_district=row.offer_district,
        offer_id=row.offer_id, need_district=row.need_district, need_id=row.need_id, quantity=row.quantity,
        unit=row.unit, status=row.status, explanation=c.Explanation.model_validate(row.explanation),
        created_at=row.created_at, offer_decision=getattr(row, "offer_decision", None),
        need_decision=getattr(row, "need_decision", None), delivered_quantity=getattr(row, "delivered_quantity", None),
        savings=getattr(row, "savings", None), updated_at=getattr(row, "updated_at", None))


def keep_for_district(db: Session, district: str, evt: c.CityProposalsMade) -> int:
    """A district keeps the city's pairs that involve its own offers or needs (once each)."""
    mine = [x for x in evt.proposals if district in (x.offer_district, x.need_district)]
    p = m.city_proposals.c
    known = {r[0] for r in db.execute(select(p.id).where(p.district == district, p.id.in_([x.id for x in mine])))} \
        if mine else set()
    now = utcnow()
    rows = [dict(district=district, id=x.id, run_id=x.run_id, offer_district=x.offer_district, offer_id=x.offer_id,
                 need_district=x.need_district, need_id=x.need_id, quantity=x.quantity, unit=x.unit, status=x.status,
                 explanation=x.explanation.model_dump(mode="json"), created_at=x.created_at, updated_at=now)
            for x in mine if x.id not in known]
    if rows:
        db.execute(m.city_proposals.insert(), rows)
    return len(rows)


def list_proposals(db: Session, district: str, request: c.ListCityProposalsRequest) -> c.ListCityProposalsReply:
    p = m.city_proposals.c
    cond = [p.district == district]
    if request.status:
        cond.append(p.status == request.status)
    if request.district:
        cond.append(or_(p.offer_district == request.district, p.need_district == request.district))
    total = db.execute(select(func.count()).select_from(m.city_proposals).where(*cond)).scalar_one()
    rows = db.execute(select(m.city_proposals).where(*cond).order_by(p.id)
                      .limit(request.limit).offset(request.offset)).all()
    return c.ListCityProposalsReply(proposals=[record(r) for r in rows], total=total)
