"""A person erased on request (``registry.person_erased``, PIPL Art. 47): their name is taken off the cases
they are a party to, and contact numbers are blanked in those cases' texts and session notes.

The hash-chained record log is append-only evidence and is not rewritten (docs/mediation.md); the state,
dates and outcome of each case stay as they were.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from redprop.privacy.masking import erase_contacts
from redprop.services.mediation import models as m


def blank_person(session: Session, district: str, person_id: str) -> int:
    c = m.cases.c
    changed = 0
    for row in session.execute(select(c.id, c.parties, c.summary, c.description).where(c.district == district)).all():
        if not any(p.get("kind") == "person" and p.get("id") == person_id for p in row.parties or ()):
            continue
        parties = [{**p, "name": None} if p.get("id") == person_id and p.get("kind") == "person" else p
                   for p in row.parties]
        session.execute(update(m.cases).where(c.district == district, c.id == row.id).values(
            parties=parties, summary=erase_contacts(row.summary) or row.summary,
            description=erase_contacts(row.description)))
        s = m.case_sessions.c
        for note in session.execute(select(s.id, s.notes).where(s.district == district, s.case_id == row.id,
                                                                s.notes.is_not(None))).all():
            session.execute(update(m.case_sessions).where(s.district == district, s.id == note.id)
                            .values(notes=erase_contacts(note.notes)))
        changed += 1
    return changed
