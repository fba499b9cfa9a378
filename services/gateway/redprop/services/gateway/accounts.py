"""People's accounts: a registry person, a username and a password hash (``redprop gateway accounts``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import exists, insert, select, update
from sqlalchemy.orm import Session

from redprop.clock import utcnow
from redprop.errors import Conflict, NotFound, ValidationFailed
from redprop.services.gateway import passwords
from redprop.services.gateway.models import accounts

USERNAME = re.compile(r"^[A-Za-z0-9._@-]{3,64}$")


@dataclass(frozen=True)
class Account:
    username: str
    person_id: str
    disabled: bool


def normalise(username: str) -> str:
    return username.strip().lower()


def add(db: Session, district: str, username: str, person_id: str, password: str) -> Account:
    username = normalise(username)
    if not USERNAME.match(username):
        raise ValidationFailed.for_field("username", "3 to 64 of A-Z a-z 0-9 . _ @ -", "pattern")
    if len(password) < passwords.MIN_LENGTH:
        raise ValidationFailed.for_field("password", f"at least {passwords.MIN_LENGTH} characters", "too_short")
    if find(db, district, username) is not None:
        raise Conflict(f"account {username!r} exists", {"field": "username", "username": username})
    now = utcnow()
    db.execute(insert(accounts).values(district=district, username=username, person_id=person_id,
                                       password_hash=passwords.hash_password(password), disabled=False,
                                       created_at=now, password_changed_at=now))
    return Account(username=username, person_id=person_id, disabled=False)


def find(db: Session, district: str, username: str):
    return db.execute(select(accounts).where(accounts.c.district == district,
                                             accounts.c.username == normalise(username))).first()


def listing(db: Session, district: str) -> list[Account]:
    rows = db.execute(select(accounts).where(accounts.c.district == district).order_by(accounts.c.username))
    return [Account(username=r.username, person_id=r.person_id, disabled=r.disabled) for r in rows]


def disabled_account_of(district, person_id):
    """SQL: an account of the person here is disabled (values, or a query's columns to correlate with)."""
    of_person = accounts.alias("of_person")  # its own alias: a query may join accounts already
    return exists().where(of_person.c.district == district, of_person.c.person_id == person_id,
                          of_person.c.disabled.is_(True))


def person_disabled(db: Session, district: str, person_id: str) -> bool:
    """Whether an account of the person here is disabled: an operator's way to stop the person logging in
    at all, the identity provider's login (which needs no account) included."""
    return bool(db.execute(select(disabled_account_of(district, person_id))).scalar())


def set_disabled(db: Session, district: str, username: str, disabled: bool = True) -> None:
    done = db.execute(update(accounts).where(accounts.c.district == district,
                                             accounts.c.username == normalise(username))
                      .values(disabled=disabled))
    if done.rowcount == 0:
        raise NotFound.entity("account", username, "username")


def check_password(db: Session, district: str, username: str, password: str) -> Account | None:
    """The account, if the username exists, is enabled and the password is right; else None (the same
    time spent either way, so the answer does not tell which usernames exist)."""
    row = find(db, district, username)
    ok = passwords.verify_password(password, row.password_hash if row is not None else passwords.dummy_hash())
    if row is None or not ok or row.disabled:
        return None
    return Account(username=row.username, person_id=row.person_id, disabled=False)
