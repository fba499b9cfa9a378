"""The gateway's own tables: people's accounts, their login sessions and API keys. Every row carries its
district. Secrets are never stored: a password as its scrypt hash, a session token and an API key as their
SHA-256 (both are 256-bit random values, so a fast hash is enough to make a stolen table useless)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, String, Table

from redprop.db import new_metadata
from redprop.db.base import UtcDateTime

metadata = new_metadata()

#: A person of the registry who logs in with a username and password.
accounts = Table(
    "accounts", metadata,
    Column("district", String(6), primary_key=True),
    Column("username", String(64), primary_key=True),
    Column("person_id", String(64), nullable=False),
    Column("password_hash", String(300), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("password_changed_at", UtcDateTime, nullable=False),
    Index("ix_accounts_person", "district", "person_id"),
)

#: A login session: the cookie's token (hashed), absolute expiry and the last time it was used.
sessions = Table(
    "sessions", metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("district", String(6), nullable=False),
    Column("username", String(64), nullable=False),
    Column("person_id", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_sessions_username", "district", "username"),
)

#: An API key: who holds it (a registry person), the role and subject it acts as, until when.
api_keys = Table(
    "api_keys", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("district", String(6), nullable=False),
    Column("name", String(100), nullable=False),
    Column("role", String(40), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("person_id", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    #: A rotated key's successor: the old key keeps working until its (shortened) expiry.
    Column("replaced_by", String(64)),
    Index("ix_api_keys_name", "district", "name"),
)
