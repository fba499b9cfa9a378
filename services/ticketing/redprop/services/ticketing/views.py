"""Tickets as rows and as contracts: the mutable record the desk changes, and its contract views.

The view functions take anything with the ticket's columns as attributes: a :class:`TicketRecord`
or a row read with Core (``list`` reads rows and never builds records).
"""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter

from redprop.contracts import ticketing as c
from redprop.services.ticketing.models import tickets

COLUMNS = tuple(column.name for column in tickets.columns)


class TicketRecord:
    """One ticket's columns, changed in place by a transition; :meth:`changes` says what to write."""

    __slots__ = (*COLUMNS, "_written")

    def __init__(self, values, written: bool = True):
        self._set(tuple(values.get(name) for name in COLUMNS), written)

    def _set(self, values: tuple, written: bool) -> None:
        for name, value in zip(COLUMNS, values, strict=True):
            setattr(self, name, value)
        # What the database holds, in COLUMNS' order (None: nothing yet, the record is new and is inserted whole).
        self._written = values if written else None

    @classmethod
    def from_row(cls, row, in_order: bool = False) -> TicketRecord:
        """``in_order``: the row's columns are COLUMNS, in order (a row of ``select(tickets)``)."""
        record = cls.__new__(cls)
        record._set(tuple(row) if in_order else tuple(row._mapping.get(n) for n in COLUMNS), True)
        return record

    @property
    def is_new(self) -> bool:
        return self._written is None

    def values(self) -> dict:
        return dict(zip(COLUMNS, _all_columns(self), strict=True))

    def revert(self) -> None:
        """Back to what the database holds (an operation that failed leaves no trace on its records)."""
        if self._written is not None:
            for name, value in zip(COLUMNS, self._written, strict=True):
                setattr(self, name, value)

    def changes(self) -> dict:
        """The columns changed since the record was read or last written; from now on they count as written."""
        now, written = _all_columns(self), self._written
        self._written = now
        if written is None:
            return dict(zip(COLUMNS, now, strict=True))
        return {name: value for name, value, was in zip(COLUMNS, now, written, strict=True) if was != value}


_all_columns = attrgetter(*COLUMNS)


def handler(row) -> c.Handler | None:
    if row.handler_kind is None:
        return None
    return c.Handler(kind=row.handler_kind, id=row.handler_id, name=row.handler_name)


def location(row) -> c.Location:
    point = {"lat": row.lat, "lon": row.lon} if row.lat is not None else None
    return c.Location(building_id=row.building_id, complex_id=row.complex_id, grid_id=row.grid_id,
                      community_id=row.community_id, subdistrict_id=row.subdistrict_id, point=point)


def ticket(row, history: list[c.HistoryEntry]) -> c.Ticket:
    return c.Ticket(
        id=row.id, district=row.district, resident_id=row.resident_id, category=row.category,
        sla_class=row.sla_class, urgency=row.urgency, description=row.description,
        media_urls=row.media_urls or [], location=location(row),
        property_company_id=row.property_company_id, status=row.status, level=row.level,
        handler=handler(row), rejections=row.rejections, escalations=row.escalations,
        reopen_count=row.reopen_count, submitted_at=row.submitted_at, dispatched_at=row.dispatched_at,
        responded_at=row.responded_at, resolved_at=row.resolved_at, closed_at=row.closed_at,
        response_due_at=row.response_due_at, resolution_due_at=row.resolution_due_at,
        sla_state=row.sla_state, rating=row.rating, rating_comment=row.rating_comment, cost=row.cost,
        cost_lines=row.cost_lines or [], funding_source=row.funding_source, duplicate_of=row.duplicate_of,
        merged_into=row.merged_into, history=history)


def facts(row) -> c.TicketFacts:
    """What the ticket's events carry about it."""
    return c.TicketFacts(
        ticket_id=row.id, category=row.category, sla_class=row.sla_class, level=row.level, status=row.status,
        handler=handler(row), property_company_id=row.property_company_id, complex_id=row.complex_id,
        grid_id=row.grid_id, community_id=row.community_id, subdistrict_id=row.subdistrict_id,
        submitted_at=row.submitted_at, response_due_at=row.response_due_at,
        resolution_due_at=row.resolution_due_at, responded_at=row.responded_at, resolved_at=row.resolved_at,
        responded_on_time=None if row.responded_at is None else (
            not row.response_breached and row.responded_at <= row.response_due_at),
        resolved_on_time=None if row.resolved_at is None else (
            not row.resolution_breached and row.resolved_at <= row.resolution_due_at),
        rating=row.rating, reopen_count=row.reopen_count)


def history_entry(row) -> c.HistoryEntry:
    """A ``ticket_history`` row (or the dict written for one) as the contract has it."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return c.HistoryEntry(at=get("at"), actor=c.Actor.model_validate(get("actor")), action=get("action"),
                          from_status=get("from_status"), to_status=get("to_status"), detail=get("detail") or {})


def history_row(ticket_id: str, at: datetime, actor: c.Actor, action: str, before: str | None,
                after: str | None, detail: dict) -> dict:
    return {"ticket_id": ticket_id, "at": at, "actor": actor.model_dump(mode="json"), "action": action,
            "from_status": before, "to_status": after, "detail": detail}
