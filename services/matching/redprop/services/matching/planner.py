"""A matching run: expire what has ended, solve the affected categories, write explained proposals.

Incremental: only categories with new or changed offers and needs (the ``dirty`` flags: added,
declined, expired, under-delivered) or a recurring offer entering a new period are solved again.
Categories never share a candidate pair, so the others' previous answers still stand. Open proposals
keep holding their quantities; a run only places what is left.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from redprop.clock import utcnow
from redprop.contracts import matching as c
from redprop.services.matching import candidates, optimiser, store, text
from redprop.services.matching import models as m
from redprop.services.matching.fairness import FairnessRule
from redprop.services.matching.scorers import PairScorer
from redprop.services.matching.taxonomy import BY_ID
from redprop.services.matching.views import Candidate, NeedView, OfferView

CENT = Decimal("0.01")
#: A need keeps at most this many best candidates (bounds the graph on dense districts).
MAX_PER_NEED = 200


def money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class RunResult:
    reply: c.RunMatchingReply
    events: list = field(default_factory=list)


def offer_view(row, supply: int) -> OfferView:
    rate = row.transport_cost_per_km if row.transport_cost_per_km is not None else \
        BY_ID[row.category].transport_cost_per_km
    return OfferView(
        id=row.id, category=row.category, family=c.UNITS[row.unit][0], supply=supply, lat=row.lat, lon=row.lon,
        start=row.available_from, end=store.effective_end(row),
        weekdays=tuple(row.weekdays) if row.weekdays else None, condition=row.condition,
        unit_value=float(row.estimated_value) / row.base_quantity, transport_rate=float(rate),
        tokens=text.tokens(" ".join(filter(None, (row.title, row.skill, row.description)))),
        category_source=row.category_source)


def need_view(row, demand: int) -> NeedView:
    return NeedView(
        id=row.id, category=row.category, family=c.UNITS[row.unit][0], demand=demand, lat=row.lat, lon=row.lon,
        start=row.needed_from, end=row.needed_by, priority=row.priority,
        unit_value=float(row.budget_estimate) / row.base_quantity, community_id=row.community_id,
        tokens=text.tokens(" ".join(filter(None, (row.title, row.description, row.notes)))),
        category_source=row.category_source)


def expire(db: Session, district: str, as_of: date) -> tuple[list[str], list[str]]:
    """Offers that ended and needs past their date close, with their open proposals."""
    o, n, p = m.offers.c, m.needs.c, m.proposals.c
    now = utcnow()
    ended = [r.id for r in db.execute(select(m.offers).where(o.district == district, o.status == "open"))
             if (end := store.effective_end(r)) is not None and end < as_of]
    lapsed = [r.id for r in db.execute(select(n.id).where(
        n.district == district, n.status == "open", n.needed_by < as_of))]
    expired_proposals: list[str] = []
    if ended:
        db.execute(update(m.offers).where(o.district == district, o.id.in_(ended))
                   .values(status="expired", dirty=True, updated_at=now))
    if lapsed:
        db.execute(update(m.needs).where(n.district == district, n.id.in_(lapsed))
                   .values(status="lapsed", dirty=True, updated_at=now))
    if ended or lapsed:
        rows = db.execute(select(p.id, p.offer_id, p.need_id).where(
            p.district == district, p.status.in_(store.HOLDING),
            or_(p.offer_id.in_(ended or [""]), p.need_id.in_(lapsed or [""])))).all()
        expired_proposals = expire_proposals(db, district, rows)
    return ended, expired_proposals


def expire_proposals(db: Session, district: str, rows: Sequence) -> list[str]:
    """Close open proposals; both sides' remaining quantities are free for the next run."""
    if not rows:
        return []
    p = m.proposals.c
    now = utcnow()
    ids = [r.id for r in rows]
    db.execute(update(m.proposals).where(p.district == district, p.id.in_(ids))
               .values(status="expired", updated_at=now))
    mark_dirty(db, district, offer_ids={r.offer_id for r in rows}, need_ids={r.need_id for r in rows})
    return ids


def mark_dirty(db: Session, district: str, offer_ids=(), need_ids=()) -> None:
    if offer_ids:
        db.execute(update(m.offers).where(m.offers.c.district == district, m.offers.c.id.in_(list(offer_ids)))
                   .values(dirty=True))
    if need_ids:
        db.execute(update(m.needs).where(m.needs.c.district == district, m.needs.c.id.in_(list(need_ids)))
                   .values(dirty=True))


def categories_to_solve(db: Session, district: str, as_of: date, full: bool) -> list[str]:
    o, n = m.offers.c, m.needs.c
    if full:
        found = {r[0] for r in db.execute(select(o.category).where(o.district == district, o.status == "open"))}
        found |= {r[0] for r in db.execute(select(n.category).where(n.district == district, n.status == "open"))}
        return sorted(found)
    found = {r[0] for r in db.execute(select(o.category).where(o.district == district, o.dirty.is_(True)))}
    found |= {r[0] for r in db.execute(select(n.category).where(n.district == district, n.dirty.is_(True)))}
    for row in db.execute(select(o.category, o.recurrence, o.solved_period).where(
            o.district == district, o.status == "open", o.recurrence != "none")):
        if row.solved_period != store.period_key(row.recurrence, as_of):
            found.add(row.category)
    return sorted(found)


def run(db: Session, district: str, request: c.RunMatchingRequest, scorers: Sequence[PairScorer],
        fairness: FairnessRule, today: date) -> RunResult:
    started = time.perf_counter()
    as_of = request.as_of or today
    run_id = f"RUN-{uuid.uuid4().hex[:12]}"
    o, n = m.offers.c, m.needs.c
    ended, expired_proposals = expire(db, district, as_of)
    categories = categories_to_solve(db, district, as_of, request.full)

    # Locking the offers (PostgreSQL) serialises concurrent runs over the same categories, so two runs
    # never hand out the same quantity; the second one sees the first one's proposals.
    offer_rows = db.execute(select(m.offers).where(o.district == district, o.status == "open",
                                                   o.category.in_(categories)).order_by(o.id)
                            .with_for_update()).all() if categories else []
    need_rows = db.execute(select(m.needs).where(n.district == district, n.status == "open",
                                                 n.category.in_(categories)).order_by(n.id)).all() if categories else []
    offer_used = store.offer_usage(db, district, offer_rows, as_of)
    need_used = store.need_usage(db, district, [r.id for r in need_rows])
    offers = [offer_view(r, r.base_quantity - offer_used.get(r.id, 0)) for r in offer_rows]
    needs = [need_view(r, r.base_quantity - need_used.get(r.id, 0)) for r in need_rows]
    declined = set()
    if offer_rows and need_rows:
        d = m.declined_pairs.c
        declined = {(a, b) for a, b in db.execute(select(d.offer_id, d.need_id).where(d.district == district))}
    weights = fairness.weights({v.community_id for v in needs if v.community_id},
                               store.received_by_community(db, district)) if needs else {}

    cands = candidates.generate(offers, needs, as_of=as_of, scorers=scorers, fairness=weights,
                                max_distance_m=request.max_distance_km * 1000, declined=declined,
                                max_per_need=MAX_PER_NEED)
    arcs = [optimiser.Arc(x.offer, x.need, x.capacity, x.profit) for x in cands]
    solution = optimiser.solve([v.supply for v in offers], [v.demand for v in needs], arcs)

    now = utcnow()
    records: list[c.ProposalRecord] = []
    rows_out: list[dict] = []
    objective = Decimal("0")
    matched = Decimal("0")
    for k, flow in solution.used():
        cand = cands[k]
        offer_row, need_row = offer_rows[cand.offer], need_rows[cand.need]
        explanation = explain(cand, offers[cand.offer], needs[cand.need], offer_row, need_row, flow)
        row = dict(district=district, id=f"{run_id}-{len(rows_out) + 1:04d}", run_id=run_id,
                   offer_id=offer_row.id, need_id=need_row.id, quantity=flow,
                   unit=proposal_unit(need_row.unit), status="proposed", offer_decision=None,
                   need_decision=None, delivered_quantity=None,
                   unit_value=Decimal(str(cand.unit_value)).quantize(Decimal("0.000001")), savings=None,
                   period=store.period_key(offer_row.recurrence, as_of),
                   explanation=explanation.model_dump(mode="json"), created_at=now, updated_at=now)
        rows_out.append(row)
        objective += explanation.net_benefit
        matched += explanation.value
    if rows_out:
        db.execute(m.proposals.insert(), rows_out)
        records = [store.proposal_record(_Row(r)) for r in rows_out]
    if categories:
        db.execute(update(m.offers).where(o.district == district, o.category.in_(categories)).values(dirty=False))
        db.execute(update(m.needs).where(n.district == district, n.category.in_(categories)).values(dirty=False))
        for row in offer_rows:
            if row.recurrence != "none":
                db.execute(update(m.offers).where(and_(o.district == district, o.id == row.id))
                           .values(solved_period=store.period_key(row.recurrence, as_of)))
    seconds = time.perf_counter() - started
    db.execute(m.runs.insert().values(
        district=district, id=run_id, as_of=as_of, categories=categories, candidates=len(cands),
        proposals=len(rows_out), objective=objective, matched_value=matched, solve_seconds=seconds, created_at=now))

    reply = c.RunMatchingReply(
        run_id=run_id, as_of=as_of, categories=categories, offers_considered=len(offers),
        needs_considered=len(needs), candidates=len(cands), proposals=records, objective=objective,
        matched_value=matched, offers_expired=ended, solve_seconds=round(seconds, 4))
    events: list = []
    if rows_out:
        events.append(c.ProposalsMade(district=district, run_id=run_id, proposal_ids=[r["id"] for r in rows_out],
                                      matched_value=matched))
    if ended or expired_proposals:
        events.append(c.OffersExpired(district=district, offer_ids=ended, proposal_ids=expired_proposals))
    return RunResult(reply, events)


def proposal_unit(need_unit: str) -> str:
    """Proposals count in the need's own unit when it is its family's base (株 stays plant)."""
    family, factor = c.UNITS[need_unit]
    return need_unit if factor == 1 else c.BASE_UNIT[family]


class _Row:
    """Attribute access over a dict (a row just inserted)."""

    def __init__(self, data: dict):
        self.__dict__.update(data)


def explain(cand: Candidate, offer: OfferView, need: NeedView, offer_row, need_row, quantity: int) -> c.Explanation:
    facts = cand.facts
    value = money(cand.unit_value * quantity)
    transport = money(cand.transport_per_unit * quantity)
    net = money(cand.profit * quantity)
    unit = proposal_unit(need_row.unit)
    km = facts.distance_m / 1000
    summary = (
        f"{offer_row.provider_name or offer_row.provider_id} offers {offer_row.title}; "
        f"{need_row.requester_id} needs {need_row.title}. Category {offer.category} "
        f"(offer: {offer.category_source}, need: {need.category_source}); "
        f"descriptions {facts.similarity:.0%} alike"
        + (f" (shared: {'、'.join(facts.shared_terms)})" if facts.shared_terms else "")
        + f"; {km:.1f} km apart; hand-over {facts.feasible_from}..{facts.feasible_until}"
        + f"; {quantity} {unit} worth {value} yuan at {cand.unit_value:.2f}/{unit}"
        + f", priority {need.priority} (x{cand.priority_weight:g}), quality x{cand.quality:.2f}"
        + (f", fairness x{cand.fairness_weight:.2f}" if cand.fairness_weight != 1 else "")
        + f", transport {transport} yuan; net benefit {net} yuan.")
    return c.Explanation(
        category=offer.category, offer_category_source=offer.category_source,
        need_category_source=need.category_source, shared_terms=list(facts.shared_terms),
        similarity=round(facts.similarity, 4), scores={k: round(v, 4) for k, v in cand.scores.items()},
        quality=round(cand.quality, 4), distance_m=round(facts.distance_m, 1), feasible_from=facts.feasible_from,
        feasible_until=facts.feasible_until, offer_available_until=offer.end, needed_by=need.end, unit=unit,
        unit_value=Decimal(str(cand.unit_value)).quantize(Decimal("0.0001")), value=value,
        priority=need.priority, priority_weight=cand.priority_weight, fairness_weight=round(cand.fairness_weight, 4),
        transport_cost=transport, net_benefit=net, summary=summary)
