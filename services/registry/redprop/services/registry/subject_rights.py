"""A resident's requests about their personal data: a copy of everything held (PIPL Art. 45) and
erasure (Art. 47).

Erasure removes what identifies the person (name, phone, ID card) and keeps the anonymised facts that
statistics and other records rest on: the person id, party membership, posts held, homes owned (so a
consultation's areas still add up) and reports. The other services are told (``registry.person_erased``)
and blank the contact data they hold.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from redprop.contracts.registry import (
    ChangeCounts,
    EntityChange,
    ErasePersonReply,
    ErasePersonRequest,
    ExportPersonReply,
    ExportPersonRequest,
    PersonErased,
    StructureChanged,
)
from redprop.errors import NotFound
from redprop.privacy.access import record_access
from redprop.privacy.cipher import FieldCipher
from redprop.services.registry import models as m
from redprop.services.registry import personal
from redprop.services.registry.disclosure import entries_of
from redprop.services.registry.writer import bump_structure_version, record_from_row


def _person_row(session: Session, district: str, person_id: str):
    row = session.execute(select(m.people).where(m.people.c.district == district, m.people.c.id == person_id)).first()
    if row is None:
        raise NotFound.entity("person", person_id, "person_id")
    return row


def export_person(session: Session, district: str, cipher: FieldCipher, request: ExportPersonRequest) -> ExportPersonReply:
    row = _person_row(session, district, request.person_id)
    pid = request.person_id
    r, h, rp, a = m.roles.c, m.households.c, m.reports.c, m.access_log.c
    roles = [record_from_row("role", x) for x in session.execute(
        select(m.roles).where(r.district == district, r.person_id == pid).order_by(r.id))]
    households = [record_from_row("household", x) for x in session.execute(
        select(m.households).where(h.district == district).order_by(h.id)) if pid in (x.owner_ids or ())]
    reports = [record_from_row("report", x) for x in session.execute(
        select(m.reports).where(rp.district == district, rp.reporter_id == pid).order_by(rp.id))]
    log = entries_of(session.execute(select(m.access_log).where(a.district == district, a.subject_id == pid)
                                     .order_by(a.at, a.id)))
    person = record_from_row("person", row, cipher)
    record_access(session, m.access_log, district=district, who=request.actor, action="export", subject_id=pid,
                  what="person,roles,households,reports,access_log", why=request.purpose)
    return ExportPersonReply(district=district, person=person, erased_at=row.erased_at, roles=roles,
                             households=households, reports=reports, access_log=log)


def erase_person(session: Session, district: str, request: ErasePersonRequest, now: datetime):
    """Erase in this transaction; returns the reply and the events to stage with it."""
    row = _person_row(session, district, request.person_id)
    erased = [f for f in ("name", *personal.PERSONAL_FIELDS) if getattr(row, f) is not None]
    session.execute(update(m.people).where(m.people.c.district == district, m.people.c.id == request.person_id)
                    .values(name=personal.ERASED_NAME, phone=None, phone_hash=None, id_card=None, id_card_hash=None,
                            erased_at=row.erased_at or now, updated_at=now))
    record_access(session, m.access_log, district=district, who=request.actor, action="erase",
                  subject_id=request.person_id, what=",".join(erased), why=request.reason)
    version = bump_structure_version(session)
    events = [
        StructureChanged(district=district, structure_version=version, counts={"person": ChangeCounts(updated=1)},
                         changes=[EntityChange(kind="person", id=request.person_id, change="updated")]),
        PersonErased(district=district, person_id=request.person_id),
    ]
    reply = ErasePersonReply(person_id=request.person_id, erased_at=row.erased_at or now, structure_version=version)
    return reply, events
