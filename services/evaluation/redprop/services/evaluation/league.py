"""League tables: each company's quarterly evidence index, ranked, with the trend over quarters.

The index is what a quarter's evidence says on its own: the rubric's scorecard and KPI items (the
assessment items belong to the rating workflow), their points over their maximum, scaled to 100.
Companies tie when their indexes are equal (competition ranking: 1, 2, 2, 4). A company with neither a
signed scorecard nor a ticket in a quarter has no index and no rank there.

The same :class:`~redprop.contracts.evaluation.Standing` rows are published when a quarter closes
(``evaluation.period_closed``), so a city release can merge districts that use the same rubric.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from sqlalchemy.orm import Session

from redprop.contracts import evaluation as c
from redprop.services.evaluation import kpis, scorecards
from redprop.services.evaluation.counts import KpiCounts, quantize
from redprop.services.evaluation.ratings import company_evidence
from redprop.services.evaluation.rubrics import Rubric
from redprop.services.evaluation.scoring import Evidence, ScorecardEvidence, evidence_index, score


def company_score(session: Session, district: str, rubric: Rubric, company_id: str, period: str
                  ) -> tuple[Decimal | None, Decimal, Decimal, c.Explanation]:
    explanation = score(rubric, company_evidence(session, district, company_id, [period]), None)
    index, points, maximum = evidence_index(explanation)
    return index, points, maximum, explanation


def standings(session: Session, district: str, rubric: Rubric, periods: list[str]) -> dict[str, list[c.Standing]]:
    """period -> standings of every company with evidence in it, best first."""
    found = kpis.totals(session, district, "company", None, periods)
    cards = scorecards.evidence(session, district, None, periods)
    companies = sorted({cid for cid, _ in found} | {cid for cid, _ in cards})
    names = kpis.names_of(session, district, companies)
    indexer = Indexer(rubric)
    no_counts = (KpiCounts(), None)
    out: dict[str, list[c.Standing]] = {}
    for period in periods:
        rows = []
        for company in companies:
            counts = found.get((company, period), no_counts)[0]
            its_cards = cards.get((company, period), [])
            if counts.tickets == 0 and not its_cards:
                continue
            rows.append(c.Standing.model_construct(
                company_id=company, name=names.get(company), index=indexer.index(period, counts, its_cards),
                rank=None, tickets=counts.tickets, complexes=len({s.complex_id for s in its_cards})))
        out[period] = rank(rows)
    return out


class Indexer:
    """A quarter's evidence index, as ``evidence_index(score(...))`` gives it, without the explanation.

    A league table scores every company-quarter (thousands) and keeps one number of each; building each
    explanation (its items, bases and KPI rows as validated models) was nine tenths of the table's time.
    The points are the same: each item through the rubric's own ``kpi_points`` or the scorecards' mean,
    rounded as :func:`~redprop.services.evaluation.scoring.score` rounds them. A rubric with an item of
    another source is scored the full way (its source's rule lives in ``score`` alone).
    """

    FAST_SOURCES = frozenset({"kpi", "scorecard", "assessment"})

    def __init__(self, rubric: Rubric):
        self.rubric = rubric
        self.fast = all(i.source in self.FAST_SOURCES for i in rubric.items)
        self.items = [i for i in rubric.items if i.source != "assessment"]
        self.maximum = sum((i.max_points for i in self.items), Decimal(0))
        # Few distinct rates, card values and sums recur across thousands of company-quarters: each exact
        # value is computed once. KPI points are keyed by the measure only when the rubric keeps the
        # base rule (points from the measure alone); an override sees the counts every time.
        self._by_measure = type(rubric).kpi_points is Rubric.kpi_points
        self._kpi: dict = {}
        self._cards: dict = {}
        self._scaled: dict = {}

    def index(self, period: str, counts: KpiCounts, cards: list[ScorecardEvidence]) -> Decimal | None:
        if not self.fast:
            explanation = score(self.rubric, Evidence(periods=[period], kpi=counts,
                                                      kpi_rows=[kpis.kpi_row("company", "-", period, counts)],
                                                      scorecards=cards), None)
            return evidence_index(explanation)[0]
        if (not cards and not counts.tickets) or not self.maximum:
            return None
        points = Decimal("0.00")
        for item in self.items:
            if item.source == "kpi":
                points += self._kpi_points(item, counts)
                continue
            given = tuple(s.scores[item.code] for s in cards if item.code in s.scores)
            if given:
                mean = self._cards.get(given)
                if mean is None:
                    mean = self._cards[given] = quantize(sum((Fraction(v) for v in given), Fraction(0)) / len(given))
                points += mean
        index = self._scaled.get(points)
        if index is None:
            index = self._scaled[points] = quantize(Fraction(points) * 100 / Fraction(self.maximum))
        return index

    def _kpi_points(self, item, counts: KpiCounts) -> Decimal:
        if not self._by_measure:
            return quantize(self.rubric.kpi_points(item, counts)[0])
        key = (item.code, *counts.measure(item.measure))
        points = self._kpi.get(key)
        if points is None:
            points = self._kpi[key] = quantize(self.rubric.kpi_points(item, counts)[0])
        return points


def rank(rows: list[c.Standing]) -> list[c.Standing]:
    ordered = sorted(rows, key=lambda s: (s.index is None, -(s.index or 0), s.company_id))
    better = 0
    for n, s in enumerate(ordered):
        if s.index is None:
            continue
        if n == 0 or ordered[n - 1].index != s.index:
            better = n
        s.rank = better + 1
    return ordered


def table(session: Session, district: str, rubric: Rubric, periods: list[str], stars: dict[str, int],
          limit: int) -> c.LeagueTableReply:
    by_period = standings(session, district, rubric, periods)
    per_company: dict[str, dict[str, c.Standing]] = {}
    for period, rows in by_period.items():
        for s in rows:
            per_company.setdefault(s.company_id, {})[period] = s
    last, previous = periods[-1], periods[-2] if len(periods) > 1 else None
    rows = []
    for company, seen in per_company.items():
        now, before = seen.get(last), seen.get(previous) if previous else None
        change = (now.index - before.index) if now and before and now.index is not None and before.index is not None else None
        rank_change = (before.rank - now.rank) if now and before and now.rank and before.rank else None
        name = next((s.name for s in seen.values() if s.name), None)
        # Built unvalidated: every value comes from the standings above (thousands of rows per table).
        rows.append(c.LeagueRow.model_construct(
            company_id=company, name=name, rank=now.rank if now else None, index=now.index if now else None,
            change=change, rank_change=rank_change, stars=stars.get(company),
            trend=[c.PeriodScore.model_construct(period=p, index=seen[p].index, rank=seen[p].rank,
                                                 tickets=seen[p].tickets) if p in seen else
                   c.PeriodScore.model_construct(period=p, index=None, rank=None, tickets=0) for p in periods]))
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.company_id))
    moved = [r for r in rows if r.change is not None]
    best = [r.company_id for r in sorted(moved, key=lambda r: (-r.change, r.company_id)) if r.change > 0][:3]
    worst = [r.company_id for r in sorted(moved, key=lambda r: (r.change, r.company_id)) if r.change < 0][:3]
    return c.LeagueTableReply(district=district, rubric=rubric.name, rubric_version=rubric.version, periods=periods,
                              rows=rows[:limit], best_movers=best, worst_movers=worst)
