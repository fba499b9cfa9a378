"""Candidate generation: which offers could meet which needs, and what each pair is worth per unit.

Hard rules (a pair failing one is never a candidate): same category and unit family; within the
distance limit; a hand-over day exists in both windows from the run date on (and on one of the
offer's weekdays); quantity left on both sides; the pair was not declined before.

Blocking keeps this near-linear: offers are bucketed by (category, unit family) and by a lat/lon grid
whose cells are as wide as the distance limit, so a need only looks at the 3x3 cells around it.

Value per base unit: what the need would pay to buy it (budget / quantity), else the provider's
estimate, else the category's nominal value. Net benefit per unit, which the optimiser maximises:

    unit value x priority weight x quality (scorers) x fairness weight - transport cost per unit
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta

from redprop.services.matching import geo, text
from redprop.services.matching.scorers import PairScorer
from redprop.services.matching.taxonomy import BY_ID
from redprop.services.matching.views import Candidate, NeedView, OfferView, PairFacts

#: Priority 1..5 -> weight on value (3 is neutral).
PRIORITY_WEIGHT = {1: 0.5, 2: 0.75, 3: 1.0, 4: 1.25, 5: 1.5}


def feasible_window(offer: OfferView, need: NeedView, as_of: date) -> tuple[date, date] | None:
    """The days a hand-over can happen, or None if there is none."""
    lo = max(d for d in (as_of, offer.start, need.start) if d is not None)
    hi = need.end if offer.end is None else min(offer.end, need.end)
    if lo > hi:
        return None
    if offer.weekdays:
        for k in range(min(7, (hi - lo).days + 1)):
            day = lo + timedelta(days=k)
            if day.isoweekday() in offer.weekdays:
                return day, hi
        return None
    return lo, hi


def unit_value(offer: OfferView, need: NeedView) -> float:
    if need.unit_value > 0:
        return need.unit_value
    if offer.unit_value > 0:
        return offer.unit_value
    category = BY_ID.get(need.category)
    return float(category.nominal_unit_value) if category else 0.0


def generate(offers: Sequence[OfferView], needs: Sequence[NeedView], *, as_of: date,
             scorers: Sequence[PairScorer] = (), fairness: Mapping[str, float] | None = None,
             max_distance_m: float = 30_000.0, declined: Iterable[tuple[str, str]] = (),
             max_per_need: int | None = None) -> list[Candidate]:
    """Every feasible pair with a positive net benefit (at most ``max_per_need`` best per need),
    in a deterministic order (by offer id, then need id)."""
    fairness = fairness or {}
    declined = set(declined)
    if not offers or not needs:
        return []
    max_lat = max(abs(v.lat) for v in (*offers, *needs))
    size = geo.cell_size_deg(max_distance_m, max_lat)
    buckets: dict[tuple[str, str], dict[tuple[int, int], list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, offer in enumerate(offers):
        if offer.supply > 0:
            buckets[(offer.category, offer.family)][geo.cell(offer.lat, offer.lon, size)].append(i)

    out: list[Candidate] = []
    for j, need in enumerate(needs):
        if need.demand <= 0:
            continue
        cells = buckets.get((need.category, need.family))
        if not cells:
            continue
        ci, cj = geo.cell(need.lat, need.lon, size)
        weight = PRIORITY_WEIGHT.get(need.priority, 1.0)
        fair = fairness.get(need.community_id, 1.0) if need.community_id else 1.0
        found: list[Candidate] = []
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                for i in cells.get((ci + di, cj + dj), ()):
                    cand = _pair(offers[i], need, i, j, as_of, max_distance_m, declined, scorers, weight, fair)
                    if cand is not None:
                        found.append(cand)
        if max_per_need is not None and len(found) > max_per_need:
            found.sort(key=lambda c: (-c.profit, offers[c.offer].id))
            found = found[:max_per_need]
        out.extend(found)
    out.sort(key=lambda c: (offers[c.offer].id, needs[c.need].id))
    return out


def _pair(offer: OfferView, need: NeedView, i: int, j: int, as_of: date, max_distance_m: float,
          declined: set, scorers: Sequence[PairScorer], weight: float, fair: float) -> Candidate | None:
    distance = geo.haversine_m(offer.lat, offer.lon, need.lat, need.lon)
    if distance > max_distance_m:
        return None
    window = feasible_window(offer, need, as_of)
    if window is None or (offer.id, need.id) in declined:
        return None
    sim = text.similarity(offer.tokens, need.tokens)
    facts = PairFacts(distance_m=distance, similarity=sim, shared_terms=tuple(text.shared(offer.tokens, need.tokens)),
                      feasible_from=window[0], feasible_until=window[1])
    quality = 1.0
    scores: dict[str, float] = {}
    for scorer in scorers:
        factor = scorer.score(offer, need, facts)
        if factor is None:
            return None
        factor = min(1.0, max(0.0, float(factor)))
        scores[scorer.name or type(scorer).__name__] = factor
        quality *= factor
    value = unit_value(offer, need)
    transport = offer.transport_rate * distance / 1000.0
    profit = value * weight * quality * fair - transport
    if profit <= 0:
        return None
    return Candidate(offer=i, need=j, capacity=min(offer.supply, need.demand), profit=profit, unit_value=value,
                     priority_weight=weight, quality=quality, fairness_weight=fair,
                     transport_per_unit=transport, facts=facts, scores=scores)
