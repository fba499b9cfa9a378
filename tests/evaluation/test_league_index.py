"""The league table's index without explanations (``league.Indexer``) equals ``evidence_index(score(...))``."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction

from redprop.services.evaluation import kpis, league
from redprop.services.evaluation.counts import KpiCounts
from redprop.services.evaluation.rubrics import Item, RedPropertyRubric
from redprop.services.evaluation.scoring import Evidence, ScorecardEvidence, evidence_index, score

CARD_ITEMS = ("daily_cleaning_greening", "daily_security_facilities", "social_residents_trust")


def full_index(rubric, period: str, counts: KpiCounts, cards: list[ScorecardEvidence]) -> Decimal | None:
    explanation = score(rubric, Evidence(periods=[period], kpi=counts, scorecards=cards,
                                         kpi_rows=[kpis.kpi_row("company", "CO1", period, counts)]), None)
    return evidence_index(explanation)[0]


def random_evidence(rng: random.Random) -> tuple[KpiCounts, list[ScorecardEvidence]]:
    tickets = rng.choice((0, 1, 2, 3, 7, 40))
    resolved = rng.randint(0, tickets)
    rated = rng.randint(0, resolved)
    counts = KpiCounts(tickets=tickets, responded=tickets, responded_on_time=rng.randint(0, tickets),
                       resolved=resolved, resolved_on_time=rng.randint(0, resolved), rated=rated,
                       satisfied=rng.randint(0, rated), rating_sum=rated * 3, reopened=rng.randint(0, tickets))
    cards = []
    for k in range(rng.choice((0, 0, 1, 2, 3))):
        # Scores with two places, some items left out (a bonus-free rubric still may miss one).
        scores = {code: Decimal(rng.randint(0, 1000)) / 100 for code in CARD_ITEMS if rng.random() < 0.9}
        cards.append(ScorecardEvidence(id=f"sc{k}", complex_id=f"X{k}", period="2026Q3", version=1, scores=scores))
    return counts, cards


def test_the_index_equals_the_explained_one_for_any_evidence():
    rng, rubric = random.Random(19), RedPropertyRubric()
    indexer = league.Indexer(rubric)
    assert indexer.fast
    found = set()
    for _ in range(3000):  # repeats on purpose: the memoised values must be the same values
        counts, cards = random_evidence(rng)
        index = indexer.index("2026Q3", counts, cards)
        assert index == full_index(rubric, "2026Q3", counts, cards), (counts, cards)
        found.add(index)
    assert None in found and len(found) > 500  # no evidence -> no index; otherwise many distinct indexes


class HarshRubric(RedPropertyRubric):
    """Overrides the KPI rule: points only for a perfect rate (what the counts say, not the measure alone)."""

    name = "harsh"

    def kpi_points(self, item, counts):
        num, den = counts.measure(item.measure)
        return (Fraction(item.max_points) if den and num == den and counts.rated >= 3 else Fraction(0)), "harsh"


class ProjectRubric(RedPropertyRubric):
    """A rubric with an item of a source the indexer does not know: scored the full way."""

    name = "projects"
    items = (*RedPropertyRubric.items, Item("projects", "social", "projects", Decimal(5), "project"))


def test_a_rubric_of_its_own_keeps_its_own_rules():
    rng = random.Random(5)
    harsh = league.Indexer(HarshRubric())
    for _ in range(500):
        counts, cards = random_evidence(rng)
        assert harsh.index("2026Q3", counts, cards) == full_index(HarshRubric(), "2026Q3", counts, cards)
    # The same response rate (2/2) with other counts: a value kept by the measure would be wrong here.
    unrated = KpiCounts(tickets=2, responded=2, responded_on_time=2)
    rated = KpiCounts(tickets=2, responded=2, responded_on_time=2, resolved=2, resolved_on_time=2, rated=3,
                      satisfied=3, rating_sum=15)
    fresh = league.Indexer(HarshRubric())
    assert fresh.index("2026Q3", unrated, []) == full_index(HarshRubric(), "2026Q3", unrated, [])
    assert fresh.index("2026Q3", rated, []) == full_index(HarshRubric(), "2026Q3", rated, [])
    assert not league.Indexer(ProjectRubric()).fast
