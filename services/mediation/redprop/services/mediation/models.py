"""Mediation tables. Every row carries its district; the record log is append-only."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from redprop.db import district_key, new_metadata
from redprop.db.base import UtcDateTime

metadata = new_metadata()



cases = Table(
    "cases", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("category", String(40), nullable=False),
    Column("summary", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("level", String(16), nullable=False),
    Column("scope_id", String(64), nullable=False, index=True),
    Column("source", String(16), nullable=False),
    Column("ticket_id", String(64)),
    Column("parties", JSON, nullable=False),
    Column("attachments", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("settle_by", UtcDateTime, nullable=False),
    Column("concluded_at", UtcDateTime),
    Column("outcome", JSON),
    Column("confirm_by", Date),
    Column("updated_at", UtcDateTime, nullable=False),
    # One case per ticket: ticketing may escalate the same ticket twice with different request ids.
    UniqueConstraint("district", "ticket_id", name="uq_cases_ticket"),
    Index("ix_cases_state_level", "district", "state", "level"),
)

case_mediators = Table(
    "case_mediators", metadata,
    district_key(),
    Column("case_id", String(64), primary_key=True),
    Column("person_id", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("role_id", String(64), nullable=False),
    Column("open_cases", Integer, nullable=False),
    Column("assigned_at", UtcDateTime, nullable=False),
    Index("ix_case_mediators_person", "district", "person_id"),
)

case_sessions = Table(
    "case_sessions", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("case_id", String(64), nullable=False, index=True),
    Column("scheduled_at", UtcDateTime, nullable=False),
    Column("place", String(200)),
    Column("held_at", UtcDateTime),
    Column("notes", Text),
)

case_performance = Table(
    "case_performance", metadata,
    district_key(),
    Column("case_id", String(64), primary_key=True),
    Column("term_no", Integer, primary_key=True),
    Column("performed_on", Date, nullable=False),
    Column("note", Text),
    Column("recorded_at", UtcDateTime, nullable=False),
)

matters = Table(
    "matters", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("topic", String(40), nullable=False),
    Column("complex_id", String(64), index=True),
    Column("parties", JSON, nullable=False),
    Column("links", JSON, nullable=False),
    Column("stage", String(20), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

matter_stages = Table(
    "matter_stages", metadata,
    district_key(),
    Column("matter_id", String(64), primary_key=True),
    Column("stage", String(20), primary_key=True),
    Column("action", String(10), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("reason", Text),
    Column("decided_by", String(64)),
)

meetings = Table(
    "meetings", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("matter_id", String(64), index=True),
    Column("kind", String(20), nullable=False),
    Column("held_at", UtcDateTime, nullable=False, index=True),
    Column("agenda", JSON, nullable=False),
    Column("attendance", JSON, nullable=False),
    Column("organisations", JSON, nullable=False),
    Column("minutes", Text, nullable=False),
    Column("resolved", JSON, nullable=False),
)

matter_progress = Table(
    "matter_progress", metadata,
    district_key(),
    Column("matter_id", String(64), primary_key=True),
    Column("no", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("percent", Integer, nullable=False),
    Column("note", Text, nullable=False),
)

consultations = Table(
    "consultations", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("matter_id", String(64), nullable=False, index=True),
    # Null only for consultations opened before the matter was typed (contract 1.x).
    Column("complex_id", String(64)),
    Column("art278_item", Integer),
    Column("question", Text, nullable=False),
    Column("options", JSON, nullable=False),
    Column("approve_option", String(32), nullable=False),
    Column("rule", String(40), nullable=False),
    Column("opens_at", UtcDateTime, nullable=False),
    Column("closes_at", UtcDateTime, nullable=False),
    Column("state", String(10), nullable=False),
    Column("electorate_households", Integer, nullable=False),
    Column("total_area_m2", Numeric(14, 2), nullable=False),
    Column("total_owners", Integer, nullable=False),
    Column("electorate_digest", String(64), nullable=False),
    Column("ballot_count", Integer, nullable=False),
    Column("closed_at", UtcDateTime),
    Column("published_at", UtcDateTime),
    Column("published_where", String(300)),
    Column("result", JSON),
)

#: The electorate as the registry gave it when the consultation opened.
voters = Table(
    "voters", metadata,
    district_key(),
    Column("consultation_id", String(64), primary_key=True),
    Column("household_id", String(64), primary_key=True),
    Column("building_id", String(64), nullable=False),
    Column("unit", String(40), nullable=False),
    Column("area_m2", Numeric(10, 2), nullable=False),
    Column("owner_ids", JSON, nullable=False),
    # The voting person (SPC interpretation Art. 9) and the area's source (Art. 8), as the registry said.
    Column("person_id", String(64)),
    Column("area_source", String(8)),
)

ballots = Table(
    "ballots", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("consultation_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("household_id", String(64), nullable=False),
    Column("owner_id", String(64), nullable=False),
    Column("option", String(32), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("entered_by", String(64)),
    Column("witness_id", String(64)),
    Column("person_id", String(64)),
    Column("cast_at", UtcDateTime, nullable=False),
    Column("superseded_by", String(64)),
    Column("record_seq", Integer, nullable=False),
    UniqueConstraint("district", "consultation_id", "seq", name="uq_ballots_seq"),
    Index("ix_ballots_household", "district", "consultation_id", "household_id"),
    Index("ix_ballots_person", "district", "consultation_id", "person_id"),
)

#: The append-only, hash-chained log: one chain per district.
log_records = Table(
    "log_records", metadata,
    district_key(),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(24), nullable=False),
    Column("matter_id", String(64), nullable=False),
    Column("ref_id", String(64), nullable=False),
    Column("recorded_at", String(32), nullable=False),  # the exact text that was hashed
    Column("payload", Text, nullable=False),            # canonical JSON, the exact text that was hashed
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # Format 2 (since migration 0004): the hash covers the payload's SHA-256, kept here, so a payload can be
    # redacted on an erasure request (PIPL Art. 47) and the chain still verifies. NULL: a format-1 record.
    Column("payload_sha256", String(64), nullable=True),
    Column("redacted_at", String(32), nullable=True),
    Index("ix_log_records_matter", "district", "matter_id", "seq"),
    Index("ix_log_records_ref", "district", "kind", "ref_id"),
)

#: The chain's head per district; updating it first serialises appends across workers and replicas.
log_heads = Table(
    "log_heads", metadata,
    district_key(),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

#: Reminders already emitted, so each is emitted once.
reminders_sent = Table(
    "reminders_sent", metadata,
    district_key(),
    Column("kind", String(24), primary_key=True),
    Column("subject_id", String(64), primary_key=True),
    Column("sent_at", UtcDateTime, nullable=False),
)
