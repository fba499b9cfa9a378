"""Evaluation tables. Every row carries its district. Points are stored as decimal strings (exact on
SQLite too); scorecard versions, signatures and rating steps are append-only."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, Index, Integer, String, Table, Text, UniqueConstraint

from redprop.db import district_key, new_metadata
from redprop.db.base import UtcDateTime
from redprop.services.evaluation.counts import COUNTERS

metadata = new_metadata()



def _counters() -> list[Column]:
    return [Column(name, Integer, nullable=False, default=0) for name in COUNTERS]


#: One row per ticket: the latest facts seen (by version) and what the ticket contributes now.
kpi_tickets = Table(
    "kpi_tickets", metadata,
    district_key(),
    Column("ticket_id", String(64), primary_key=True),
    Column("period", String(6), nullable=False),
    Column("complex_id", String(64)),
    #: The property company that last held the ticket (by version): its KPIs count the ticket.
    Column("company_id", String(64)),
    Column("company_reopens", Integer),
    Column("company_at", UtcDateTime),
    #: Version of the facts kept: (reopen_count, occurred_at of the event that carried them).
    Column("version_reopens", Integer, nullable=False),
    Column("version_at", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("rating", Integer),
    *_counters(),
    Column("events_seen", Integer, nullable=False),
    Column("last_event_at", UtcDateTime, nullable=False),
)

#: Sums of the tickets' contributions per (scope, id, period), kept up to date by deltas.
kpi_totals = Table(
    "kpi_totals", metadata,
    district_key(),
    Column("scope", String(10), primary_key=True),
    Column("scope_id", String(64), primary_key=True),
    Column("period", String(6), primary_key=True),
    *_counters(),
    Column("last_event_at", UtcDateTime, nullable=False),
    Index("ix_kpi_totals_period", "district", "scope", "period"),
)

#: Names of companies and complexes seen in events or the registry (league tables need no RPC).
names = Table(
    "names", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("name", String(200), nullable=False),
)

scorecards = Table(
    "scorecards", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("complex_id", String(64), nullable=False),
    Column("company_id", String(64), nullable=False),
    Column("committee_id", String(64), nullable=False),
    Column("period", String(6), nullable=False),
    Column("members", Integer, nullable=False),
    Column("current_version", Integer, nullable=False),
    Column("effective_version", Integer),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("district", "complex_id", "period", name="uq_scorecards_complex_period"),
    Index("ix_scorecards_company_period", "district", "company_id", "period"),
)

scorecard_versions = Table(
    "scorecard_versions", metadata,
    district_key(),
    Column("scorecard_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("scores", JSON, nullable=False),
    Column("total", String(12), nullable=False),
    Column("comment", Text),
    Column("reason", Text),
    Column("submitted_by", String(64), nullable=False),
    Column("submitted_at", UtcDateTime, nullable=False),
)

scorecard_signatures = Table(
    "scorecard_signatures", metadata,
    district_key(),
    Column("scorecard_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("person_id", String(64), primary_key=True),
    Column("signed_at", UtcDateTime, nullable=False),
)

periods = Table(
    "periods", metadata,
    district_key(),
    Column("period", String(6), primary_key=True),
    Column("closed_at", UtcDateTime, nullable=False),
    Column("closed_by", String(64), nullable=False),
    Column("standings", JSON, nullable=False),
)

ratings = Table(
    "ratings", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("company_id", String(64), nullable=False),
    Column("year", Integer, nullable=False),
    Column("rubric", String(40), nullable=False),
    Column("state", String(12), nullable=False),
    Column("void_reason", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("cert_stars", Integer),
    Column("cert_issued_on", Date),
    Column("cert_valid_until", Date),
    Column("cert_revoked", Text),
    Column("cert_last_year", Integer),
    Index("ix_ratings_company", "district", "company_id"),
)

rating_steps = Table(
    "rating_steps", metadata,
    district_key(),
    Column("rating_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("step", String(20), nullable=False),
    Column("actor", JSON, nullable=False),
    Column("year", Integer, nullable=False),
    Column("scores", JSON, nullable=False),
    Column("comment", Text),
    Column("total", String(12), nullable=False),
    Column("stars", Integer),
    Column("grade", String(4)),
    Column("outcome", String(20), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    #: The explanation as it stood at this step (evidence snapshot).
    Column("explanation", JSON, nullable=False),
)

negative_events = Table(
    "negative_events", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("company_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("occurred_on", Date, nullable=False),
    Column("description", Text, nullable=False),
    Column("reported_by", JSON, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index("ix_negative_events_company", "district", "company_id"),
)

#: The city release: each district's newest published standings per period (``district`` is the
#: publishing district). ``as_of`` is when the district closed it: an older event never overwrites.
city_standings = Table(
    "city_standings", metadata,
    district_key(),
    Column("period", String(6), primary_key=True),
    Column("rubric", String(40), nullable=False),
    Column("rubric_version", String(20), nullable=False),
    Column("standings", JSON, nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("as_of", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_city_standings_period", "period"),
)

#: What a company did in the communities it serves, from participation and projects (evidence for the
#: rubric's team-building and social-image items): its staff's turns, the tasks it took as a paired unit,
#: milestones of projects in its complexes. One row per fact: ``source`` is the fact's own key.
community_evidence = Table(
    "community_evidence", metadata,
    district_key(),
    Column("source", String(160), primary_key=True),
    Column("company_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),        # turn | task | milestone
    Column("period", String(6), nullable=False),
    Column("ref_id", String(64), nullable=False),       # the turn, task or project
    Column("title", Text, nullable=False),
    Column("hours", String(16), nullable=False, default="0"),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_community_evidence_company", "district", "company_id", "period"),
)
