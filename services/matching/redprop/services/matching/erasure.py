"""A person erased on request (``registry.person_erased``, PIPL Art. 47): the offers they made lose their
name, and contact numbers are blanked in those offers' texts (needs come from complexes and communities,
not from people).

Quantities, values, statuses and the savings ledger stay as they were.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from redprop.privacy.masking import erase_contacts
from redprop.services.matching import models as m


def blank_person(session: Session, district: str, person_id: str) -> int:
    o = m.offers.c
    changed = 0
    for row in session.execute(select(o.id, o.description, o.pickup_constraints).where(
            o.district == district, o.provider_kind == "person", o.provider_id == person_id)).all():
        session.execute(update(m.offers).where(o.district == district, o.id == row.id).values(
            provider_name=None, description=erase_contacts(row.description),
            pickup_constraints=erase_contacts(row.pickup_constraints)))
        changed += 1
    return changed
