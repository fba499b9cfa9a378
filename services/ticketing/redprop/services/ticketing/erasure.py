"""A resident erased on request (``registry.person_erased``, PIPL Art. 47): the contact numbers in what they
wrote (descriptions, rating comments) and in the notes about their tickets are blanked.

Everything the statistics count stays as it was: status, times, SLA flags, rating, cost, handler.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from redprop.privacy.masking import erase_contacts
from redprop.services.ticketing import models as m


def _blank(value):
    """Contact numbers erased from every string inside a JSON value."""
    if isinstance(value, str):
        return erase_contacts(value)
    if isinstance(value, list):
        return [_blank(v) for v in value]
    if isinstance(value, dict):
        return {k: _blank(v) for k, v in value.items()}
    return value


def blank_person(session: Session, district: str, person_id: str) -> int:
    """Blank the person's contact data in this district's tickets; returns how many tickets changed."""
    t = m.tickets.c
    rows = session.execute(select(t.id, t.description, t.rating_comment).where(
        t.district == district, t.resident_id == person_id)).all()
    changed = 0
    for row in rows:
        description, comment = erase_contacts(row.description), erase_contacts(row.rating_comment)
        if (description, comment) != (row.description, row.rating_comment):
            # Core UPDATE: updated_at keeps its value, so no clock or report moves because of this.
            session.execute(update(m.tickets).where(t.id == row.id).values(
                description=description, rating_comment=comment, updated_at=t.updated_at))
            changed += 1
        h = m.history.c
        for entry in session.execute(select(h.id, h.detail).where(h.ticket_id == row.id)).all():
            detail = _blank(entry.detail)
            if detail != entry.detail:
                session.execute(update(m.history).where(h.id == entry.id).values(detail=detail))
    return changed
