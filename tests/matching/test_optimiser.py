"""The optimiser against brute force on small random instances (hypothesis), and its baselines."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from redprop.services.matching import optimiser
from redprop.services.matching.optimiser import Arc


@st.composite
def instances(draw):
    n_offers = draw(st.integers(1, 3))
    n_needs = draw(st.integers(1, 3))
    supplies = draw(st.lists(st.integers(0, 3), min_size=n_offers, max_size=n_offers))
    demands = draw(st.lists(st.integers(0, 3), min_size=n_needs, max_size=n_needs))
    pairs = draw(st.lists(st.tuples(st.integers(0, n_offers - 1), st.integers(0, n_needs - 1)),
                          unique=True, max_size=5))
    arcs = [Arc(i, j, min(supplies[i], demands[j]),
                draw(st.floats(-20, 100, allow_nan=False).map(lambda x: round(x, 3)))) for i, j in pairs]
    return supplies, demands, arcs


def brute_force(supplies, demands, arcs) -> float:
    """The best objective over every integer flow (in the same 1/1000-yuan units the solver uses)."""
    best = 0
    for flows in itertools.product(*(range(a.capacity + 1) for a in arcs)):
        out = [0] * len(supplies)
        into = [0] * len(demands)
        for a, f in zip(arcs, flows, strict=True):
            out[a.offer] += f
            into[a.need] += f
        if all(o <= s for o, s in zip(out, supplies, strict=True)) and all(i <= d for i, d in zip(into, demands, strict=True)):
            best = max(best, sum(optimiser.scaled(a.profit) * f for a, f in zip(arcs, flows, strict=True)))
    return best


@settings(max_examples=150, deadline=None)
@given(instances())
def test_min_cost_flow_is_as_good_as_brute_force(instance):
    supplies, demands, arcs = instance
    solution = optimiser.solve(supplies, demands, arcs)
    optimiser.check(supplies, demands, arcs, solution.flows)
    achieved = sum(optimiser.scaled(a.profit) * f for a, f in zip(arcs, solution.flows, strict=True))
    assert achieved == brute_force(supplies, demands, arcs)
    # Never ships along a loss-making arc.
    assert all(f == 0 for a, f in zip(arcs, solution.flows, strict=True) if a.profit <= 0)


@settings(max_examples=60, deadline=None)
@given(instances())
def test_greedy_never_beats_the_optimum_and_the_lp_bound_is_met(instance):
    supplies, demands, arcs = instance
    best = optimiser.solve(supplies, demands, arcs)
    base = optimiser.greedy(supplies, demands, arcs)
    optimiser.check(supplies, demands, arcs, base.flows)
    bound = optimiser.lp_bound(supplies, demands, arcs)
    assert base.objective <= best.objective + 1e-6
    assert best.objective <= bound + 1e-6
    # Totally unimodular: the integer optimum reaches the LP bound (up to the cost rounding).
    assert best.objective >= bound - 0.001 * sum(a.capacity for a in arcs) - 1e-6


def test_quantities_are_split_across_needs_and_offers():
    # One nursery with 10 plants, two complexes wanting 6 each: 6 to the more valuable, 4 to the other.
    arcs = [Arc(0, 0, 6, 100.0), Arc(0, 1, 6, 80.0)]
    solution = optimiser.solve([10], [6, 6], arcs)
    assert solution.flows == [6, 4]
    assert solution.objective == 6 * 100 + 4 * 80


def test_the_optimum_beats_greedy_where_greedy_is_myopic():
    # Greedy takes the single best pair (offer 0 -> need 0) and strands need 1, which only offer 0 serves.
    arcs = [Arc(0, 0, 1, 10.0), Arc(0, 1, 1, 9.0), Arc(1, 0, 1, 8.0)]
    assert optimiser.greedy([1, 1], [1, 1], arcs).objective == 10.0
    assert optimiser.solve([1, 1], [1, 1], arcs).objective == 17.0


def test_same_input_same_flows():
    arcs = [Arc(i % 4, j % 5, 3, 10.0) for i in range(4) for j in range(5)]  # many equal optima
    first = optimiser.solve([5] * 4, [4] * 5, arcs).flows
    for _ in range(5):
        assert optimiser.solve([5] * 4, [4] * 5, arcs).flows == first


def test_nothing_to_match_is_an_empty_solution():
    assert optimiser.solve([3], [3], []).flows == []
    assert optimiser.solve([3], [3], [Arc(0, 0, 3, -5.0)]).flows == [0]
