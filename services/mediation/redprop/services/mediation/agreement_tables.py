"""Tables of mediation agreements and what surrounds them (People's Mediation Law Art. 23, 28-33).

On the service's one metadata (``models.metadata``): the agreement as drafted and when it took effect,
its signatures, the parties' answers about their mediators, referrals up the levels, and the court
application for judicial confirmation.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, Integer, String, Table, Text

from redprop.db.base import UtcDateTime
from redprop.services.mediation.models import metadata


def _district() -> Column:
    return Column("district", String(6), primary_key=True)


#: One agreement per case: drafted at conclude_case, in effect from ``effective_at``.
agreements = Table(
    "agreements", metadata,
    _district(),
    Column("case_id", String(64), primary_key=True),
    Column("form", String(8), nullable=False),
    Column("content", JSON, nullable=False),
    Column("drafted_at", UtcDateTime, nullable=False),
    Column("effective_at", UtcDateTime),
    Column("effective_on", Date),
    Column("confirm_period_ends_on", Date),
)

agreement_signatures = Table(
    "agreement_signatures", metadata,
    _district(),
    Column("case_id", String(64), primary_key=True),
    Column("role", String(10), primary_key=True),
    Column("signer_id", String(64), primary_key=True),
    Column("method", String(12), nullable=False),
    Column("signed_at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
)

mediator_answers = Table(
    "mediator_answers", metadata,
    _district(),
    Column("case_id", String(64), primary_key=True),
    Column("no", Integer, primary_key=True, autoincrement=False),
    Column("party_id", String(64), nullable=False),
    Column("person_id", String(64), nullable=False),
    Column("answer", String(8), nullable=False),
    Column("reason", Text),
    Column("at", UtcDateTime, nullable=False),
)

case_referrals = Table(
    "case_referrals", metadata,
    _district(),
    Column("case_id", String(64), primary_key=True),
    Column("no", Integer, primary_key=True, autoincrement=False),
    Column("from_level", String(16), nullable=False),
    Column("from_scope_id", String(64), nullable=False),
    Column("to_level", String(16), nullable=False),
    Column("to_scope_id", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("referred_at", UtcDateTime, nullable=False),
)

court_applications = Table(
    "court_applications", metadata,
    _district(),
    Column("case_id", String(64), primary_key=True),
    Column("applied_on", Date, nullable=False),
    Column("court", String(200), nullable=False),
    Column("applicants", JSON, nullable=False),
    Column("outcome", String(10), nullable=False),
    Column("decided_on", Date),
    Column("ruling_no", String(80)),
    Column("note", Text),
    Column("recorded_at", UtcDateTime, nullable=False),
)
