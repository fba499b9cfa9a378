"""The gateway's own tables: people's accounts, their login sessions and API keys. Every row carries its
district. Photos on tickets are kept here too, as metadata (the bytes are the photo store's). Secrets are never stored: a password as its scrypt hash, a session token and an API key as their
SHA-256 (both are 256-bit random values, so a fast hash is enough to make a stolen table useless)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table

from redprop.db import district_key, new_metadata
from redprop.db.base import UtcDateTime

metadata = new_metadata()

#: A person of the registry who logs in with a username and password.
accounts = Table(
    "accounts", metadata,
    district_key(),
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

#: An OIDC login under way (``GET /api/v1/session/oidc/login``): its state (hashed), nonce and PKCE verifier,
#: taken once by the callback, for ``oidc.login_ttl`` seconds.
oidc_logins = Table(
    "oidc_logins", metadata,
    Column("state_sha256", String(64), primary_key=True),
    Column("district", String(6), nullable=False),
    Column("nonce", String(64), nullable=False),
    Column("code_verifier", String(128), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
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

#: A photo on a ticket: its metadata; the bytes are in the photo store under ``id`` (random, 128 bits).
photos = Table(
    "photos", metadata,
    Column("id", String(32), primary_key=True),
    Column("district", String(6), nullable=False),
    Column("ticket_id", String(64), nullable=False),
    #: Who uploaded it: the registry person where known (a session, a key's holder), else the key's subject.
    Column("uploaded_by", String(64), nullable=False),
    Column("uploader_role", String(40), nullable=False),
    Column("content_type", String(40), nullable=False),
    Column("size", Integer, nullable=False),
    #: Of the bytes stored (and served): metadata removed.
    Column("sha256", String(64), nullable=False),
    #: The upload's Idempotency-Key: a retry answers the photo already stored.
    Column("request_id", String(64)),
    Column("uploaded_at", UtcDateTime, nullable=False),
    Index("ix_photos_ticket", "district", "ticket_id"),
)
