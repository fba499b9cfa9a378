"""Rubric arithmetic, star thresholds and grade boundaries, quarters: pure logic, exact numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from redprop.errors import ValidationFailed
from redprop.plugins import PluginError
from redprop.services.evaluation import periods
from redprop.services.evaluation.counts import KpiCounts, quantize
from redprop.services.evaluation.rubrics import RUBRIC, HongkouRubric, RedPropertyRubric, stars_for
from redprop.services.evaluation.scoring import Evidence, ScorecardEvidence, evidence_index, score

D = Decimal


def test_the_shipped_rubrics_add_up_to_100_and_their_aspects_match_their_items():
    for rubric in (RedPropertyRubric(), HongkouRubric()):
        base = [i for i in rubric.items if not i.bonus]
        assert sum(i.max_points for i in base) == 100
        for aspect in rubric.aspects:
            assert sum(i.max_points for i in base if i.aspect == aspect.code) == aspect.points
    assert [a.points for a in HongkouRubric.aspects] == [40, 20, 20, 20]
    assert {i.aspect for i in RedPropertyRubric.items if i.source == "kpi"} == {"service"}


@pytest.mark.parametrize(("total", "stars"), [
    ("69.99", None), ("70", 3), ("70.00", 3), ("84.99", 3), ("85", 4), ("85.00", 4), ("94.99", 4), ("95", 5),
    ("100", 5), ("0", None)])
def test_star_thresholds_at_the_boundaries(total, stars):
    assert stars_for(D(total)) == stars


@pytest.mark.parametrize(("total", "grade"), [
    ("90", "A"), ("89.99", "B"), ("80", "B"), ("79.99", "C"), ("70", "C"), ("69.99", "D"), ("0", "D")])
def test_hongkou_grade_boundaries(total, grade):
    assert HongkouRubric().grade(D(total)) == grade
    assert RedPropertyRubric().grade(D(total)) is None


def test_quantize_rounds_half_up_exactly_without_floats():
    assert quantize(Fraction(1, 3) * 6) == D("2.00")
    assert quantize(Fraction(5, 6) * 6) == D("5.00")
    assert quantize(Fraction(2, 3)) == D("0.67")
    assert quantize(Fraction(1, 200)) == D("0.01")       # 0.005 -> 0.01 (half up)
    assert quantize(Fraction(1, 201)) == D("0.00")
    assert quantize(Fraction(29, 3), 4) == D("9.6667")


def red_assessment(total: str) -> dict[str, Decimal]:
    """Assessment scores of the Red Property rubric that add up to ``total`` (max 47)."""
    left = D(total)
    out = {}
    for item in RedPropertyRubric().items_from("assessment"):
        take = min(left, item.max_points)
        out[item.code] = take
        left -= take
    assert left == 0
    return out


def test_red_property_arithmetic_with_kpis_scorecards_and_assessments():
    rubric = RedPropertyRubric()
    kpi = KpiCounts(tickets=6, responded=6, responded_on_time=5, resolved=4, resolved_on_time=3, rated=3,
                    satisfied=2, rating_sum=12, reopened=1)
    cards = [ScorecardEvidence("sc-a", "X1", "2026Q4", 1, {"daily_cleaning_greening": D("8.5"),
                                                          "daily_security_facilities": D("9"),
                                                          "social_residents_trust": D("7")}),
             ScorecardEvidence("sc-b", "X3", "2026Q4", 2, {"daily_cleaning_greening": D("7"),
                                                          "daily_security_facilities": D("6"),
                                                          "social_residents_trust": D("6.5")})]
    ex = score(rubric, Evidence(["2026Q4"], kpi, [], cards), red_assessment("40"))
    points = {i.code: i.points for i in ex.items}
    assert points["svc_response"] == D("5.00")          # 5/6 x 6
    assert points["svc_resolution"] == D("4.00")        # 4/6 x 6
    assert points["svc_satisfaction"] == D("4.00")      # 2/3 x 6
    assert points["svc_on_time"] == D("3.00")           # 3/4 x 4
    assert points["svc_no_reopen"] == D("2.50")         # 5/6 x 3
    assert points["daily_cleaning_greening"] == D("7.75")
    assert points["daily_security_facilities"] == D("7.50")
    assert points["social_residents_trust"] == D("6.75")
    assert ex.total == sum(points.values()) == D("40") + D("18.50") + D("22.00")
    assert ex.stars == 3 and all(isinstance(i.points, Decimal) for i in ex.items)
    assert "5/6" in next(i.basis for i in ex.items if i.code == "svc_response")
    assert [s["id"] for s in ex.scorecards] == ["sc-a", "sc-b"]
    index, pts, maximum = evidence_index(ex)
    assert (pts, maximum) == (D("40.50"), D(53))
    assert index == quantize(Fraction(4050, 53))


def test_no_tickets_gives_full_kpi_points_and_no_scorecard_gives_none():
    ex = score(RedPropertyRubric(), Evidence(["2026Q1"]), red_assessment("47"))
    by = {i.code: i for i in ex.items}
    assert by["svc_response"].points == 6 and "nothing to count" in by["svc_response"].basis
    assert by["daily_cleaning_greening"].points == 0 and "no signed" in by["daily_cleaning_greening"].basis
    assert ex.total == D("72.00") and ex.stars == 3
    assert evidence_index(ex)[0] is None  # no evidence at all in the quarter: no index


@pytest.mark.parametrize(("assessed", "total", "stars", "grade"), [
    ("75", "85.00", 4, "B"), ("74.99", "84.99", 3, "B"), ("69.99", "79.99", 3, "C"), ("76", "86.00", 4, "B"), ("60", "70.00", 3, "C"),
    ("59.99", "69.99", None, "D")])
def test_hongkou_totals_at_the_boundaries(assessed, total, stars, grade):
    rubric = HongkouRubric()
    left, scores = D(assessed), {}
    for item in rubric.items_from("assessment"):
        if item.bonus:
            continue
        scores[item.code] = min(left, item.max_points)
        left -= scores[item.code]
    ex = score(rubric, Evidence(["2025Q1"]), scores)   # KPIs: no tickets, full 10 points
    assert (ex.total, ex.stars, ex.grade) == (D(total), stars, grade)


def test_hongkou_bonuses_are_capped_and_a_negative_event_vetoes():
    rubric = HongkouRubric()
    scores = {i.code: i.max_points for i in rubric.items_from("assessment")}   # 76 + bonuses 3 + 2
    ex = score(rubric, Evidence(["2025Q1"]), scores)
    assert ex.total == D("89.00")   # 76 + 10 (KPIs) + bonus capped at 3; scorecards missing: 0
    assert [(a.kind, a.points) for a in ex.adjustments] == [("bonus_cap", D("-2.00"))]
    vetoed = score(rubric, Evidence(["2025Q1"]), scores, veto="fraud on 2025-03-01")
    assert vetoed.total == D("89.00") and vetoed.stars is None and vetoed.grade == "D"
    assert vetoed.adjustments[-1].kind == "veto"


def test_scores_are_checked_against_the_rubric():
    rubric = RedPropertyRubric()
    with pytest.raises(ValidationFailed) as err:
        rubric.check_scores({"daily_cleaning_greening": D("10.01"), "no_such_item": D(1)}, ("scorecard",))
    fields = {f["field"]: f["type"] for f in err.value.fields}
    assert fields == {"scores.daily_cleaning_greening": "out_of_range", "scores.no_such_item": "unknown_item",
                      "scores.daily_security_facilities": "missing", "scores.social_residents_trust": "missing"}
    with pytest.raises(ValidationFailed):   # an assessment item is not on the committee's scorecard
        rubric.check_scores({"org_party_branch": D(5)}, ("scorecard",))


def test_the_rubric_is_chosen_by_settings_and_a_missing_one_stops_start_up():
    from redprop.config import Settings

    assert isinstance(RUBRIC.create(Settings()), RedPropertyRubric)
    assert isinstance(RUBRIC.create(Settings(plugins={"evaluation.rubric": "hongkou"})), HongkouRubric)
    with pytest.raises(PluginError, match="evaluation.rubric"):
        RUBRIC.create(Settings(plugins={"evaluation.rubric": "no_such_rubric"}))


def test_quarters_are_asia_shanghai_quarters():
    # 30 Sep 2026 16:30 UTC is 1 Oct 00:30 in Shanghai: the fourth quarter.
    assert periods.period_of(datetime(2026, 9, 30, 16, 30, tzinfo=UTC)) == "2026Q4"
    assert periods.period_of(datetime(2026, 9, 30, 15, 59, tzinfo=UTC)) == "2026Q3"
    assert periods.shift("2026Q1", -1) == "2025Q4" and periods.shift("2025Q4", 1) == "2026Q1"
    assert periods.last_n("2026Q2", 4) == ["2025Q3", "2025Q4", "2026Q1", "2026Q2"]
    start, end = periods.bounds("2026Q4")
    assert (start.month, end.year, end.month) == (10, 2027, 1)
    with pytest.raises(ValidationFailed):
        periods.parse("2026Q5")
