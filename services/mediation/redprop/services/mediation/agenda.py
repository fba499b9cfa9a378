"""The monthly meeting's agenda, drafted from ticketing's problem summary of a complex.

Recurring problems come first (they need a decision, not another repair), then the open ones, then
what was resolved (to be confirmed at the meeting). Each item links to the tickets behind it, so the
meeting's record leads back to the residents' requests.
"""

from __future__ import annotations

from redprop.contracts import mediation as c
from redprop.contracts.ticketing import MonthlySummaryReply, SummaryItem

MAX_ITEMS = 100


def _item(prefix: str, item: SummaryItem) -> c.AgendaItem:
    where = f" ({', '.join(item.buildings[:3])})" if item.buildings else ""
    title = f"{prefix}: {item.category} x{item.count}{where}"[:200]
    return c.AgendaItem(title=title, links=[c.Link(kind="ticket", id=t) for t in item.ticket_ids[:50]])


def draft(summary: MonthlySummaryReply) -> list[c.AgendaItem]:
    items = ([_item("反复出现 recurring", i) for i in summary.recurring]
             + [_item("未解决 open", i) for i in summary.open]
             + [_item("已解决 resolved", i) for i in summary.resolved])
    if summary.emergency_fund_spent:
        items.append(c.AgendaItem(title=f"应急维修资金使用 emergency repair fund spent: {summary.emergency_fund_spent} yuan"))
    return items[:MAX_ITEMS]
