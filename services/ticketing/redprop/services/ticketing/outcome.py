"""What a desk operation produces: rows to write, events, notices and metrics, as plain data.

Nothing in an :class:`Outcome` has happened yet; ``TicketingService._settle`` makes it happen, in one
place, for intake (whose rows go to the group commit) and for every other transition alike.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, insert, text, update
from sqlalchemy.orm import Session

from redprop.clock import utcnow
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
    """Write an outcome's rows: one INSERT per table, and one UPDATE per set of changed columns (a
    sweep batch changes the same few columns of many tickets)."""
    for table, rows in outcome.inserts:
        session.execute(insert(table), rows)
    by_columns: dict[frozenset, list[dict]] = {}
    for ticket_id, values in outcome.updates:
        by_columns.setdefault(frozenset(values), []).append({"ticket_id_": ticket_id, **values})
    many = len(outcome.updates) > 1 and session.get_bind().dialect.name == "postgresql"
    for columns, params in by_columns.items():
        if many and len(params) > 1:
            _update_many(session, sorted(columns), params)
        else:
            session.execute(_UPDATE_TICKET, params)


def _update_many(session: Session, columns: list[str], params: list[dict]):
    """Many tickets' changes in one statement and one round trip (psycopg2's executemany sends an
    UPDATE a row): ``UPDATE tickets ... FROM unnest(ids, column arrays)``. One array parameter per
    column keeps the statement's text the same for any number of tickets, so it is built once."""
    dialect = session.get_bind().dialect
    statement, processors = _many_row_update(dialect, tuple(columns))
    arrays = {"ids": [p["ticket_id_"] for p in params]}
    for name, process in processors.items():
        arrays[name] = [p[name] for p in params] if process is None else [process(p[name]) for p in params]
    if "updated_at" not in columns:  # the column's onupdate, as the ORM-style UPDATE applies it
        arrays["updated_at"] = utcnow()
    session.execute(statement, arrays)


@functools.cache
def _many_row_update(dialect, columns: tuple[str, ...]):
    """The statement for one set of changed columns, and each column's bind processing (JSON, dates)."""
    def sql_type(name: str) -> str:
        return tickets.c[name].type.compile(dialect=dialect)

    assignments = [f'"{name}" = changed."{name}"' for name in columns]
    if "updated_at" not in columns:
        assignments.append('"updated_at" = :updated_at')
    arrays = ", ".join([f"CAST(:ids AS {sql_type('id')}[])",
                        *(f"CAST(:{name} AS {sql_type(name)}[])" for name in columns)])
    names = ", ".join(f'"{name}"' for name in columns)
    statement = text(f"UPDATE tickets SET {', '.join(assignments)} "
                     f"FROM unnest({arrays}) AS changed(ticket_id_, {names}) WHERE tickets.id = changed.ticket_id_")
    processors = {name: tickets.c[name].type.bind_processor(dialect) for name in columns}
    return statement, processors
