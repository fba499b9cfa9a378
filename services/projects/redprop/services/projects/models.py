"""Projects tables. Every row carries its district; money is BIGINT fen. Movements and the timeline are
append-only: a fund's balance is the sum of its movements, kept in ``funds.balance`` by the same UPDATE."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Date, Index, Integer, String, Table, Text

from redprop.db import district_key, new_metadata
from redprop.db.base import UtcDateTime

metadata = new_metadata()



def _fen(name: str) -> Column:
    return Column(name, BigInteger, nullable=False, default=0)


funds = Table(
    "funds", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("kind", String(24), nullable=False),
    Column("name", String(200), nullable=False),
    Column("scope_id", String(64), nullable=False),
    Column("complex_id", String(64)),
    Column("community_id", String(64)),
    Column("subdistrict_id", String(64)),
    _fen("balance"), _fen("allocated"), _fen("drawn"), _fen("held"),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_funds_complex", "district", "complex_id", "kind"),
)

allocations = Table(
    "allocations", metadata,
    district_key(),
    Column("fund_id", String(64), primary_key=True),
    Column("year", Integer, primary_key=True),
    _fen("amount"),
)

movements = Table(
    "movements", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("fund_id", String(64), nullable=False),
    Column("kind", String(12), nullable=False),
    _fen("amount"),
    #: Draws: paid, pending_approval or refused (then a release movement gives the amount back).
    Column("status", String(20)),
    Column("year", Integer, nullable=False),
    Column("serves_kind", String(12)),
    Column("serves_id", String(64)),
    Column("purpose", Text, nullable=False),
    Column("legal_basis", String(200)),
    Column("actor", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    _fen("balance_after"),
    Index("ix_movements_fund", "district", "fund_id", "at"),
    Index("ix_movements_serves", "district", "serves_kind", "serves_id"),
)

approvals = Table(
    "approvals", metadata,
    district_key(),
    Column("movement_id", String(64), primary_key=True),
    Column("level", String(12), primary_key=True),
    Column("person_id", String(64), nullable=False),
    Column("note", Text),
    Column("at", UtcDateTime, nullable=False),
)

programmes = Table(
    "programmes", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("scope_id", String(64), nullable=False),
    Column("start_year", Integer, nullable=False),
    Column("end_year", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

projects = Table(
    "projects", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("programme_id", String(64)),
    Column("parent_id", String(64)),
    Column("status", String(12), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date),
    #: A leaf's own progress; a parent's is rolled up on read (rollup.py).
    Column("progress", Integer, nullable=False, default=0),
    Column("post_evaluation", JSON),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_projects_programme", "district", "programme_id"),
    Index("ix_projects_parent", "district", "parent_id"),
)

project_complexes = Table(
    "project_complexes", metadata,
    district_key(),
    Column("project_id", String(64), primary_key=True),
    Column("complex_id", String(64), primary_key=True),
    Index("ix_project_complexes_complex", "district", "complex_id"),
)

budget_lines = Table(
    "budget_lines", metadata,
    district_key(),
    Column("project_id", String(64), primary_key=True),
    Column("fund_id", String(64), primary_key=True),
    _fen("amount"),
)

milestones = Table(
    "milestones", metadata,
    district_key(),
    Column("project_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("done_on", Date),
)

links = Table(
    "links", metadata,
    district_key(),
    Column("project_id", String(64), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("ref_id", String(64), primary_key=True),
    Column("title", String(200)),
)

timeline = Table(
    "timeline", metadata,
    district_key(),
    Column("project_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("change", String(40), nullable=False),
    Column("detail", JSON, nullable=False),
)
