"""The global assignment: maximise total net benefit, quantities split freely, with OR-Tools.

    maximise   sum_a  profit_a * x_a
    subject to sum of x over an offer's arcs <= its supply, sum over a need's arcs <= its demand,
               0 <= x_a <= capacity_a, x integer

This is a transportation problem, solved exactly as a min-cost flow: source -> offer (supply) ->
need (cost = -profit) -> sink (demand), plus a free source -> sink arc so nothing has to flow. Its
constraint matrix is totally unimodular, so the integer optimum equals the LP optimum (the benchmark
checks this against GLOP). Costs are integers (1/1000 yuan); the same input always gives the same flows.

``greedy`` is the baseline (best arc first); ``lp_bound`` solves the LP relaxation with GLOP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

COST_SCALE = 1000  # integer costs in 1/1000 yuan


@dataclass(frozen=True)
class Arc:
    offer: int
    need: int
    capacity: int
    profit: float  # per unit


@dataclass
class Solution:
    flows: list[int]
    objective: float  # sum of flow x profit (real-valued)

    def used(self) -> list[tuple[int, int]]:
        """(arc index, flow) for arcs that carry flow."""
        return [(k, f) for k, f in enumerate(self.flows) if f > 0]


def scaled(profit: float) -> int:
    return int(round(profit * COST_SCALE))


def objective(arcs: Sequence[Arc], flows: Sequence[int]) -> float:
    return float(sum(a.profit * f for a, f in zip(arcs, flows, strict=True)))


def check(supplies: Sequence[int], demands: Sequence[int], arcs: Sequence[Arc], flows: Sequence[int]) -> None:
    """Raise AssertionError unless ``flows`` is feasible (used by tests and the benchmark)."""
    out = [0] * len(supplies)
    into = [0] * len(demands)
    for a, f in zip(arcs, flows, strict=True):
        assert 0 <= f <= a.capacity, (a, f)
        out[a.offer] += f
        into[a.need] += f
    assert all(o <= s for o, s in zip(out, supplies, strict=True)), "an offer gives more than it has"
    assert all(i <= d for i, d in zip(into, demands, strict=True)), "a need gets more than it asked for"


def solve(supplies: Sequence[int], demands: Sequence[int], arcs: Sequence[Arc]) -> Solution:
    """The optimal integer flows (one per arc, in order)."""
    from ortools.graph.python import min_cost_flow

    useful = [k for k, a in enumerate(arcs) if a.capacity > 0 and scaled(a.profit) > 0]
    flows = [0] * len(arcs)
    if not useful:
        return Solution(flows, 0.0)
    offers = sorted({arcs[k].offer for k in useful})
    needs = sorted({arcs[k].need for k in useful})
    offer_node = {o: 2 + n for n, o in enumerate(offers)}
    need_node = {d: 2 + len(offers) + n for n, d in enumerate(needs)}
    total = int(sum(supplies[o] for o in offers))

    tails, heads, caps, costs = [], [], [], []
    for o in offers:                                  # source -> offer
        tails.append(0), heads.append(offer_node[o]), caps.append(supplies[o]), costs.append(0)
    first_pair = len(tails)
    for k in useful:                                  # offer -> need
        a = arcs[k]
        tails.append(offer_node[a.offer]), heads.append(need_node[a.need])
        caps.append(min(a.capacity, supplies[a.offer], demands[a.need])), costs.append(-scaled(a.profit))
    for d in needs:                                   # need -> sink
        tails.append(need_node[d]), heads.append(1), caps.append(demands[d]), costs.append(0)
    tails.append(0), heads.append(1), caps.append(total), costs.append(0)  # nothing has to flow

    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        np.asarray(tails, dtype=np.int32), np.asarray(heads, dtype=np.int32),
        np.asarray(caps, dtype=np.int64), np.asarray(costs, dtype=np.int64))
    smcf.set_node_supply(0, total)
    smcf.set_node_supply(1, -total)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow did not solve: status {status}")
    pair_flows = smcf.flows(np.arange(first_pair, first_pair + len(useful), dtype=np.int32))
    for k, f in zip(useful, pair_flows, strict=True):
        flows[k] = int(f)
    return Solution(flows, objective(arcs, flows))


def greedy(supplies: Sequence[int], demands: Sequence[int], arcs: Sequence[Arc]) -> Solution:
    """Baseline: take arcs best-profit first, each as far as what is left allows."""
    left_s, left_d = list(supplies), list(demands)
    flows = [0] * len(arcs)
    for k in sorted(range(len(arcs)), key=lambda k: (-arcs[k].profit, k)):
        a = arcs[k]
        if a.profit <= 0:
            break
        f = min(a.capacity, left_s[a.offer], left_d[a.need])
        if f > 0:
            flows[k] = f
            left_s[a.offer] -= f
            left_d[a.need] -= f
    return Solution(flows, objective(arcs, flows))


def lp_bound(supplies: Sequence[int], demands: Sequence[int], arcs: Sequence[Arc]) -> float:
    """The optimum of the LP relaxation (real-valued profits, continuous flows), by GLOP."""
    from ortools.linear_solver import pywraplp

    solver = pywraplp.Solver.CreateSolver("GLOP")
    by_offer: dict[int, list] = {}
    by_need: dict[int, list] = {}
    objective_ = solver.Objective()
    for k, a in enumerate(arcs):
        if a.profit <= 0 or a.capacity <= 0:
            continue
        x = solver.NumVar(0.0, float(a.capacity), f"x{k}")
        objective_.SetCoefficient(x, a.profit)
        by_offer.setdefault(a.offer, []).append(x)
        by_need.setdefault(a.need, []).append(x)
    for index, limit in ((by_offer, supplies), (by_need, demands)):
        for node, xs in index.items():
            row = solver.Constraint(0.0, float(limit[node]))
            for x in xs:
                row.SetCoefficient(x, 1.0)
    objective_.SetMaximization()
    status = solver.Solve()
    if status != pywraplp.Solver.OPTIMAL:
        raise RuntimeError(f"GLOP did not solve the LP: status {status}")
    return float(objective_.Value())
