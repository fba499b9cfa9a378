"""Candidate generation: the hard feasibility rules and the value per unit."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from redprop.services.matching import candidates, text
from redprop.services.matching.scorers import ConditionScorer, TextSimilarityScorer
from redprop.services.matching.views import NeedView, OfferView

AS_OF = date(2026, 12, 1)
OFFER = OfferView(id="O1", category="greening", family="count", supply=100, lat=31.0, lon=121.0,
                  start=date(2026, 11, 1), end=date(2027, 1, 31), unit_value=100.0, transport_rate=0.5,
                  tokens=text.tokens("红叶石楠苗木"))
NEED = NeedView(id="N1", category="greening", family="count", demand=30, lat=31.01, lon=121.01,
                end=date(2026, 12, 31), priority=4, unit_value=200.0, community_id="C1",
                tokens=text.tokens("补种红叶石楠"))


def gen(offers, needs, **kw):
    kw.setdefault("as_of", AS_OF)
    return candidates.generate(offers, needs, **kw)


def test_a_feasible_pair_carries_its_facts_and_value():
    [cand] = gen([OFFER], [NEED], scorers=[TextSimilarityScorer(), ConditionScorer()])
    assert cand.capacity == 30
    assert 1000 < cand.facts.distance_m < 2000
    assert cand.facts.feasible_from == AS_OF and cand.facts.feasible_until == date(2026, 12, 31)
    assert cand.unit_value == 200.0  # what the need would pay wins over the offer's estimate
    assert cand.priority_weight == 1.25
    assert set(cand.scores) == {"text_similarity", "condition"}
    expected = 200.0 * 1.25 * cand.quality - 0.5 * cand.facts.distance_m / 1000
    assert cand.profit == pytest.approx(expected)


def test_an_expired_offer_is_no_candidate():
    assert gen([replace(OFFER, end=date(2026, 11, 30))], [NEED]) == []


@pytest.mark.parametrize("need", [
    replace(NEED, end=date(2026, 11, 30)),                                # needed before the run date
    replace(NEED, start=date(2027, 2, 1), end=date(2027, 3, 1)),          # only after the offer ends
])
def test_impossible_dates_are_no_candidate(need):
    assert gen([OFFER], [need]) == []


def test_an_offer_that_starts_later_can_still_meet_a_need_in_time():
    [cand] = gen([replace(OFFER, start=date(2026, 12, 20))], [NEED])
    assert cand.facts.feasible_from == date(2026, 12, 20)


def test_a_weekly_schedule_must_hit_a_day_in_the_window():
    need = replace(NEED, start=date(2026, 12, 1), end=date(2026, 12, 4))    # Tuesday to Friday
    assert gen([replace(OFFER, weekdays=(6, 7))], [need]) == []             # weekends only
    [cand] = gen([replace(OFFER, weekdays=(4,))], [need])                   # Thursdays
    assert cand.facts.feasible_from == date(2026, 12, 3)


def test_quantities_left_bound_the_capacity_and_nothing_left_is_no_candidate():
    assert gen([replace(OFFER, supply=7)], [NEED])[0].capacity == 7
    assert gen([replace(OFFER, supply=0)], [NEED]) == []
    assert gen([OFFER], [replace(NEED, demand=0)]) == []


def test_other_categories_units_and_far_away_offers_are_no_candidates():
    assert gen([replace(OFFER, category="furniture")], [NEED]) == []
    assert gen([replace(OFFER, family="mass")], [NEED]) == []
    assert gen([replace(OFFER, lat=31.5)], [NEED], max_distance_m=30_000) == []


def test_a_declined_pair_is_no_candidate_but_other_pairs_are():
    other = replace(OFFER, id="O2")
    found = gen([OFFER, other], [NEED], declined={("O1", "N1")})
    assert [c.offer for c in found] == [1]


def test_transport_dearer_than_the_value_is_no_candidate():
    assert gen([replace(OFFER, transport_rate=1000.0)], [NEED]) == []


def test_value_falls_back_to_the_offer_then_the_category():
    assert gen([OFFER], [replace(NEED, unit_value=0.0)])[0].unit_value == 100.0
    assert gen([replace(OFFER, unit_value=0.0)], [replace(NEED, unit_value=0.0)])[0].unit_value == 60.0


def test_a_scorer_can_veto_a_pair_and_fairness_weights_a_community():
    class NoPoorGoods(ConditionScorer):
        name = "no_poor"

        def score(self, offer, need, facts):
            return None if offer.condition == "poor" else 1.0

    assert gen([replace(OFFER, condition="poor")], [NEED], scorers=[NoPoorGoods()]) == []
    plain = gen([OFFER], [NEED])[0]
    boosted = gen([OFFER], [NEED], fairness={"C1": 1.3})[0]
    assert boosted.fairness_weight == 1.3 and boosted.profit > plain.profit


def test_blocking_finds_exactly_the_pairs_a_full_scan_finds():
    import random

    rng = random.Random(7)
    offers = [replace(OFFER, id=f"O{i}", lat=31 + rng.random() * 0.3, lon=121 + rng.random() * 0.3,
                      category=rng.choice(["greening", "furniture"])) for i in range(60)]
    needs = [replace(NEED, id=f"N{j}", lat=31 + rng.random() * 0.3, lon=121 + rng.random() * 0.3,
                     category=rng.choice(["greening", "furniture"])) for j in range(60)]
    found = {(c.offer, c.need) for c in gen(offers, needs, max_distance_m=5_000)}
    expected = {(i, j) for i, o in enumerate(offers) for j, n in enumerate(needs)
                if gen([o], [n], max_distance_m=5_000)}
    assert found == expected and found


def test_the_array_rules_agree_pair_by_pair_with_the_plain_rules():
    """Windows, weekdays, declined pairs, values and scorers on arrays give what the per-pair functions
    (``feasible_window``, ``unit_value``, ``geo.haversine_m``, ``PairScorer.score``) give."""
    import random

    from redprop.services.matching import geo

    rng = random.Random(11)
    day = date(2026, 11, 20).toordinal()

    def when(k):
        return date.fromordinal(day + k)

    offers = [replace(OFFER, id=f"O{i:02d}", lat=31 + rng.random() * 0.1, lon=121 + rng.random() * 0.1,
                      start=rng.choice([None, when(rng.randint(0, 30))]),
                      end=rng.choice([None, when(rng.randint(5, 60))]),
                      weekdays=rng.choice([None, (), tuple(sorted(rng.sample(range(1, 8), rng.randint(1, 3))))]),
                      condition=rng.choice(["new", "good", "fair", "poor", "odd"]),
                      unit_value=rng.choice([0.0, 80.0]), supply=rng.choice([0, 5, 50]))
              for i in range(40)]
    needs = [replace(NEED, id=f"N{j:02d}", lat=31 + rng.random() * 0.1, lon=121 + rng.random() * 0.1,
                     start=rng.choice([None, when(rng.randint(0, 20))]), end=when(rng.randint(8, 50)),
                     priority=rng.randint(1, 5), unit_value=rng.choice([0.0, 150.0]),
                     community_id=rng.choice([None, "C1", "C2"]), demand=rng.choice([0, 3, 30]))
             for j in range(40)]
    declined = {("O03", "N04"), ("O10", "N11"), ("O10", "N12")}
    scorers = [TextSimilarityScorer(), ConditionScorer()]
    fairness = {"C1": 1.2}
    found = {(c.offer, c.need): c for c in gen(offers, needs, scorers=scorers, fairness=fairness,
                                                  declined=declined, max_distance_m=6_000)}
    expected = 0
    for i, o in enumerate(offers):
        for j, n in enumerate(needs):
            distance = geo.haversine_m(o.lat, o.lon, n.lat, n.lon)
            window = candidates.feasible_window(o, n, AS_OF)
            if (o.supply <= 0 or n.demand <= 0 or distance > 6_000 or window is None
                    or (o.id, n.id) in declined):
                assert (i, j) not in found
                continue
            quality = (0.6 + 0.4 * text.similarity(o.tokens, n.tokens)) * ConditionScorer.FACTORS.get(o.condition, 0.8)
            weight = candidates.PRIORITY_WEIGHT[n.priority]
            fair = fairness.get(n.community_id, 1.0) if n.community_id else 1.0
            value = candidates.unit_value(o, n)
            profit = value * weight * quality * fair - o.transport_rate * distance / 1000
            if profit <= 0:
                assert (i, j) not in found
                continue
            expected += 1
            cand = found[(i, j)]
            assert (cand.facts.feasible_from, cand.facts.feasible_until) == window
            assert cand.capacity == min(o.supply, n.demand) and cand.unit_value == value
            assert cand.profit == pytest.approx(profit) and cand.quality == pytest.approx(quality)
            assert cand.facts.shared_terms == tuple(text.shared(o.tokens, n.tokens))
    assert expected == len(found) and expected > 20
    assert [(c.offer, c.need) for c in found.values()] == sorted(found)


def test_a_scorer_without_bulk_ratings_is_asked_pair_by_pair():
    seen = []

    class Counting(ConditionScorer):
        name = "counting"

        def score(self, offer, need, facts):
            seen.append((offer.id, need.id, facts.feasible_from))
            return 0.5

    [cand] = gen([OFFER], [NEED], scorers=[Counting()])
    assert seen == [("O1", "N1", AS_OF)] and cand.scores == {"counting": 0.5} and cand.quality == 0.5


def test_a_dense_cell_is_taken_in_slices_with_the_same_result(monkeypatch):
    import random

    rng = random.Random(3)
    offers = [replace(OFFER, id=f"O{i}", lat=31 + rng.random() * 0.02, lon=121 + rng.random() * 0.02)
              for i in range(30)]
    needs = [replace(NEED, id=f"N{j}", lat=31 + rng.random() * 0.02, lon=121 + rng.random() * 0.02)
             for j in range(30)]
    whole = gen(offers, needs, max_per_need=5)
    monkeypatch.setattr(candidates, "PAIRS_PER_BLOCK", 40)   # one or two needs per slice
    sliced = gen(offers, needs, max_per_need=5)
    assert [(c.offer, c.need, c.profit) for c in sliced] == [(c.offer, c.need, c.profit) for c in whole]
    assert len(whole) == 150
