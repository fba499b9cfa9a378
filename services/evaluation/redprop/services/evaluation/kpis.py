"""Ticket KPIs from ticketing's events, incremental and order-insensitive.

Each ticket has one state row: the latest facts seen and what the ticket contributes to the totals.
Facts are ordered by their version ``(reopen_count, occurred_at)``: reopening only ever increases the
count, and within one round the event that happened later carries the later facts. An event older than
the kept facts changes nothing (duplicates are also caught before, by the inbox on ``event_id``), so
any delivery order ends in the same state. When the kept facts change, the ticket's old contribution
is taken out of the totals and the new one put in: the totals are always the sum over the tickets.

A ticket counts for its complex, and for the property company that last held it (by version): the
company answers for a ticket it held even after the ticket climbed the ladder; tickets the company
never held (a water outage sent to the water company) do not count against it. A ticket belongs to the
quarter (Asia/Shanghai) of its ``submitted_at``. Cancelled (and merged) tickets count nowhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import case, func, literal_column, select
from sqlalchemy.orm import Session

from redprop.contracts import evaluation as c
from redprop.contracts.ticketing import TicketEvent, TicketFacts
from redprop.db import upsert
from redprop.services.evaluation import models as m
from redprop.services.evaluation.counts import COUNTERS, KpiCounts, quantize, rate_decimal
from redprop.services.evaluation.periods import period_of

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def contribution(facts: TicketFacts) -> KpiCounts:
    """What one ticket adds to its totals, from its facts."""
    if facts.status == "cancelled":
        return KpiCounts()
    rated = facts.rating is not None
    return KpiCounts(
        tickets=1,
        responded=int(facts.responded_at is not None),
        responded_on_time=int(facts.responded_on_time is True),
        resolved=int(facts.resolved_at is not None),
        resolved_on_time=int(facts.resolved_at is not None and facts.resolved_on_time is True),
        rated=int(rated),
        satisfied=int(rated and facts.rating >= 4),
        rating_sum=facts.rating if rated else 0,
        reopened=int(facts.reopen_count > 0),
    )


def _counts(row) -> KpiCounts:
    return KpiCounts(*(getattr(row, name) for name in COUNTERS))


def _keys(district_row_company: str | None, complex_id: str | None, period: str) -> list[tuple[str, str, str]]:
    keys = []
    if district_row_company:
        keys.append(("company", district_row_company, period))
    if complex_id:
        keys.append(("complex", complex_id, period))
    return keys


@dataclass
class Ingested:
    #: The kept facts changed (False: the event was older than what is kept).
    applied: bool
    #: The totals changed.
    moved: bool
    period: str


_TICKET_KEYS = ("district", "ticket_id")
_TOTAL_KEYS = ("district", "scope", "scope_id", "period")


def ingest(session: Session, district: str, evt: TicketEvent) -> Ingested:
    return ingest_many(session, district, [evt])[0]


def ingest_many(session: Session, district: str, events: Sequence[TicketEvent]) -> list[Ingested]:
    """Ingest ``events`` in this order, in one go: the same rows and totals as one ``ingest`` each.

    A batch costs a fixed handful of statements whatever its size (create the missing ticket rows, lock
    them all, write them back, move every touched total once, remember the names); the events are
    folded into the locked rows in memory. Rows and totals are locked in key order: no deadlocks
    between batches of several consumers.
    """
    if not events:
        return []
    t = m.kpi_tickets
    ids = sorted({e.ticket.ticket_id for e in events})
    first = {}
    for e in events:
        first.setdefault(e.ticket.ticket_id, e)
    # Make sure the rows exist, then lock them: concurrent events of one ticket take turns here.
    session.execute(_many(upsert(session, t)), [_placeholder(district, first[i]) for i in ids])
    rows = {r["ticket_id"]: dict(r) for r in session.execute(
        select(t).where(t.c.district == district, t.c.ticket_id.in_(ids)).order_by(t.c.ticket_id)
        .with_for_update()).mappings()}
    results, moves, names = [], {}, {}
    for evt in events:
        results.append(_fold(rows[evt.ticket.ticket_id], evt, moves))
        handler = evt.ticket.handler
        if handler is not None and handler.kind == "property_company" and handler.name:
            names[handler.id] = handler.name  # the newest name wins, as one upsert per event would
    session.execute(_many(upsert(session, t, _TICKET_KEYS, update=[c.name for c in t.c if c.name not in _TICKET_KEYS])),
                    [rows[i] for i in ids])
    if moves:
        _add_to_totals(session, district, moves)
    if names:
        stmt = _many(upsert(session, m.names, ["district", "id"], update=["name"]))
        session.execute(stmt, [{"district": district, "id": i, "kind": "company", "name": names[i][:200]}
                               for i in sorted(names)])
    return results


def _many(stmt):
    """An upsert of many rows as one statement: SQLAlchemy sends ``INSERT ... ON CONFLICT`` with many rows
    as one multi-row VALUES only when it has a RETURNING (else one round trip per row)."""
    return stmt.returning(literal_column("1"))


def _placeholder(district: str, evt: TicketEvent) -> dict:
    """A ticket row older than any event: the first event's facts replace it."""
    return dict(district=district, ticket_id=evt.ticket.ticket_id, period=period_of(evt.ticket.submitted_at),
                complex_id=None, company_id=None, company_reopens=None, company_at=None, version_reopens=-1,
                version_at=EPOCH, status="unknown", rating=None, events_seen=0,
                last_event_at=evt.occurred_at.astimezone(UTC), **dict.fromkeys(COUNTERS, 0))


def _fold(row: dict, evt: TicketEvent, moves: dict) -> Ingested:
    """Apply one event to its ticket's row (in place) and add what it moves to ``moves``:
    (scope, scope_id, period) -> [delta, newest event time]."""
    facts = evt.ticket
    at = evt.occurred_at.astimezone(UTC)
    version = (facts.reopen_count, at)
    old = _counts_of(row)
    old_keys = _keys(row["company_id"], row["complex_id"], row["period"])
    row["events_seen"] += 1
    row["last_event_at"] = max(row["last_event_at"], at)

    company = row["company_id"]
    if (facts.handler is not None and facts.handler.kind == "property_company"
            and (row["company_at"] is None or version > (row["company_reopens"], row["company_at"]))):
        company = facts.handler.id
        row.update(company_id=company, company_reopens=facts.reopen_count, company_at=at)

    applied = version > (row["version_reopens"], row["version_at"])
    new, complex_id, period = old, row["complex_id"], row["period"]
    if applied:
        new, complex_id, period = contribution(facts), facts.complex_id, period_of(facts.submitted_at)
        row.update(version_reopens=facts.reopen_count, version_at=at, status=facts.status, rating=facts.rating,
                   complex_id=complex_id, period=period, **new.as_dict())

    deltas: dict[tuple[str, str, str], KpiCounts] = {}
    for key in old_keys:
        deltas[key] = deltas.get(key, KpiCounts()) - old
    for key in _keys(company, complex_id, period):
        deltas[key] = deltas.get(key, KpiCounts()) + new
    moved = False
    for key, delta in deltas.items():
        if delta.is_zero():
            continue
        moved = True
        if key in moves:
            moves[key][0] = moves[key][0] + delta
            moves[key][1] = max(moves[key][1], at)
        else:
            moves[key] = [delta, at]
    return Ingested(applied=applied, moved=moved, period=period)


def _counts_of(row: dict) -> KpiCounts:
    return KpiCounts(*(row[name] for name in COUNTERS))


def _add_to_totals(session: Session, district: str, moves: dict) -> None:
    """Move every touched total once by its summed delta (a total moved to and fro still records the
    newest event time, as it would one event at a time), in key order."""
    totals = m.kpi_totals

    def add(new) -> dict:
        changes = {name: totals.c[name] + new[name] for name in COUNTERS}
        changes["last_event_at"] = case((new.last_event_at > totals.c.last_event_at, new.last_event_at),
                                        else_=totals.c.last_event_at)
        return changes

    stmt = _many(upsert(session, totals, list(_TOTAL_KEYS), update=add))
    session.execute(stmt, [dict(district=district, scope=scope, scope_id=scope_id, period=period,
                                last_event_at=at, **delta.as_dict())
                           for (scope, scope_id, period), (delta, at) in sorted(moves.items())])


def remember_name(session: Session, district: str, id_: str, kind: str, name: str) -> None:
    stmt = upsert(session, m.names, ["district", "id"], update=["name"])
    session.execute(stmt.values(district=district, id=id_, kind=kind, name=name[:200]))


def names_of(session: Session, district: str, ids) -> dict[str, str]:
    ids = list(ids)
    if not ids:
        return {}
    rows = session.execute(select(m.names.c.id, m.names.c.name).where(
        m.names.c.district == district, m.names.c.id.in_(ids)))
    return dict(rows.all())


# -- reading ---------------------------------------------------------------------------------------------


def kpi_row(scope: str, scope_id: str, period: str, counts: KpiCounts, name: str | None = None,
            updated_at: datetime | None = None) -> c.Kpi:
    mean = counts.mean_rating()
    return c.Kpi(scope=scope, scope_id=scope_id, name=name, period=period, **counts.as_dict(),
                 response_rate=rate_decimal(counts.rate("response_rate")),
                 resolution_rate=rate_decimal(counts.rate("resolution_rate")),
                 satisfaction_rate=rate_decimal(counts.rate("satisfaction_rate")),
                 on_time_rate=rate_decimal(counts.rate("on_time_rate")),
                 reopen_rate=rate_decimal(counts.rate("reopen_rate")),
                 mean_rating=None if mean is None else quantize(mean), updated_at=updated_at)


def totals(session: Session, district: str, scope: str, scope_ids: list[str] | None, periods: list[str] | None
           ) -> dict[tuple[str, str], tuple[KpiCounts, datetime]]:
    """(scope_id, period) -> (counts, last_event_at) for the given ids (None: all) and periods (None: all)."""
    t = m.kpi_totals
    query = select(t.c.scope_id, t.c.period, t.c.last_event_at, *(t.c[name] for name in COUNTERS)).where(
        t.c.district == district, t.c.scope == scope)
    if scope_ids is not None:
        query = query.where(t.c.scope_id.in_(scope_ids))
    if periods is not None:
        query = query.where(t.c.period.in_(periods))
    return {(r[0], r[1]): (KpiCounts(*r[3:]), r[2]) for r in session.execute(query)}


def kpi_rows(session: Session, district: str, scope: str, scope_id: str, periods: list[str] | None
             ) -> tuple[list[c.Kpi], datetime | None]:
    found = totals(session, district, scope, [scope_id], periods)
    name = names_of(session, district, [scope_id]).get(scope_id)
    rows = [kpi_row(scope, scope_id, period, counts, name, at) for (_, period), (counts, at) in sorted(found.items())]
    last = max((at for _, at in found.values()), default=None)
    return rows, last


def ticket_state(session: Session, district: str, ticket_id: str):
    t = m.kpi_tickets
    return session.execute(select(t).where(t.c.district == district, t.c.ticket_id == ticket_id)).one_or_none()


def recount(session: Session, district: str, scope: str) -> dict[tuple[str, str], KpiCounts]:
    """The totals recomputed from the ticket rows (an audit: they must equal the incremental ones).

    Summed by the database: the ticket rows never come into the process (a district's years of tickets
    would not fit its memory limit).
    """
    t = m.kpi_tickets
    column = t.c.company_id if scope == "company" else t.c.complex_id
    sums = [func.coalesce(func.sum(t.c[name]), 0) for name in COUNTERS]
    query = (select(column, t.c.period, *sums)
             .where(t.c.district == district, column.is_not(None))
             .group_by(column, t.c.period))
    return {(r[0], r[1]): KpiCounts(*(int(v) for v in r[2:])) for r in session.execute(query)}
