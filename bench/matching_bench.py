"""Matching at city scale: 10,000 offers x 10,000 needs, optimal vs greedy vs the LP bound, one run.

``python -m bench.matching_bench`` prints the Markdown section; ``run()`` returns it.

The instance is synthetic and seeded: 21 categories with Chinese titles and descriptions, offers and
needs scattered over a 40 km x 40 km city, whole quantities 1-60 in the category's unit family,
availability windows, needed-by dates, priorities 1-5 and budgets. Candidate generation is the
service's own (``candidates.generate``) with its blocking: category x unit family, and a lat/lon grid
as wide as the distance limit (10 km here), so no need looks at offers outside its 3x3 cells; each need
keeps its 40 best candidates. The rules run on NumPy arrays, one grid cell of needs at a time, and the
similarities in one rapidfuzz call per cell (``bench/profiles/matching-*.txt`` say where time goes). All three solvers get the same candidate graph, so the ratios compare
solvers, not candidate sets.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import date, timedelta

SEED = 20261123
N_OFFERS = 10_000
N_NEEDS = 10_000
MAX_DISTANCE_M = 10_000.0
MAX_PER_NEED = 40
AS_OF = date(2026, 12, 1)

ADJECTIVES = ["闲置", "九成新", "搬迁前清理", "可自提", "成批", "状态良好", "需要尽快", "用于公共区域", "楼道", "小区花园"]


def _instance(seed: int = SEED):
    from redprop.services.matching import text
    from redprop.services.matching.taxonomy import CATEGORIES
    from redprop.services.matching.views import NeedView, OfferView

    rng = random.Random(seed)
    lat0, lon0 = 31.00, 121.20
    span_lat, span_lon = 0.36, 0.42  # about 40 km each way

    def describe(category) -> tuple[str, tuple[str, ...]]:
        terms = [t for t in category.synonyms if not t.isascii()]
        title = rng.choice(terms)
        desc = f"{rng.choice(ADJECTIVES)}{title}，{rng.choice(terms)}，{rng.choice(ADJECTIVES)}"
        return title, text.tokens(title + " " + desc)

    family = {"goods": "count", "service": "time"}
    offers, needs = [], []
    for i in range(N_OFFERS):
        c = rng.choice(CATEGORIES)
        _, toks = describe(c)
        start = AS_OF + timedelta(days=rng.randint(-30, 20))
        end = start + timedelta(days=rng.randint(5, 120))
        offers.append(OfferView(
            id=f"O{i:05d}", category=c.id, family=family[c.kind], supply=rng.randint(1, 60),
            lat=lat0 + rng.random() * span_lat, lon=lon0 + rng.random() * span_lon, start=start, end=end,
            weekdays=tuple(sorted(rng.sample(range(1, 8), 3))) if c.kind == "service" else None,
            condition=rng.choice(["new", "good", "good", "fair", "poor"]),
            unit_value=float(c.nominal_unit_value) * rng.uniform(0.5, 1.5),
            transport_rate=float(c.transport_cost_per_km), tokens=toks, category_source="given"))
    for j in range(N_NEEDS):
        c = rng.choice(CATEGORIES)
        _, toks = describe(c)
        qty = rng.randint(1, 60)
        needs.append(NeedView(
            id=f"N{j:05d}", category=c.id, family=family[c.kind], demand=qty,
            lat=lat0 + rng.random() * span_lat, lon=lon0 + rng.random() * span_lon,
            end=AS_OF + timedelta(days=rng.randint(3, 90)), priority=rng.randint(1, 5),
            unit_value=float(c.nominal_unit_value) * rng.uniform(0.6, 1.8),
            community_id=f"C{rng.randint(1, 200):03d}", tokens=toks, category_source="given"))
    return offers, needs


def measure() -> dict:
    from redprop.services.matching import candidates, optimiser, text
    from redprop.services.matching.scorers import ConditionScorer, TextSimilarityScorer

    cpu: dict[str, float] = {}  # this process's CPU seconds: on a busy shared machine wall time is not the cost
    t0, c0 = time.perf_counter(), time.process_time()
    text.tokens("初始化")  # jieba's dictionary, once
    t_jieba = time.perf_counter() - t0
    cpu["jieba"] = time.process_time() - c0

    t0, c0 = time.perf_counter(), time.process_time()
    offers, needs = _instance()
    t_instance = time.perf_counter() - t0
    cpu["instance"] = time.process_time() - c0

    t0, c0 = time.perf_counter(), time.process_time()
    cands = candidates.generate(offers, needs, as_of=AS_OF, scorers=[TextSimilarityScorer(), ConditionScorer()],
                                max_distance_m=MAX_DISTANCE_M, max_per_need=MAX_PER_NEED)
    t_candidates = time.perf_counter() - t0
    cpu["candidates"] = time.process_time() - c0
    supplies = [o.supply for o in offers]
    demands = [n.demand for n in needs]
    arcs = [optimiser.Arc(c.offer, c.need, c.capacity, c.profit) for c in cands]

    t0, c0 = time.perf_counter(), time.process_time()
    best = optimiser.solve(supplies, demands, arcs)
    t_solve = time.perf_counter() - t0
    cpu["solve"] = time.process_time() - c0
    optimiser.check(supplies, demands, arcs, best.flows)
    again = optimiser.solve(supplies, demands, arcs)

    t0, c0 = time.perf_counter(), time.process_time()
    base = optimiser.greedy(supplies, demands, arcs)
    t_greedy = time.perf_counter() - t0
    cpu["greedy"] = time.process_time() - c0
    optimiser.check(supplies, demands, arcs, base.flows)

    t0, c0 = time.perf_counter(), time.process_time()
    bound = optimiser.lp_bound(supplies, demands, arcs)
    t_lp = time.perf_counter() - t0
    cpu["lp"] = time.process_time() - c0

    # Incremental: 100 new needs in one category re-solve only that category's block.
    category = needs[0].category
    block_offers = [i for i, o in enumerate(offers) if o.category == category]
    block_needs = [j for j, n in enumerate(needs) if n.category == category]
    extra = [n.__class__(**{**n.__dict__, "id": f"X{k:03d}"}) for k, n in
             enumerate(needs[j] for j in block_needs[:100])]
    sub_offers = [offers[i] for i in block_offers]
    sub_needs = [needs[j] for j in block_needs] + extra
    t0, c0 = time.perf_counter(), time.process_time()
    sub = candidates.generate(sub_offers, sub_needs, as_of=AS_OF,
                              scorers=[TextSimilarityScorer(), ConditionScorer()],
                              max_distance_m=MAX_DISTANCE_M, max_per_need=MAX_PER_NEED)
    optimiser.solve([o.supply for o in sub_offers], [n.demand for n in sub_needs],
                    [optimiser.Arc(c.offer, c.need, c.capacity, c.profit) for c in sub])
    t_incremental = time.perf_counter() - t0
    cpu["incremental"] = time.process_time() - c0

    return {
        "offers": len(offers), "needs": len(needs), "candidates": len(arcs),
        "supply": sum(supplies), "demand": sum(demands),
        "matched_units": sum(best.flows), "greedy_units": sum(base.flows),
        "pairs": sum(1 for f in best.flows if f), "objective": best.objective, "greedy": base.objective,
        "lp": bound, "deterministic": best.flows == again.flows,
        "t_jieba": t_jieba, "t_instance": t_instance, "t_candidates": t_candidates, "t_solve": t_solve,
        "t_greedy": t_greedy, "t_lp": t_lp, "t_incremental": t_incremental,
        "cpu": cpu, "incremental_category": category, "incremental_needs": len(sub_needs), "incremental_offers": len(sub_offers),
    }


def render(r: dict) -> str:
    return "\n".join([
        "## Matching: 10,000 offers x 10,000 needs",
        "",
        f"Synthetic seeded instance ({r['offers']:,} offers, {r['needs']:,} needs, 21 categories, a 40 km city). "
        f"Candidate generation with blocking (category x unit family, {MAX_DISTANCE_M / 1000:g} km grid cells, "
        f"best {MAX_PER_NEED} per need) produced {r['candidates']:,} candidate pairs; all solvers share them.",
        "",
        "| step | seconds | CPU seconds |",
        "|---|---:|---:|",
        f"| jieba start-up (dictionary cache) | {r['t_jieba']:.2f} | {r['cpu']['jieba']:.2f} |",
        f"| instance + tokenising 20,000 descriptions | {r['t_instance']:.2f} | {r['cpu']['instance']:.2f} |",
        f"| candidate generation (distance, dates, similarity, scorers) | {r['t_candidates']:.2f} | {r['cpu']['candidates']:.2f} |",
        f"| **optimal assignment, OR-Tools min-cost flow** | **{r['t_solve']:.2f}** | {r['cpu']['solve']:.2f} |",
        f"| **end to end: candidate generation + optimal assignment (target under 10 s)** | "
        f"**{r['t_candidates'] + r['t_solve']:.2f}** | **{r['cpu']['candidates'] + r['cpu']['solve']:.2f}** |",
        f"| greedy baseline (best pair first) | {r['t_greedy']:.2f} | {r['cpu']['greedy']:.2f} |",
        f"| LP bound, OR-Tools GLOP | {r['t_lp']:.2f} | {r['cpu']['lp']:.2f} |",
        f"| incremental: 100 new needs in `{r['incremental_category']}`, re-solve that block only "
        f"({r['incremental_offers']:,} offers x {r['incremental_needs']:,} needs) | {r['t_incremental']:.2f} | {r['cpu']['incremental']:.2f} |",
        "",
        "Seconds are wall-clock; CPU seconds are this process's (its work is single-threaded), the cost "
        "when the shared machine is busy with other work.",
        "",
        f"Target (issue 21): end to end under 10 s and still optimal. End to end (candidate generation and the "
        f"optimal assignment, as the table) {r['t_candidates'] + r['t_solve']:.2f} s "
        f"({r['cpu']['candidates'] + r['cpu']['solve']:.2f} CPU s; with jieba's start-up and tokenising the "
        f"20,000 descriptions too, {r['t_jieba'] + r['t_instance'] + r['t_candidates'] + r['t_solve']:.2f} s), met: "
        f"{'**yes**' if r['t_candidates'] + r['t_solve'] < 10 else '**no**'}; objective / LP bound "
        f"{r['objective'] / r['lp']:.9f}, optimal: {'**yes**' if abs(r['objective'] / r['lp'] - 1) < 1e-6 else '**no**'}.",
        "",
        "| solver | objective (net benefit, yuan) | vs LP bound | units matched | pairs |",
        "|---|---:|---:|---:|---:|",
        f"| min-cost flow | {r['objective']:,.0f} | {r['objective'] / r['lp']:.9f} | {r['matched_units']:,} | {r['pairs']:,} |",
        f"| greedy | {r['greedy']:,.0f} | {r['greedy'] / r['lp']:.6f} | {r['greedy_units']:,} | |",
        f"| LP relaxation (upper bound) | {r['lp']:,.0f} | 1 | | |",
        "",
        f"Optimal / greedy = **{r['objective'] / r['greedy']:.4f}** (the optimum finds "
        f"{r['objective'] - r['greedy']:,.0f} yuan more net benefit). The transportation problem is totally "
        "unimodular, so the integer optimum meets the LP bound; what gap is left "
        f"({r['lp'] - r['objective']:,.2f} yuan) comes from the min-cost flow's integer costs (1/1000 yuan) "
        "and GLOP's tolerances. Same input, same flows: "
        f"{'yes' if r['deterministic'] else 'NO'}. Supply {r['supply']:,} units, demand {r['demand']:,} units.",
        "",
    ])


def run() -> str:
    return render(measure())


if __name__ == "__main__":
    sys.stdout.write(run())
