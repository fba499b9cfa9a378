"""The three rates (三率) and the monthly problem summary.

Definitions (per group, over tickets submitted in the period, cancelled and merged ones left out):
  response rate      tickets first answered by their deadline / tickets
  resolution rate    tickets resolved / tickets
  satisfaction rate  ratings of 4 or 5 / ratings
  on-time rate       tickets resolved by their deadline without a breach / tickets resolved
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from statistics import fmean

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from redprop.contracts.ticketing import OPEN_STATUSES, RateRow, SummaryItem
from redprop.services.ticketing.models import fund_uses, tickets
from redprop.services.ticketing.workcalendar import CHINA

GROUP_COLUMNS = {
    "handler": tickets.c.handler_id, "complex": tickets.c.complex_id, "grid": tickets.c.grid_id,
    "community": tickets.c.community_id, "district": tickets.c.district,
}
COUNTED = ("submitted", "dispatched", "in_progress", "awaiting_resident", "resolved", "closed")


class _Acc:
    def __init__(self):
        self.tickets = self.responded = self.responded_on_time = 0
        self.resolved = self.resolved_on_time = self.rated = self.satisfied = self.reopened = 0
        self.ratings: list[int] = []
        self.to_respond: list[float] = []
        self.to_resolve: list[float] = []
        self.name: str | None = None

    def add(self, t) -> None:
        self.tickets += 1
        if t.responded_at is not None:
            self.responded += 1
            self.to_respond.append((t.responded_at - t.submitted_at).total_seconds() / 3600)
            if not t.response_breached and t.responded_at <= t.response_due_at:
                self.responded_on_time += 1
        if t.resolved_at is not None:
            self.resolved += 1
            self.to_resolve.append((t.resolved_at - t.submitted_at).total_seconds() / 3600)
            if not t.resolution_breached and t.resolved_at <= t.resolution_due_at:
                self.resolved_on_time += 1
        if t.rating is not None:
            self.rated += 1
            self.ratings.append(t.rating)
            self.satisfied += t.rating >= 4
        self.reopened += t.reopen_count > 0

    def row(self, key: str) -> RateRow:
        def ratio(a, b):
            return round(a / b, 4) if b else None

        return RateRow(
            key=key, name=self.name, tickets=self.tickets, responded=self.responded,
            responded_on_time=self.responded_on_time, resolved=self.resolved,
            resolved_on_time=self.resolved_on_time, rated=self.rated, satisfied=self.satisfied,
            reopened=self.reopened, response_rate=ratio(self.responded_on_time, self.tickets),
            resolution_rate=ratio(self.resolved, self.tickets), satisfaction_rate=ratio(self.satisfied, self.rated),
            on_time_rate=ratio(self.resolved_on_time, self.resolved),
            mean_rating=round(fmean(self.ratings), 2) if self.ratings else None,
            mean_hours_to_respond=round(fmean(self.to_respond), 2) if self.to_respond else None,
            mean_hours_to_resolve=round(fmean(self.to_resolve), 2) if self.to_resolve else None)


def rates(session: Session, district: str, group_by: str, since: datetime | None, until: datetime | None
          ) -> tuple[list[RateRow], RateRow]:
    column = GROUP_COLUMNS[group_by]
    query = select(column.label("key"), tickets.c.handler_name, tickets.c.submitted_at, tickets.c.responded_at,
                   tickets.c.response_due_at, tickets.c.response_breached, tickets.c.resolved_at,
                   tickets.c.resolution_due_at, tickets.c.resolution_breached, tickets.c.rating,
                   tickets.c.reopen_count).where(
        tickets.c.district == district, tickets.c.status.in_(COUNTED), tickets.c.merged_into.is_(None))
    if since is not None:
        query = query.where(tickets.c.submitted_at >= since)
    if until is not None:
        query = query.where(tickets.c.submitted_at < until)
    groups: dict[str, _Acc] = defaultdict(_Acc)
    total = _Acc()
    for t in session.execute(query.execution_options(yield_per=5000)):
        key = t.key or "(none)"
        groups[key].add(t)
        if group_by == "handler":
            groups[key].name = t.handler_name
        total.add(t)
    return [groups[k].row(k) for k in sorted(groups)], total.row("total")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    year, mon = (int(p) for p in month.split("-"))
    start = datetime(year, mon, 1, tzinfo=CHINA)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=CHINA)
    return start, end


def _items(rows) -> list[SummaryItem]:
    by_category: dict[str, list] = defaultdict(list)
    for r in rows:
        by_category[r.category].append(r)
    return [SummaryItem(category=cat, count=len(rs), ticket_ids=[r.id for r in rs],
                        buildings=sorted({r.building_id for r in rs if r.building_id}))
            for cat, rs in sorted(by_category.items(), key=lambda kv: (-len(kv[1]), kv[0]))]


def monthly_summary(session: Session, district: str, complex_id: str, month: str) -> dict:
    start, end = month_bounds(month)
    rows = session.execute(select(tickets.c.id, tickets.c.category, tickets.c.building_id, tickets.c.status).where(
        tickets.c.district == district, tickets.c.complex_id == complex_id, tickets.c.submitted_at >= start,
        tickets.c.submitted_at < end, tickets.c.status != "cancelled").order_by(tickets.c.submitted_at)).all()
    recurring_keys: dict[tuple, list] = defaultdict(list)
    for r in rows:
        recurring_keys[(r.category, r.building_id)].append(r)
    recurring = [SummaryItem(category=cat, count=len(rs), ticket_ids=[r.id for r in rs],
                             buildings=[b] if b else [])
                 for (cat, b), rs in sorted(recurring_keys.items(), key=lambda kv: (-len(kv[1]), kv[0][0]))
                 if len(rs) >= 2]
    spent = session.execute(select(func.coalesce(func.sum(fund_uses.c.amount), 0)).where(
        fund_uses.c.district == district, fund_uses.c.complex_id == complex_id, fund_uses.c.at >= start,
        fund_uses.c.at < end)).scalar_one()
    return {
        "complex_id": complex_id, "month": month, "received": len(rows),
        "open": _items([r for r in rows if r.status in OPEN_STATUSES]),
        "resolved": _items([r for r in rows if r.status in ("resolved", "closed")]),
        "recurring": recurring, "emergency_fund_spent": Decimal(spent).quantize(Decimal("0.01")),
    }


def fund_usage(session: Session, district: str, complex_id: str, year: int | None) -> tuple[Decimal, list[dict]]:
    query = select(fund_uses).where(fund_uses.c.district == district, fund_uses.c.complex_id == complex_id)
    uses = [u for u in session.execute(query.order_by(fund_uses.c.at))
            if year is None or u.at.astimezone(CHINA).year == year]
    total = sum((u.amount for u in uses), Decimal("0.00"))
    return total, [{"ticket_id": u.ticket_id, "amount": str(u.amount), "at": u.at.isoformat()} for u in uses]
