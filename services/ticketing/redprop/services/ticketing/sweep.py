"""The SLA sweep: find open tickets whose next check is due, mark at-risk and breached, escalate.

It reads only the partial index ``ix_tickets_sweep`` (open tickets with a ``next_check_at``), in
batches, each batch its own transaction. Each check moves ``next_check_at`` to the ticket's next
relevant moment, so a second sweep (or a second replica) at the same time finds nothing more to do:
on PostgreSQL the batch is locked with ``FOR UPDATE SKIP LOCKED``; on SQLite there is one writer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from redprop.services.ticketing.lifecycle import TicketDesk
from redprop.services.ticketing.models import tickets
from redprop.services.ticketing.outcome import Outcome
from redprop.services.ticketing.views import TicketRecord


@dataclass
class SweepTotals:
    examined: int = 0
    newly_at_risk: int = 0
    newly_breached: int = 0
    escalated: int = 0

    def add(self, change: str) -> None:
        self.examined += 1
        if change == "at_risk":
            self.newly_at_risk += 1
        elif change == "breached":
            self.newly_breached += 1
        elif change == "escalated":
            self.newly_breached += 1
            self.escalated += 1


def due_batch(session: Session, district: str, now: datetime, limit: int) -> list:
    t = tickets.c
    return list(session.execute(
        select(tickets)
        .where(t.next_check_at.is_not(None), t.next_check_at <= now, t.district == district)
        .order_by(t.next_check_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ))


def sweep_batch(desk: TicketDesk, now: datetime, limit: int, place_of: Callable[[TicketRecord], object],
                totals: SweepTotals) -> tuple[int, Outcome]:
    """Check one batch in the desk's transaction (the caller settles and commits). Returns how many
    were examined, and the batch's outcome."""
    rows = due_batch(desk.session, desk.district, now, limit)
    outcome = desk.sweep(rows, place_of)
    for change in outcome.result:
        totals.add(change)
    return len(rows), outcome
