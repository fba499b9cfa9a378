"""What a desk operation produces: rows to write, events, notices and metrics, as plain data.

Nothing in an :class:`Outcome` has happened yet; ``TicketingService._settle`` makes it happen, in one
place, for intake (whose rows go to the group commit) and for every other transition alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session

from redprop.contracts import ticketing as c
from redprop.services.ticketing.models import tickets
from redprop.services.ticketing.notifiers import Notice


@dataclass
class Outcome:
    """What one desk operation produced; nothing of it has happened until the service settles it."""

    #: New rows per table, parents first (tickets, then their history and fund uses).
    inserts: list[tuple[Table, list[dict]]] = field(default_factory=list)
    #: (ticket id, changed columns) of tickets that were read and changed.
    updates: list[tuple[str, dict]] = field(default_factory=list)
    events: list[c.TicketEvent] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    escalations: list[tuple[str, str]] = field(default_factory=list)   # (trigger, to_level)
    breaches: list[tuple[str, str]] = field(default_factory=list)      # (deadline, sla_class)
    timings: list[tuple[str, str, float]] = field(default_factory=list)  # (measure, sla_class, seconds)
    #: What the operation answers: the new ticket (submit), what changed in each (sweep), else None.
    result: Any = None


#: The tickets' UPDATE: the SET clause comes from the parameters' keys, the changed columns.
_UPDATE_TICKET = update(tickets).where(tickets.c.id == bindparam("ticket_id_"))


def write_rows(session: Session, outcome: Outcome) -> None:
    """Write an outcome's rows: one INSERT per table, and one executemany UPDATE per set of changed
    columns (a sweep batch changes the same few columns of many tickets, as the ORM's flush batched them)."""
    for table, rows in outcome.inserts:
        session.execute(insert(table), rows)
    by_columns: dict[frozenset, list[dict]] = {}
    for ticket_id, values in outcome.updates:
        by_columns.setdefault(frozenset(values), []).append({"ticket_id_": ticket_id, **values})
    for params in by_columns.values():
        session.execute(_UPDATE_TICKET, params)
