"""Participation tables. Every row carries its district. Hours are stored as whole quarter-hours and
points as integers, so totals are exact on every database."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, Index, Integer, String, Table, Text, UniqueConstraint

from redprop.db import district_key, new_metadata
from redprop.db.base import UtcDateTime

metadata = new_metadata()



activities = Table(
    "activities", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("title", String(200), nullable=False),
    Column("community_id", String(64), nullable=False),
    Column("complex_id", String(64)),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("organiser_id", String(64), nullable=False),
    Column("link_kind", String(20)),
    Column("link_id", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_activities_community", "district", "community_id", "starts_at"),
)

attendance = Table(
    "attendance", metadata,
    district_key(),
    Column("activity_id", String(64), primary_key=True),
    Column("person_id", String(64), primary_key=True),
    Column("signed_up_at", UtcDateTime),
    Column("checked_in_at", UtcDateTime),
)

#: A person's turn of service: at an activity, or on a task. One turn per person and activity.
turns = Table(
    "turns", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("person_id", String(64), nullable=False),
    Column("role", String(20), nullable=False),
    Column("quarter_hours", Integer, nullable=False),
    Column("community_id", String(64), nullable=False),
    Column("complex_id", String(64)),
    Column("unit_id", String(64)),
    Column("activity_id", String(64)),
    Column("task_id", String(64)),
    Column("at", UtcDateTime, nullable=False),
    #: Beijing year and month of ``at``: totals per period are one indexed query.
    Column("year", Integer, nullable=False),
    Column("month", String(7), nullable=False),
    UniqueConstraint("district", "activity_id", "person_id", name="uq_turns_activity_person"),
    Index("ix_turns_person", "district", "person_id", "year"),
    Index("ix_turns_community", "district", "community_id", "year"),
    Index("ix_turns_unit", "district", "unit_id", "year"),
)

#: Micro-points accounts: ``person:<id>``, ``issued`` (where earned points come from), ``expired``,
#: ``rewards:<community>`` (where spent points go). ``balance`` is kept with the entries in one transaction.
accounts = Table(
    "accounts", metadata,
    district_key(),
    Column("account", String(80), primary_key=True),
    Column("balance", Integer, nullable=False),
)

#: One row per ledger transaction; ``source`` is the fact it answers (an event id, a turn, a redemption),
#: unique, so one fact moves points once whatever redelivers it.
transactions = Table(
    "transactions", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("reason", String(200), nullable=False),
    #: Up to 147 characters: "mediation:meeting:<meeting id>:<person id>" with ids of up to 64.
    Column("source", String(200), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    UniqueConstraint("district", "source", name="uq_transactions_source"),
)

#: Double entry: each transaction's entries sum to zero.
entries = Table(
    "entries", metadata,
    district_key(),
    Column("transaction_id", String(64), primary_key=True),
    Column("account", String(80), primary_key=True),
    Column("amount", Integer, nullable=False),
    #: Beijing year of the transaction (expiry).
    Column("year", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_entries_account", "district", "account", "at"),
)

rewards = Table(
    "rewards", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("community_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("cost", Integer, nullable=False),
    #: None: unlimited.
    Column("stock", Integer),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_rewards_community", "district", "community_id"),
)

redemptions = Table(
    "redemptions", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("person_id", String(64), nullable=False),
    Column("reward_id", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("points", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

pledges = Table(
    "pledges", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("person_id", String(64), nullable=False),
    Column("community_id", String(64), nullable=False),
    Column("complex_id", String(64)),
    Column("pledge", Text, nullable=False),
    Column("responsibilities", JSON, nullable=False),
    Column("made_at", UtcDateTime, nullable=False),
    Index("ix_pledges_community", "district", "community_id"),
)

designations = Table(
    "designations", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("person_id", String(64), nullable=False),
    Column("community_id", String(64), nullable=False),
    Column("post", String(20), nullable=False),
    Column("year", Integer, nullable=False),
    Column("criteria", Text, nullable=False),
    Column("decided_by", String(64), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    UniqueConstraint("district", "community_id", "person_id", "post", "year", name="uq_designations_post"),
)

tasks = Table(
    "tasks", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("community_id", String(64), nullable=False),
    Column("assignee_id", String(64), nullable=False),
    Column("assignee_kind", String(10), nullable=False),
    Column("title", String(200), nullable=False),
    Column("source", String(10), nullable=False),
    Column("source_id", String(64)),
    Column("due_on", Date),
    Column("state", String(10), nullable=False),
    Column("assigned_by", String(64), nullable=False),
    Column("assigned_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime),
    Column("quarter_hours", Integer, nullable=False, default=0),
    Column("note", Text),
    Index("ix_tasks_community", "district", "community_id", "state"),
)

#: Names of people and units seen in the registry, for the board (names only: never a phone number).
names = Table(
    "names", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
)
