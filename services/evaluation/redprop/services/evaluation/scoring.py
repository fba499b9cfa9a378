"""A rubric applied to evidence: points per item, adjustments, total, stars, grade, and why.

Every item's points are rounded half up to 2 places first; the total is the exact sum of the points
shown, so anyone can add up an explanation by hand and get the published total. Thresholds (stars,
grades) apply to that published total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from redprop.contracts import evaluation as c
from redprop.services.evaluation import community
from redprop.services.evaluation.counts import KpiCounts, quantize
from redprop.services.evaluation.rubrics import Rubric, stars_for


@dataclass(frozen=True)
class ScorecardEvidence:
    id: str
    complex_id: str
    period: str
    version: int
    scores: dict[str, Decimal]


@dataclass
class Evidence:
    """What a company's score rests on for some quarters."""

    periods: list[str]
    kpi: KpiCounts = field(default_factory=KpiCounts)
    kpi_rows: list[c.Kpi] = field(default_factory=list)
    scorecards: list[ScorecardEvidence] = field(default_factory=list)
    #: The company's turns, paired-unit tasks and project milestones (community.CommunityEvidence).
    community: list = field(default_factory=list)


def _scorecard_points(item, scorecards: list[ScorecardEvidence]) -> tuple[Decimal, str, dict]:
    given = [(s, s.scores[item.code]) for s in scorecards if item.code in s.scores]
    if not given:
        return Decimal("0.00"), "no signed committee scorecard in the period -> 0", {"scorecards": []}
    mean = sum((Fraction(v) for _, v in given), Fraction(0)) / len(given)
    points = quantize(mean)
    values = " + ".join(str(v) for _, v in given)
    basis = (f"mean of {len(given)} committee scorecards: ({values}) / {len(given)} = {points}" if len(given) > 1
             else f"one committee scorecard: {values}")
    return points, basis, {"scorecards": [{"id": s.id, "complex_id": s.complex_id, "period": s.period,
                                           "version": s.version, "points": str(v)} for s, v in given]}


def score(rubric: Rubric, evidence: Evidence, assessed: dict[str, Decimal] | None,
          veto: str | None = None, assessor: str | None = None) -> c.Explanation:
    """Score ``evidence`` with ``rubric``. ``assessed`` holds the assessment items' points (None: leave
    assessment items out, as the quarterly evidence index does). ``veto`` names a negative event."""
    items: list[c.ItemScore] = []
    adjustments: list[c.Adjustment] = []
    base = Decimal("0.00")
    bonus = Decimal("0.00")
    for item in rubric.items:
        if item.source == "assessment" and assessed is None:
            continue
        if item.source == "kpi":
            raw, basis = rubric.kpi_points(item, evidence.kpi)
            points = quantize(raw)
            num, den = evidence.kpi.measure(item.measure)
            inputs = {"measure": item.measure, "numerator": num, "denominator": den}
            basis = f"{basis} = {points}"
        elif item.source == "scorecard":
            points, basis, inputs = _scorecard_points(item, evidence.scorecards)
        else:
            points = quantize(assessed.get(item.code, Decimal(0)))
            basis = f"assessed by {assessor or 'the assessor'}: {points}"
            inputs = {"assessor": assessor}
            kinds = rubric.community_kinds(item.code)
            if kinds:  # what the company did in its communities, beside the assessor's points
                found = [f for f in evidence.community if f.kind in kinds]
                basis = f"{basis}; evidence: {community.summary(found)}"
                inputs["community"] = [f.as_input() for f in found]
        items.append(c.ItemScore(code=item.code, aspect=item.aspect, source=item.source, max_points=item.max_points,
                                 points=points, bonus=item.bonus, basis=basis, inputs=inputs))
        if item.bonus:
            bonus += points
        else:
            base += points
    if bonus > rubric.bonus_cap:
        adjustments.append(c.Adjustment(kind="bonus_cap", points=rubric.bonus_cap - bonus,
                                        reason=f"bonuses {bonus} capped at {rubric.bonus_cap}"))
        bonus = rubric.bonus_cap
    total = base + bonus
    if total > rubric.total_cap:
        adjustments.append(c.Adjustment(kind="total_cap", points=rubric.total_cap - total,
                                        reason=f"total {total} capped at {rubric.total_cap}"))
        total = rubric.total_cap
    stars, grade = stars_for(total), rubric.grade(total)
    if veto is not None:
        adjustments.append(c.Adjustment(kind="veto", points=Decimal(0), reason=f"negative event: {veto}; not eligible"))
        stars, grade = None, rubric.veto_grade
    return c.Explanation(
        rubric=rubric.name, rubric_version=rubric.version, periods=evidence.periods, items=items,
        adjustments=adjustments, total=total, stars=stars, grade=grade,
        scorecards=[{"id": s.id, "complex_id": s.complex_id, "period": s.period, "version": s.version}
                    for s in evidence.scorecards],
        kpis=evidence.kpi_rows)


def evidence_index(explanation: c.Explanation) -> tuple[Decimal | None, Decimal, Decimal]:
    """The quarterly index: scorecard and KPI points over their maximum, scaled to 100 (2 places).

    None when the company has neither a signed scorecard nor a ticket in the quarter."""
    points = sum((i.points for i in explanation.items if i.source != "assessment"), Decimal("0.00"))
    maximum = sum((i.max_points for i in explanation.items if i.source != "assessment"), Decimal(0))
    if not explanation.scorecards and not any(k.tickets for k in explanation.kpis):
        return None, points, maximum
    return (quantize(Fraction(points) * 100 / Fraction(maximum)) if maximum else None), points, maximum
