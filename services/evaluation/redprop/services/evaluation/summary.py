"""The district summary behind the report: KPI sums per quarter over the property companies, and how
many companies hold an active certificate of each star level."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session

from redprop.contracts import evaluation as c
from redprop.services.evaluation import models as m
from redprop.services.evaluation import ratings
from redprop.services.evaluation.counts import COUNTERS, KpiCounts, quantize, rate_decimal

STAR_LEVELS = (5, 4, 3)


def period_kpis(session: Session, district: str, periods: list[str]) -> tuple[list[c.PeriodKpi], datetime | None]:
    """One row per period (oldest first): the company totals summed in the database."""
    t = m.kpi_totals
    query = (select(t.c.period, func.count().label("companies"), func.max(t.c.last_event_at).label("last"),
                    *[func.sum(t.c[name]).label(name) for name in COUNTERS])
             .where(t.c.district == district, t.c.scope == "company", t.c.period.in_(periods), t.c.tickets > 0)
             .group_by(t.c.period))
    found = {r.period: r for r in session.execute(query)}
    rows, last = [], None
    for period in periods:
        r = found.get(period)
        counts = KpiCounts(*(int(getattr(r, name)) for name in COUNTERS)) if r else KpiCounts()
        if r is not None and r.last is not None:
            last = r.last if last is None else max(last, r.last)
        mean = counts.mean_rating()
        rows.append(c.PeriodKpi(
            period=period, companies=r.companies if r else 0, tickets=counts.tickets, rated=counts.rated,
            response_rate=rate_decimal(counts.rate("response_rate")),
            resolution_rate=rate_decimal(counts.rate("resolution_rate")),
            satisfaction_rate=rate_decimal(counts.rate("satisfaction_rate")),
            on_time_rate=rate_decimal(counts.rate("on_time_rate")),
            reopen_rate=rate_decimal(counts.rate("reopen_rate")),
            mean_rating=None if mean is None else quantize(mean)))
    return rows, last


def companies_with_evidence(session: Session, district: str, periods: list[str]) -> set[str]:
    t, s = m.kpi_totals, m.scorecards
    query = union(
        select(t.c.scope_id.label("id")).where(t.c.district == district, t.c.scope == "company",
                                               t.c.period.in_(periods), t.c.tickets > 0),
        select(s.c.company_id.label("id")).where(s.c.district == district, s.c.period.in_(periods),
                                                 s.c.effective_version.is_not(None)))
    return set(session.execute(query).scalars())


def summary(session: Session, district: str, periods: list[str], today: date) -> c.DistrictSummaryReply:
    kpi_rows, last = period_kpis(session, district, periods)
    stars = ratings.active_stars(session, district, today)
    companies = companies_with_evidence(session, district, periods) | set(stars)
    return c.DistrictSummaryReply(
        district=district, periods=periods, kpis=kpi_rows, companies=len(companies), last_event_at=last,
        stars=[c.StarCount(stars=level, companies=sum(1 for v in stars.values() if v == level))
               for level in STAR_LEVELS])
