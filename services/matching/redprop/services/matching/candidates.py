"""Candidate generation: which offers could meet which needs, and what each pair is worth per unit.

Hard rules (a pair failing one is never a candidate): same category and unit family; within the
distance limit; a hand-over day exists in both windows from the run date on (and on one of the
offer's weekdays); quantity left on both sides; the pair was not declined before.

Blocking keeps this near-linear: offers are bucketed by (category, unit family) and by a lat/lon grid
whose cells are as wide as the distance limit, so a need only looks at the 3x3 cells around it. The
rules run on arrays (NumPy), a cell of needs against its 3x3 cells of offers at a time, and scorers
rate a whole cell at once (``PairScorer.score_pairs``): at city scale (10,000 x 10,000) a pair-by-pair
loop spent 17 s here (docs/benchmarks.md, Matching).

Value per base unit: what the need would pay to buy it (budget / quantity), else the provider's
estimate, else the category's nominal value. Net benefit per unit, which the optimiser maximises:

    unit value x priority weight x quality (scorers) x fairness weight - transport cost per unit
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, timedelta

import numpy as np

from redprop.services.matching import geo, text
from redprop.services.matching.scorers import PairScorer
from redprop.services.matching.taxonomy import BY_ID
from redprop.services.matching.views import Candidate, NeedView, OfferView, PairBatch, PairFacts

#: At most this many pairs are put in arrays at once (a few tens of MB).
PAIRS_PER_BLOCK = 1_000_000

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
    in a deterministic order (by offer id, then need id).

    The rules are applied to arrays, one grid cell of needs against the offers of its 3x3 cells at a
    time (at city scale there are millions of pairs; see docs/benchmarks.md, Matching); Candidate
    objects are built only for the pairs kept.
    """
    fairness = fairness or {}
    if not offers or not needs:
        return []
    o, n = _OfferArrays(offers), _NeedArrays(needs, fairness)
    max_lat = float(max(np.abs(o.lat).max(), np.abs(n.lat).max()))
    size = geo.cell_size_deg(max_distance_m, max_lat)
    declined_keys = _declined_keys(offers, needs, declined)

    o_cells = np.floor(o.lat / size).astype(np.int64), np.floor(o.lon / size).astype(np.int64)
    n_cells = np.floor(n.lat / size).astype(np.int64), np.floor(n.lon / size).astype(np.int64)
    buckets: dict[tuple[str, str], dict[tuple[int, int], list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, offer in enumerate(offers):
        if offer.supply > 0:
            buckets[(offer.category, offer.family)][(int(o_cells[0][i]), int(o_cells[1][i]))].append(i)
    groups: dict[tuple[str, str, int, int], list[int]] = defaultdict(list)
    for j, need in enumerate(needs):
        if need.demand > 0 and (need.category, need.family) in buckets:
            groups[(need.category, need.family, int(n_cells[0][j]), int(n_cells[1][j]))].append(j)

    as_of_ord = as_of.toordinal()
    kept: list[_Kept] = []
    for (category, family, ci, cj), js in groups.items():
        cells = buckets[(category, family)]
        near = [i for di in (-1, 0, 1) for dj in (-1, 0, 1) for i in cells.get((ci + di, cj + dj), ())]
        if not near:
            continue
        near_idx = np.array(near, dtype=np.int64)
        step = max(1, PAIRS_PER_BLOCK // len(near))   # bounded memory in a dense cell
        for start in range(0, len(js), step):
            block = _block(o, n, near_idx, np.array(js[start:start + step], dtype=np.int64), as_of_ord,
                           max_distance_m, declined_keys, scorers, max_per_need)
            if block is not None:
                kept.append(block)
    if not kept:
        return []
    return _candidates(o, n, _Kept.concat(kept), scorers)


class _OfferArrays:
    """The offers' fields the rules read, as arrays (dates as ordinals)."""

    def __init__(self, offers: Sequence[OfferView]):
        self.views = offers
        self.lat = np.array([v.lat for v in offers], dtype=float)
        self.lon = np.array([v.lon for v in offers], dtype=float)
        self.lat_rad, self.cos_lat = np.radians(self.lat), np.cos(np.radians(self.lat))
        self.start = np.array([v.start.toordinal() if v.start else _NO_DATE for v in offers], dtype=np.int64)
        self.end = np.array([v.end.toordinal() if v.end else _LAST_DAY for v in offers], dtype=np.int64)
        # Bit d-1 set: the offer can hand over on ISO weekday d; 0: any day.
        self.weekdays = np.array([sum(1 << (d - 1) for d in set(v.weekdays or ())) for v in offers], dtype=np.int64)
        self.supply = np.array([v.supply for v in offers], dtype=np.int64)
        self.unit_value = np.array([v.unit_value for v in offers], dtype=float)
        self.transport_rate = np.array([v.transport_rate for v in offers], dtype=float)
        self.text = [" ".join(v.tokens) for v in offers]
        self.rank = _ranks([v.id for v in offers])


class _NeedArrays:
    def __init__(self, needs: Sequence[NeedView], fairness: Mapping[str, float]):
        self.views = needs
        self.lat = np.array([v.lat for v in needs], dtype=float)
        self.lon = np.array([v.lon for v in needs], dtype=float)
        self.lat_rad, self.cos_lat = np.radians(self.lat), np.cos(np.radians(self.lat))
        self.start = np.array([v.start.toordinal() if v.start else _NO_DATE for v in needs], dtype=np.int64)
        self.end = np.array([v.end.toordinal() for v in needs], dtype=np.int64)
        self.demand = np.array([v.demand for v in needs], dtype=np.int64)
        self.unit_value = np.array([v.unit_value for v in needs], dtype=float)
        self.nominal = np.array([_nominal(v.category) for v in needs], dtype=float)
        self.weight = np.array([PRIORITY_WEIGHT.get(v.priority, 1.0) for v in needs], dtype=float)
        self.fair = np.array([fairness.get(v.community_id, 1.0) if v.community_id else 1.0 for v in needs],
                             dtype=float)
        self.text = [" ".join(v.tokens) for v in needs]
        self.rank = _ranks([v.id for v in needs])


_NO_DATE = 0                              # before any run date
_LAST_DAY = date.max.toordinal()


def _nominal(category_id: str) -> float:
    category = BY_ID.get(category_id)
    return float(category.nominal_unit_value) if category else 0.0


def _ranks(ids: list[str]) -> np.ndarray:
    """Each id's place in sorted order (ties keep list order), to sort pairs by id with integers."""
    order = sorted(range(len(ids)), key=ids.__getitem__)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    return rank


def _declined_keys(offers, needs, declined: Iterable[tuple[str, str]]) -> np.ndarray:
    """Declined pairs as sorted ``offer index * len(needs) + need index`` keys."""
    declined = set(declined)
    if not declined:
        return np.zeros(0, dtype=np.int64)
    by_offer: dict[str, list[int]] = defaultdict(list)
    by_need: dict[str, list[int]] = defaultdict(list)
    for i, v in enumerate(offers):
        by_offer[v.id].append(i)
    for j, v in enumerate(needs):
        by_need[v.id].append(j)
    keys = [i * len(needs) + j for oid, nid in declined for i in by_offer.get(oid, ()) for j in by_need.get(nid, ())]
    return np.unique(np.array(keys, dtype=np.int64))


class _Kept:
    """Pairs that passed every rule, with what was established about them."""

    def __init__(self, i, j, distance, similarity, start, until, quality, factors, profit):
        self.i, self.j, self.distance, self.similarity = i, j, distance, similarity
        self.start, self.until, self.quality, self.factors, self.profit = start, until, quality, factors, profit

    def take(self, mask) -> _Kept:
        return _Kept(self.i[mask], self.j[mask], self.distance[mask], self.similarity[mask], self.start[mask],
                     self.until[mask], self.quality[mask], [f[mask] for f in self.factors], self.profit[mask])

    @staticmethod
    def concat(parts: list[_Kept]) -> _Kept:
        return _Kept(*(np.concatenate([getattr(p, a) for p in parts]) for a in
                       ("i", "j", "distance", "similarity", "start", "until", "quality")),
                     [np.concatenate([p.factors[k] for p in parts]) for k in range(len(parts[0].factors))],
                     np.concatenate([p.profit for p in parts]))


def _block(o: _OfferArrays, n: _NeedArrays, near: np.ndarray, js: np.ndarray, as_of: int, max_distance_m: float,
           declined: np.ndarray, scorers: Sequence[PairScorer], max_per_need: int | None) -> _Kept | None:
    """The needs ``js`` (one grid cell) against the offers ``near`` (its 3x3 cells)."""
    # Every need against every offer: a need-major grid of pairs, then only those within reach.
    jj = np.repeat(js, len(near))
    ii = np.tile(near, len(js))
    distance = _haversine_m(o, n, ii, jj)
    reach = distance <= max_distance_m
    ii, jj, distance = ii[reach], jj[reach], distance[reach]

    # A hand-over day in both windows, from the run date on, and on one of the offer's weekdays.
    lo = np.maximum(np.maximum(o.start[ii], n.start[jj]), as_of)
    hi = np.minimum(o.end[ii], n.end[jj])
    start = _first_weekday(lo, hi, o.weekdays[ii])
    ok = start <= hi
    if len(declined):
        keys = ii * len(n.views) + jj
        ok &= ~np.isin(keys, declined, assume_unique=False)
    ii, jj, distance, start, hi = ii[ok], jj[ok], distance[ok], start[ok], hi[ok]
    if not len(ii):
        return None

    similarity = _similarity(o, n, ii, jj)
    quality = np.ones(len(ii))
    factors = []
    if scorers:
        batch = PairBatch(offers=o.views, needs=n.views, offer=ii, need=jj, distance_m=distance,
                          similarity=similarity, feasible_from=start, feasible_until=hi)
        for scorer in scorers:
            factor = np.asarray(scorer.score_pairs(batch), dtype=float)
            factor = np.where(np.isnan(factor), np.nan, np.minimum(1.0, np.maximum(0.0, factor)))
            factors.append(factor)
            quality = quality * factor
    value = _unit_value(o, n, ii, jj)
    transport = o.transport_rate[ii] * distance / 1000.0
    profit = value * n.weight[jj] * quality * n.fair[jj] - transport
    ok = ~np.isnan(quality) & (profit > 0)           # NaN: a scorer vetoed the pair
    kept = _Kept(ii, jj, distance, similarity, start, hi, quality, factors, profit).take(ok)
    if max_per_need is not None and len(kept.i):
        kept = kept.take(_best_per_need(kept, o, max_per_need))
    return kept


def _haversine_m(o: _OfferArrays, n: _NeedArrays, ii: np.ndarray, jj: np.ndarray) -> np.ndarray:
    """``geo.haversine_m`` for pairs (offer ``ii[k]``, need ``jj[k]``)."""
    dp = n.lat_rad[jj] - o.lat_rad[ii]
    dl = np.radians(n.lon[jj] - o.lon[ii])
    a = np.sin(dp / 2) ** 2 + o.cos_lat[ii] * n.cos_lat[jj] * np.sin(dl / 2) ** 2
    return 2 * geo.EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def _first_weekday(lo: np.ndarray, hi: np.ndarray, weekdays: np.ndarray) -> np.ndarray:
    """The first day from ``lo`` on one of the weekdays (bit masks; 0: any day), or ``hi + 1`` if there
    is none by ``hi`` (the same answer as ``feasible_window``)."""
    start = np.where(weekdays == 0, lo, hi + 1)
    scheduled = np.flatnonzero((weekdays != 0) & (lo <= hi))
    if len(scheduled):
        s_lo, s_hi, s_mask = lo[scheduled], hi[scheduled], weekdays[scheduled]
        found = s_hi + 1
        for k in range(6, -1, -1):               # the earliest matching day wins
            day = s_lo + k
            bit = (day - 1) % 7                  # ordinal 1 (0001-01-01) is a Monday: ISO weekday 1
            hit = (day <= s_hi) & ((s_mask >> bit) & 1).astype(bool)
            found = np.where(hit, day, found)
        start[scheduled] = found
    return start


def _similarity(o: _OfferArrays, n: _NeedArrays, ii: np.ndarray, jj: np.ndarray) -> np.ndarray:
    """``text.similarity`` of each pair, computed once per distinct pair of descriptions."""
    o_codes, o_texts = _codes(o.text, ii)
    n_codes, n_texts = _codes(n.text, jj)
    pair_codes, inverse = np.unique(o_codes * len(n_texts) + n_codes, return_inverse=True)
    a = [o_texts[c] for c in (pair_codes // len(n_texts)).tolist()]
    b = [n_texts[c] for c in (pair_codes % len(n_texts)).tolist()]
    return text.similarities(a, b)[inverse]


def _codes(texts: list[str], idx: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """For the rows ``idx``: a code per distinct text, and the texts by code."""
    seen: dict[str, int] = {}
    rows, inverse = np.unique(idx, return_inverse=True)
    row_codes = np.array([seen.setdefault(texts[r], len(seen)) for r in rows.tolist()], dtype=np.int64)
    return row_codes[inverse], list(seen)


def _unit_value(o: _OfferArrays, n: _NeedArrays, ii: np.ndarray, jj: np.ndarray) -> np.ndarray:
    """``unit_value`` for pairs: the need's budget, else the provider's estimate, else the category's."""
    need_value, offer_value = n.unit_value[jj], o.unit_value[ii]
    return np.where(need_value > 0, need_value, np.where(offer_value > 0, offer_value, n.nominal[jj]))


def _best_per_need(kept: _Kept, o: _OfferArrays, limit: int) -> np.ndarray:
    """Indices of each need's ``limit`` best pairs (highest net benefit, then lowest offer id)."""
    order = np.lexsort((o.rank[kept.i], -kept.profit, kept.j))
    j_sorted = kept.j[order]
    first = np.flatnonzero(np.r_[True, j_sorted[1:] != j_sorted[:-1]])
    place = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
    return order[place < limit]


def _candidates(o: _OfferArrays, n: _NeedArrays, kept: _Kept, scorers: Sequence[PairScorer]) -> list[Candidate]:
    order = np.lexsort((n.rank[kept.j], o.rank[kept.i]))
    kept = kept.take(order)
    names = [scorer.name or type(scorer).__name__ for scorer in scorers]
    value = _unit_value(o, n, kept.i, kept.j)
    transport = o.transport_rate[kept.i] * kept.distance / 1000.0
    capacity = np.minimum(o.supply[kept.i], n.demand[kept.j])
    offers = o.views
    token_sets = [frozenset(v.tokens) for v in n.views]
    out = []
    columns = zip(kept.i.tolist(), kept.j.tolist(), capacity.tolist(), kept.profit.tolist(), value.tolist(),
                  n.weight[kept.j].tolist(), kept.quality.tolist(), n.fair[kept.j].tolist(), transport.tolist(),
                  kept.distance.tolist(), kept.similarity.tolist(), kept.start.tolist(), kept.until.tolist(),
                  *(f.tolist() for f in kept.factors), strict=True)
    days = _DayCache()
    new_facts = PairFacts.__new__
    with _no_gc_pauses():
        for i, j, cap, profit, val, weight, quality, fair, trans, dist, sim, start, until, *factors in columns:
            shared = tuple(sorted(token_sets[j].intersection(offers[i].tokens)))  # text.shared, sets made once
            # PairFacts is frozen, and its __init__ (object.__setattr__ per field) was a third of this
            # loop at city scale; filling __dict__ makes the same object.
            facts = new_facts(PairFacts)
            facts.__dict__.update(distance_m=dist, similarity=sim, shared_terms=shared,
                                  feasible_from=days[start], feasible_until=days[until])
            out.append(Candidate(offer=i, need=j, capacity=cap, profit=profit, unit_value=val,
                                 priority_weight=weight, quality=quality, fairness_weight=fair,
                                 transport_per_unit=trans, facts=facts, scores=dict(zip(names, factors, strict=True))))
    return out


class _DayCache(dict):
    """Ordinal -> date, each made once (a run's pairs share a few hundred days)."""

    def __missing__(self, ordinal: int) -> date:
        day = self[ordinal] = date.fromordinal(ordinal)
        return day


@contextmanager
def _no_gc_pauses():
    """The cyclic collector off while hundreds of thousands of acyclic objects are made: otherwise its
    full passes over the growing heap took longer than making them (plain reference counting frees
    them all the same)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
