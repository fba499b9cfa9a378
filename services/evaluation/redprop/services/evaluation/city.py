"""The city league table (the city release): every district's published standings, ranked together.

The districts' ``evaluation.period_closed`` events are federated into the city vhost. The city keeps one
set of standings per (district, period): the newest by ``occurred_at``. With the inbox (each
``event_id`` once), a duplicated or republished event replaces what is there with the same facts and
never adds a second copy, and an older one (a replay arriving late) never overwrites a newer one.

Companies are keyed by district + company id (ids are only unique within a district). Indexes are only
comparable under the same rubric, so each rubric is a group ranked on its own (competition ranking,
like a district's table: 1, 2, 2, 4).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from redprop.clock import utcnow
from redprop.contracts import evaluation as c
from redprop.services.evaluation import models as m
from redprop.services.evaluation.counts import quantize
from redprop.services.evaluation.periods import last_n
from redprop.services.evaluation.summary import STAR_LEVELS

Key = tuple[str, str]  # (district, company_id)
MOVERS = 3


# -- keeping the districts' standings --------------------------------------------------------------


def keep(db: Session, city: str, evt: c.PeriodClosed) -> bool:
    """Store a district's standings for a period unless what is kept is as new or newer; True if stored."""
    if evt.district == city:
        return False  # the city's own instance publishes no district standings worth ranking
    t = m.city_standings.c
    as_of = db.execute(select(t.as_of).where(t.district == evt.district, t.period == evt.period)).scalar_one_or_none()
    if as_of is not None and evt.occurred_at <= as_of:
        return False  # a duplicate, or older than what we know
    values = dict(rubric=evt.rubric, rubric_version=evt.rubric_version,
                  standings=[s.model_dump(mode="json") for s in evt.standings], event_id=evt.event_id,
                  as_of=evt.occurred_at, updated_at=utcnow())
    if as_of is None:
        db.execute(m.city_standings.insert().values(district=evt.district, period=evt.period, **values))
    else:
        db.execute(update(m.city_standings).where(t.district == evt.district, t.period == evt.period).values(**values))
    return True


def districts_kept(db: Session) -> int:
    return db.execute(select(func.count(func.distinct(m.city_standings.c.district)))).scalar_one()


# -- the table -------------------------------------------------------------------------------------


@dataclass
class _Entry:
    standing: c.Standing
    rubric_version: str
    city_rank: int | None = None


def _rank_period(entries: dict[Key, _Entry]) -> None:
    ordered = sorted(entries.items(), key=lambda kv: (kv[1].standing.index is None, -(kv[1].standing.index or 0),
                                                      kv[0]))
    better = 0
    for n, (_, e) in enumerate(ordered):
        if e.standing.index is None:
            continue
        if n == 0 or ordered[n - 1][1].standing.index != e.standing.index:
            better = n
        e.city_rank = better + 1


def _group(rubric: str, periods: list[str], by_period: dict[str, dict[Key, _Entry]], limit: int) -> c.RubricLeague:
    for entries in by_period.values():
        _rank_period(entries)
    companies = sorted({k for entries in by_period.values() for k in entries})
    last, previous = periods[-1], periods[-2] if len(periods) > 1 else None
    rows = []
    for key in companies:
        seen = {p: by_period[p][key] for p in periods if key in by_period.get(p, {})}
        now, before = seen.get(last), seen.get(previous) if previous else None
        change = (now.standing.index - before.standing.index) \
            if now and before and now.standing.index is not None and before.standing.index is not None else None
        rank_change = (before.city_rank - now.city_rank) if now and before and now.city_rank and before.city_rank \
            else None
        newest = seen[max(seen)]
        rows.append(c.CityLeagueRow(
            district=key[0], company_id=key[1],
            name=next((e.standing.name for _, e in sorted(seen.items(), reverse=True) if e.standing.name), None),
            rank=now.city_rank if now else None, district_rank=now.standing.rank if now else None,
            index=now.standing.index if now else None, change=change, rank_change=rank_change,
            stars=newest.standing.stars,
            trend=[c.CityPeriodScore(period=p, index=seen[p].standing.index if p in seen else None,
                                     rank=seen[p].city_rank if p in seen else None,
                                     district_rank=seen[p].standing.rank if p in seen else None,
                                     tickets=seen[p].standing.tickets if p in seen else 0) for p in periods]))
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.district, r.company_id))
    moved = [r for r in rows if r.change is not None]
    best = [c.CompanyKey(district=r.district, company_id=r.company_id)
            for r in sorted(moved, key=lambda r: (-r.change, r.district, r.company_id)) if r.change > 0][:MOVERS]
    worst = [c.CompanyKey(district=r.district, company_id=r.company_id)
             for r in sorted(moved, key=lambda r: (r.change, r.district, r.company_id)) if r.change < 0][:MOVERS]
    return c.RubricLeague(
        rubric=rubric, rubric_versions=sorted({e.rubric_version for es in by_period.values() for e in es.values()}),
        districts=sorted({k[0] for k in companies}), total=len(rows), rows=rows[:limit], best_movers=best,
        worst_movers=worst)


def _district_summary(district: str, periods: list[str], kept: dict[str, object]) -> c.DistrictLeagueSummary:
    trend = []
    for period in periods:
        row = kept.get(period)
        indexes = [s["index"] for s in row.standings if s.get("index") is not None] if row else []
        mean = quantize(sum((Decimal(str(i)) for i in indexes), Decimal(0)) / len(indexes)) if indexes else None
        trend.append(c.DistrictPeriod(period=period, companies=len(indexes), mean_index=mean))
    newest = kept[max(kept)]
    last = kept.get(periods[-1])
    stars = defaultdict(int)
    for s in last.standings if last else []:
        if s.get("stars") is not None:
            stars[int(s["stars"])] += 1
    return c.DistrictLeagueSummary(
        district=district, rubric=newest.rubric, companies=trend[-1].companies, mean_index=trend[-1].mean_index,
        stars=[c.StarCount(stars=n, companies=stars[n]) for n in STAR_LEVELS], trend=trend,
        last_closed_at=newest.as_of)


def newest_period(db: Session, city: str) -> str | None:
    t = m.city_standings.c
    return db.execute(select(func.max(t.period)).where(t.district != city)).scalar_one_or_none()


def table(db: Session, city: str, request: c.CityLeagueTableRequest) -> c.CityLeagueTableReply:
    until = request.period or newest_period(db, city)
    if until is None:
        return c.CityLeagueTableReply(city=city, periods=[], groups=[], districts=[])
    periods = last_n(until, request.periods)
    t = m.city_standings.c
    rows = db.execute(select(m.city_standings).where(t.period.in_(periods), t.district != city)
                      .order_by(t.district, t.period)).all()
    # rubric -> period -> (district, company) -> entry; and district -> period -> row for the summaries
    grouped: dict[str, dict[str, dict[Key, _Entry]]] = defaultdict(lambda: defaultdict(dict))
    per_district: dict[str, dict[str, object]] = defaultdict(dict)
    for row in rows:
        per_district[row.district][row.period] = row
        for raw in row.standings:
            s = c.Standing.model_validate(raw)
            grouped[row.rubric][row.period][(row.district, s.company_id)] = _Entry(s, row.rubric_version)
    groups = [_group(rubric, periods, by_period, request.limit) for rubric, by_period in grouped.items()]
    groups.sort(key=lambda g: (-g.total, g.rubric))
    return c.CityLeagueTableReply(
        city=city, periods=periods, groups=groups,
        districts=[_district_summary(d, periods, kept) for d, kept in sorted(per_district.items())])
