"""The access log: every read of unmasked personal data and every change of it (who, when, what, why).

Kept per district in the database of the service that holds the data (the registry's ``access_log``),
written in the same transaction as the read's reply or the change, so no access goes unrecorded.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, String, Table
from sqlalchemy.orm import Session

from redprop.clock import utcnow
from redprop.db.base import UtcDateTime

#: What an entry records.
ACTIONS = ("read", "change", "export", "erase")


def access_log_table(metadata: MetaData) -> Table:
    return Table(
        "access_log", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("district", String(6), nullable=False),
        Column("at", UtcDateTime, nullable=False),
        #: The person who read or changed the data (a registry person id), or the tool (``import``).
        Column("who", String(64), nullable=False),
        Column("action", String(16), nullable=False),
        #: Whose data it was.
        Column("subject_id", String(64), nullable=False),
        #: Which fields (``phone,id_card``), never their values.
        Column("what", String(200), nullable=False),
        Column("why", String(200), nullable=False),
        Index("ix_access_log_subject", "district", "subject_id"),
        Index("ix_access_log_who", "district", "who"),
    )


def record_access(session: Session, table: Table, *, district: str, who: str, what: str, why: str,
                  subject_id: str, action: str = "read") -> None:
    """Add one entry (in the caller's transaction)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown access action {action!r}")
    session.execute(table.insert().values(district=district, at=utcnow(), who=who or "unknown", action=action,
                                          subject_id=subject_id, what=what[:200], why=(why or "unstated")[:200]))


def record_accesses(session: Session, table: Table, entries: list[dict]) -> None:
    """Several entries in one statement (a list reply with many people)."""
    if entries:
        now = utcnow()
        session.execute(table.insert(), [{"at": now, **e} for e in entries])
