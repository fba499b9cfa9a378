"""A person erased on request (``registry.person_erased``, PIPL Art. 47): their particulars (name, address,
identity document, phone) are taken off the cases they are a party to, and contact numbers are blanked in
those cases' texts and session notes.

The hash-chained record log is append-only evidence: its records of those cases are redacted the same way
(``chain.redact``), keeping each original payload's SHA-256, so the chain and the cross-check of the rows
against their records still verify. Records logged before the log's format 2 (migration 0004) cannot be
redacted without breaking the chain; they are counted and logged. The state, dates and outcome of each case
stay as they were.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from redprop.clock import utcnow
from redprop.privacy.masking import erase_contacts
from redprop.services.mediation import chain
from redprop.services.mediation import models as m

log = logging.getLogger(__name__)

#: What a party entry says about a person (contracts.mediation.Party); the id and kind stay.
PARTICULARS = ("name", "address", "identity", "phone")
#: Free-text fields of a case, its sessions and their records where a contact number may have been written.
FREE_TEXT = ("summary", "description", "notes")


def is_the_person(party: Any, person_id: str) -> bool:
    return isinstance(party, dict) and party.get("kind") == "person" and party.get("id") == person_id


def blank_party(party: dict) -> dict:
    return {**party, **{k: None for k in PARTICULARS if k in party}}


def blank_parties(parties: list[dict] | None, person_id: str) -> list[dict] | None:
    if parties is None:
        return None
    return [blank_party(p) if is_the_person(p, person_id) else p for p in parties]


def blank_text(text: str | None) -> str | None:
    return erase_contacts(text) or text


def redact_payload(payload: Any, person_id: str) -> Any:
    """A logged payload as the erasure leaves the rows it came from (the same blanking, field by field)."""
    if isinstance(payload, list):
        return [redact_payload(item, person_id) for item in payload]
    if not isinstance(payload, dict):
        return payload
    if is_the_person(payload, person_id):
        payload = blank_party(payload)
    out = {}
    for key, value in payload.items():
        if key == "parties" and isinstance(value, list):
            out[key] = blank_parties(value, person_id)
        elif key in FREE_TEXT and isinstance(value, str):
            out[key] = blank_text(value)
        else:
            out[key] = redact_payload(value, person_id)
    return out


def blank_person(session: Session, district: str, person_id: str, now: datetime | None = None) -> int:
    c = m.cases.c
    now = now or utcnow()
    changed = kept = 0
    for row in session.execute(select(c.id, c.parties, c.summary, c.description).where(c.district == district)).all():
        if not any(p.get("kind") == "person" and p.get("id") == person_id for p in row.parties or ()):
            continue
        session.execute(update(m.cases).where(c.district == district, c.id == row.id).values(
            parties=blank_parties(row.parties, person_id), summary=blank_text(row.summary),
            description=blank_text(row.description)))
        s = m.case_sessions.c
        for note in session.execute(select(s.id, s.notes).where(s.district == district, s.case_id == row.id,
                                                                s.notes.is_not(None))).all():
            session.execute(update(m.case_sessions).where(s.district == district, s.id == note.id)
                            .values(notes=blank_text(note.notes)))
        kept += redact_records(session, district, row.id, person_id, now)
        changed += 1
    if kept:
        log.warning("erasure: %d record-log entries logged before format 2 keep their text (the chain would "
                    "break); district %s", kept, district)
    return changed


def redact_records(session: Session, district: str, case_id: str, person_id: str, now: datetime) -> int:
    """Redact a case's records; returns how many format-1 records had to be left as they were."""
    r = m.log_records.c
    kept = 0
    for seq, payload in session.execute(select(r.seq, r.payload).where(
            r.district == district, r.matter_id == case_id).order_by(r.seq)).all():
        logged = json.loads(payload)
        redacted = redact_payload(logged, person_id)
        if redacted != logged and not chain.redact(session, district, seq, redacted, now):
            kept += 1
    return kept
