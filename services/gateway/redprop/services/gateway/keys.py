"""API keys kept in the gateway's database (``redprop gateway keys add|rotate|revoke|list``): stored as
their SHA-256, each with an optional expiry; revoking or rotating one takes effect at run time (within
``auth_cache_ttl`` seconds), without a restart. Keys in ``options.api_keys`` keep working as configured."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from redprop.clock import utcnow
from redprop.errors import Conflict, NotFound, ValidationFailed
from redprop.services.gateway.models import api_keys
from redprop.services.gateway.options import ROLES


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return "rpk_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class StoredKey:
    sha256: str
    district: str
    name: str
    role: str
    subject: str
    person_id: str | None
    expires_at: datetime | None
    revoked_at: datetime | None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if not self.usable(now) else "active"


def _stored(row) -> StoredKey:
    return StoredKey(sha256=row.sha256, district=row.district, name=row.name, role=row.role, subject=row.subject,
                     person_id=row.person_id, expires_at=row.expires_at, revoked_at=row.revoked_at)


def find(db: Session, sha256: str) -> StoredKey | None:
    row = db.execute(select(api_keys).where(api_keys.c.sha256 == sha256)).first()
    return _stored(row) if row is not None else None


def _active_named(db: Session, district: str, name: str) -> list:
    now = utcnow()
    rows = db.execute(select(api_keys).where(api_keys.c.district == district, api_keys.c.name == name,
                                             api_keys.c.revoked_at.is_(None))).all()
    return [r for r in rows if r.expires_at is None or r.expires_at > now]


def add(db: Session, district: str, name: str, role: str, subject: str, person_id: str | None,
        days: float | None) -> tuple[str, StoredKey]:
    """A new key (returned once, never stored) valid for ``days`` (None: until revoked)."""
    if role not in ROLES:
        raise ValidationFailed.for_field("role", f"one of {', '.join(ROLES)}", "enum")
    if days is not None and days <= 0:
        raise ValidationFailed.for_field("days", "a positive number of days", "range")
    if _active_named(db, district, name):
        raise Conflict(f"an active key named {name!r} exists (rotate or revoke it)", {"field": "name"})
    return _insert(db, district, name, role, subject, person_id, days)


def _insert(db, district, name, role, subject, person_id, days) -> tuple[str, StoredKey]:
    key, now = new_key(), utcnow()
    expires = now + timedelta(days=days) if days is not None else None
    db.execute(insert(api_keys).values(sha256=hash_key(key), district=district, name=name, role=role,
                                       subject=subject, person_id=person_id, created_at=now, expires_at=expires))
    return key, find(db, hash_key(key))


def rotate(db: Session, district: str, name: str, days: float | None, grace_hours: float = 24) -> tuple[str, StoredKey]:
    """A new key for the same holder; the old one keeps working ``grace_hours`` more (0: stops now), so
    the holder can switch over without an outage."""
    rows = _active_named(db, district, name)
    if not rows:
        raise NotFound.entity("api key", name, "name")
    old = rows[0]
    key, stored = _insert(db, district, name, old.role, old.subject, old.person_id, days)
    until = utcnow() + timedelta(hours=grace_hours)
    for row in rows:
        values = {"replaced_by": stored.sha256}
        if grace_hours <= 0:
            values["revoked_at"] = utcnow()
        elif row.expires_at is None or row.expires_at > until:
            values["expires_at"] = until
        db.execute(update(api_keys).where(api_keys.c.sha256 == row.sha256).values(**values))
    return key, stored


def revoke(db: Session, district: str, name: str) -> int:
    """Every active key of that name stops working (at run time, within the gateway's cache time)."""
    done = db.execute(update(api_keys).where(api_keys.c.district == district, api_keys.c.name == name,
                                             api_keys.c.revoked_at.is_(None)).values(revoked_at=utcnow()))
    if done.rowcount == 0:
        raise NotFound.entity("api key", name, "name")
    return done.rowcount


def listing(db: Session, district: str) -> list[StoredKey]:
    rows = db.execute(select(api_keys).where(api_keys.c.district == district)
                      .order_by(api_keys.c.name, api_keys.c.created_at))
    return [_stored(r) for r in rows]
