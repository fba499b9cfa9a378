"""Login sessions: a random token in the ``redprop_session`` cookie, stored as its SHA-256, with an
absolute expiry (``sessions.max_age``) and an idle timeout (``sessions.idle_timeout``)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from redprop.clock import utcnow
from redprop.services.gateway.accounts import disabled_account_of
from redprop.services.gateway.models import accounts, sessions
from redprop.services.gateway.options import SessionOptions

COOKIE = "redprop_session"
#: A session from the identity provider (``oidc_login.py``) has no account: its username is this prefix and the
#: person id (``:`` is in no account's username, so neither can stand for the other).
OIDC_PREFIX = "oidc:"
#: last_seen_at is written at most this often (not on every request), which the idle timeout allows for.
TOUCH_EVERY = timedelta(seconds=15)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LiveSession:
    username: str
    person_id: str
    expires_at: object


def start(db: Session, district: str, username: str, person_id: str, options: SessionOptions) -> str:
    """A new session; the token (for the cookie) is returned and never stored."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.execute(insert(sessions).values(token_sha256=token_hash(token), district=district, username=username,
                                       person_id=person_id, created_at=now, last_seen_at=now,
                                       expires_at=now + timedelta(seconds=options.max_age)))
    # Old sessions are dropped as people log in, so the table holds only live ones and a few dead.
    db.execute(delete(sessions).where(sessions.c.expires_at < now))
    return token


def lookup(db: Session, district: str, token: str, options: SessionOptions) -> LiveSession | None:
    """The session, if it exists, has neither expired nor idled out and its account is still enabled (an
    OIDC session has none, the provider vouched for the person at login; it ends if an account of that
    person here is disabled)."""
    now = utcnow()
    person_disabled = disabled_account_of(sessions.c.district, sessions.c.person_id)
    row = db.execute(
        select(sessions, accounts.c.disabled, accounts.c.username.label("account"),
               person_disabled.label("person_disabled"))
        .outerjoin(accounts, (accounts.c.district == sessions.c.district)
                   & (accounts.c.username == sessions.c.username))
        .where(sessions.c.token_sha256 == token_hash(token), sessions.c.district == district)).first()
    if row is None:
        return None
    idle_until = row.last_seen_at + timedelta(seconds=options.idle_timeout)
    oidc = row.username.startswith(OIDC_PREFIX)
    # A password session whose account is gone has ended, as one whose account is disabled; an OIDC session
    # ends once an account of its person here is disabled (accounts.person_disabled).
    no_account = row.account is None and not oidc
    ended = row.disabled or (oidc and row.person_disabled)
    if no_account or ended or row.expires_at <= now or idle_until <= now:
        db.execute(delete(sessions).where(sessions.c.token_sha256 == row.token_sha256))
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        db.execute(update(sessions).where(sessions.c.token_sha256 == row.token_sha256).values(last_seen_at=now))
    return LiveSession(username=row.username, person_id=row.person_id, expires_at=row.expires_at)


def end(db: Session, token: str) -> None:
    db.execute(delete(sessions).where(sessions.c.token_sha256 == token_hash(token)))


def end_all(db: Session, district: str, username: str) -> None:
    """Every session of an account (it was disabled, or its password changed)."""
    db.execute(delete(sessions).where(sessions.c.district == district, sessions.c.username == username))
