"""Key rotation: every stored phone and ID card re-encrypted with the key ring's current key, and its lookup
hash made again with it, in one transaction (all or nothing: no value is left under a key about to go).

The old keys must stay in the ring until this has run; then they may be removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from redprop.privacy.cipher import FieldCipher, key_id_of
from redprop.services.registry import models as m
from redprop.services.registry.personal import PERSONAL_FIELDS, TABLE, row_key

BATCH = 500


@dataclass
class RotationReport:
    key_id: str
    rotated: int = 0
    current: int = 0


def rotate_keys(session: Session, cipher: FieldCipher) -> RotationReport:
    report = RotationReport(cipher.ring.current)
    p = m.people.c
    stmt = (select(p.district, p.id, *(p[f] for f in PERSONAL_FIELDS), *(p[f"{f}_hash"] for f in PERSONAL_FIELDS))
            .where(or_(*(p[f].is_not(None) for f in PERSONAL_FIELDS))).order_by(p.district, p.id))
    for row in session.execute(stmt).all():
        key = row_key(row.district, row.id)
        values = {}
        for field in PERSONAL_FIELDS:
            token, stored_hash = getattr(row, field), getattr(row, f"{field}_hash")
            if token is None:
                continue
            hash_current = stored_hash is not None and stored_hash.split(":", 1)[0] == cipher.ring.current
            if not cipher.needs_rotation(token) and hash_current and key_id_of(token) == cipher.ring.current:
                report.current += 1
                continue
            plain = cipher.decrypt(token, table=TABLE, row=key, field=field)  # DecryptionFailed: nothing written
            values[field] = cipher.encrypt(plain, table=TABLE, row=key, field=field)
            values[f"{field}_hash"] = cipher.lookup_hash(plain, field=field)
            report.rotated += 1
        if values:
            session.execute(update(m.people).where(p.district == row.district, p.id == row.id).values(**values))
    return report
