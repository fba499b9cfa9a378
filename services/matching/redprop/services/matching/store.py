"""Reading the lists: rows to contract records, and what is still available of each offer and need.

Availability is derived: an offer's base quantity minus what open proposals hold and what was
delivered (for a recurring offer, only in the current period); a need's likewise. The city's pairs that
a district keeps count too (``city_usage``), so a district does not propose at home what the city holds;
but what a district announces to the city leaves them out (``city=False``): the city counts its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from redprop.contracts import matching as c
from redprop.errors import NotFound
from redprop.services.matching import models as m

HOLDING = ("proposed", "accepted")


def period_key(recurrence: str, day: date) -> str | None:
    if recurrence == "weekly":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if recurrence == "monthly":
        return f"{day.year}-{day.month:02d}"
    return None


def effective_end(row) -> date | None:
    ends = [d for d in (row.available_until, row.leaves_on) if d is not None]
    return min(ends) if ends else None


def _used():
    p = m.proposals.c
    return func.coalesce(func.sum(case(
        (p.status.in_(HOLDING), p.quantity),
        (p.status == "fulfilled", func.coalesce(p.delivered_quantity, 0)),
        else_=0)), 0)


def city_usage(db: Session, district: str, side: str, ids: list[str]) -> dict[str, list[tuple[date, int]]]:
    """id -> (day proposed, base units held or delivered) of each city pair on this district's ``side``."""
    p = m.city_proposals.c
    own, key = (p.offer_district, p.offer_id) if side == "offer" else (p.need_district, p.need_id)
    out: dict[str, list[tuple[date, int]]] = {}
    for chunk in range(0, len(ids), 900):
        for rid, created, status, quantity, done in db.execute(
                select(key, p.created_at, p.status, p.quantity, p.delivered_quantity).where(
                    p.district == district, own == district, key.in_(ids[chunk:chunk + 900]))):
            used = quantity if status in HOLDING else (done or 0) if status == "fulfilled" else 0
            if used:
                out.setdefault(rid, []).append((created.date(), used))
    return out


def offer_usage(db: Session, district: str, offer_rows: Iterable, as_of: date,
                city: bool = True) -> dict[str, int]:
    """offer id -> base units held or delivered (recurring offers: in the current period only)."""
    rows = list(offer_rows)
    if not rows:
        return {}
    p = m.proposals.c
    ids = [r.id for r in rows]
    used: dict[str, int] = {}
    for chunk in range(0, len(ids), 900):
        part = ids[chunk:chunk + 900]
        for offer_id, period, total in db.execute(
                select(p.offer_id, p.period, _used()).where(p.district == district, p.offer_id.in_(part))
                .group_by(p.offer_id, p.period)):
            used.setdefault(offer_id, {})[period] = int(total)
    by_city = city_usage(db, district, "offer", ids) if city else {}
    out = {}
    for r in rows:
        per = used.get(r.id, {})
        key = period_key(r.recurrence, as_of)
        out[r.id] = per.get(key, 0) if key is not None else sum(per.values())
        out[r.id] += sum(q for day, q in by_city.get(r.id, ()) if period_key(r.recurrence, day) == key)
    return out


def need_usage(db: Session, district: str, need_ids: list[str], city: bool = True) -> dict[str, int]:
    p = m.proposals.c
    out: dict[str, int] = {}
    for chunk in range(0, len(need_ids), 900):
        part = need_ids[chunk:chunk + 900]
        for need_id, total in db.execute(select(p.need_id, _used()).where(
                p.district == district, p.need_id.in_(part)).group_by(p.need_id)):
            out[need_id] = int(total)
    if city:
        for need_id, used in city_usage(db, district, "need", need_ids).items():
            out[need_id] = out.get(need_id, 0) + sum(q for _, q in used)
    return out


def delivered(db: Session, district: str, *, offer_id: str | None = None, need_id: str | None = None) -> int:
    p = m.proposals.c
    cond = [p.district == district, p.status == "fulfilled"]
    if offer_id is not None:
        cond.append(p.offer_id == offer_id)
    if need_id is not None:
        cond.append(p.need_id == need_id)
    local = int(db.execute(select(func.coalesce(func.sum(p.delivered_quantity), 0)).where(and_(*cond))).scalar_one())
    cp = m.city_proposals.c
    cond = [cp.district == district, cp.status == "fulfilled"]
    if offer_id is not None:
        cond += [cp.offer_district == district, cp.offer_id == offer_id]
    if need_id is not None:
        cond += [cp.need_district == district, cp.need_id == need_id]
    city = db.execute(select(func.coalesce(func.sum(cp.delivered_quantity), 0)).where(and_(*cond))).scalar_one()
    return local + int(city)


# -- records -------------------------------------------------------------------------------------


def offer_record(row, available: int) -> c.OfferRecord:
    return c.OfferRecord(
        id=row.id, district=row.district, kind=row.kind, provider_id=row.provider_id,
        provider_kind=row.provider_kind, provider_name=row.provider_name, title=row.title,
        description=row.description, category=row.category, category_source=row.category_source,
        quantity=row.quantity, unit=row.unit, condition=row.condition, estimated_value=row.estimated_value,
        lat=row.lat, lon=row.lon, complex_id=row.complex_id, available_from=row.available_from,
        available_until=row.available_until, leaves_on=row.leaves_on, pickup_constraints=row.pickup_constraints,
        skill=row.skill, weekdays=row.weekdays, recurrence=row.recurrence,
        transport_cost_per_km=row.transport_cost_per_km, status=row.status,
        available_quantity=max(0, available) if row.status == "open" else 0,
        base_unit=c.BASE_UNIT[c.UNITS[row.unit][0]], created_at=row.created_at)


def need_record(row, open_quantity: int) -> c.NeedRecord:
    return c.NeedRecord(
        id=row.id, district=row.district, requester_kind=row.requester_kind, requester_id=row.requester_id,
        complex_id=row.complex_id, community_id=row.community_id, subdistrict_id=row.subdistrict_id,
        title=row.title, description=row.description, category=row.category, category_source=row.category_source,
        kind=row.kind, quantity=row.quantity, unit=row.unit, priority=row.priority, needed_from=row.needed_from,
        needed_by=row.needed_by, budget_estimate=row.budget_estimate, lat=row.lat, lon=row.lon, notes=row.notes,
        status=row.status, open_quantity=max(0, open_quantity) if row.status == "open" else 0,
        base_unit=c.BASE_UNIT[c.UNITS[row.unit][0]], created_at=row.created_at)


def proposal_record(row) -> c.ProposalRecord:
    return c.ProposalRecord(
        id=row.id, district=row.district, run_id=row.run_id, offer_id=row.offer_id, need_id=row.need_id,
        quantity=row.quantity, unit=row.unit, status=row.status, offer_decision=row.offer_decision,
        need_decision=row.need_decision, delivered_quantity=row.delivered_quantity, savings=row.savings,
        explanation=c.Explanation.model_validate(row.explanation), created_at=row.created_at,
        updated_at=row.updated_at)


def get_offer(db: Session, district: str, offer_id: str, field: str = "offer_id", lock: bool = False):
    q = select(m.offers).where(m.offers.c.district == district, m.offers.c.id == offer_id)
    row = db.execute(q.with_for_update() if lock else q).first()
    if row is None:
        raise NotFound.entity("offer", offer_id, field)
    return row


def get_need(db: Session, district: str, need_id: str, field: str = "need_id", lock: bool = False):
    q = select(m.needs).where(m.needs.c.district == district, m.needs.c.id == need_id)
    row = db.execute(q.with_for_update() if lock else q).first()
    if row is None:
        raise NotFound.entity("need", need_id, field)
    return row


def get_proposal(db: Session, district: str, proposal_id: str, lock: bool = False):
    q = select(m.proposals).where(m.proposals.c.district == district, m.proposals.c.id == proposal_id)
    row = db.execute(q.with_for_update() if lock else q).first()
    if row is None:
        raise NotFound.entity("proposal", proposal_id, "proposal_id")
    return row


def offer_records(db: Session, district: str, rows: list, as_of: date, city: bool = True) -> list[c.OfferRecord]:
    usage = offer_usage(db, district, rows, as_of, city)
    return [offer_record(r, r.base_quantity - usage.get(r.id, 0)) for r in rows]


def need_records(db: Session, district: str, rows: list, city: bool = True) -> list[c.NeedRecord]:
    usage = need_usage(db, district, [r.id for r in rows], city)
    return [need_record(r, r.base_quantity - usage.get(r.id, 0)) for r in rows]


def ledger(db: Session, district: str, level: str) -> c.LedgerReply:
    lg = m.ledger.c
    column = {"complex": lg.complex_id, "community": lg.community_id, "subdistrict": lg.subdistrict_id,
              "district": lg.district}[level]
    rows = db.execute(select(column, func.count(), func.coalesce(func.sum(lg.value), 0))
                      .where(lg.district == district).group_by(column).order_by(column)).all()
    lines = [c.LedgerLine(id=key or "unknown", fulfilments=n, delivered_value=Decimal(str(total)).quantize(Decimal("0.01")))
             for key, n, total in rows]
    total = sum((line.delivered_value for line in lines), Decimal("0.00"))
    return c.LedgerReply(district=district, level=level, lines=lines, total=total)


def received_by_community(db: Session, district: str) -> dict[str, float]:
    lg = m.ledger.c
    return {k: float(v) for k, v in db.execute(
        select(lg.community_id, func.sum(lg.value)).where(lg.district == district).group_by(lg.community_id))
        if k is not None}
