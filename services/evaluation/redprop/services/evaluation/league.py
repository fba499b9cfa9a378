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

from sqlalchemy.orm import Session

from redprop.contracts import evaluation as c
from redprop.services.evaluation import kpis, scorecards
from redprop.services.evaluation.counts import KpiCounts
from redprop.services.evaluation.ratings import company_evidence
from redprop.services.evaluation.rubrics import Rubric
from redprop.services.evaluation.scoring import Evidence, evidence_index, score


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
    out: dict[str, list[c.Standing]] = {}
    for period in periods:
        rows = []
        for company in companies:
            counts = found.get((company, period), (KpiCounts(), None))[0]
            its_cards = cards.get((company, period), [])
            if counts.tickets == 0 and not its_cards:
                continue
            explanation = score(rubric, Evidence(periods=[period], kpi=counts,
                                                 kpi_rows=[kpis.kpi_row("company", company, period, counts)],
                                                 scorecards=its_cards), None)
            index, _, _ = evidence_index(explanation)
            rows.append(c.Standing(company_id=company, name=names.get(company), index=index, rank=None,
                                   tickets=counts.tickets, complexes=len({s.complex_id for s in its_cards})))
        out[period] = rank(rows)
    return out


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
        rows.append(c.LeagueRow(
            company_id=company, name=name, rank=now.rank if now else None, index=now.index if now else None,
            change=change, rank_change=rank_change, stars=stars.get(company),
            trend=[c.PeriodScore(period=p, index=seen[p].index if p in seen else None,
                                 rank=seen[p].rank if p in seen else None,
                                 tickets=seen[p].tickets if p in seen else 0) for p in periods]))
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.company_id))
    moved = [r for r in rows if r.change is not None]
    best = [r.company_id for r in sorted(moved, key=lambda r: (-r.change, r.company_id)) if r.change > 0][:3]
    worst = [r.company_id for r in sorted(moved, key=lambda r: (r.change, r.company_id)) if r.change < 0][:3]
    return c.LeagueTableReply(district=district, rubric=rubric.name, rubric_version=rubric.version, periods=periods,
                              rows=rows[:limit], best_movers=best, worst_movers=worst)
