"""Tables of the ticketing service (SQLAlchemy Core, like the other services)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    text,
)

from redprop.clock import utcnow
from redprop.db import district_column, district_key
from redprop.db.base import UtcDateTime, new_metadata

metadata = new_metadata()

#: SQL form of the open statuses (kept in step with contracts.ticketing.OPEN_STATUSES).
OPEN_SQL = "status IN ('submitted', 'dispatched', 'in_progress', 'awaiting_resident')"


tickets = Table(
    "tickets", metadata,
    district_column(),
    Column("id", String(64), primary_key=True),
    Column("resident_id", String(64), nullable=False, index=True),
    Column("category", String(40), nullable=False),
    Column("sla_class", String(20), nullable=False),
    Column("urgency", String(20), nullable=False),
    Column("description", Text, nullable=False),
    Column("media_urls", JSON, nullable=False, default=list),
    Column("building_id", String(64)),
    Column("complex_id", String(64)),
    Column("grid_id", String(64)),
    Column("community_id", String(64)),
    Column("subdistrict_id", String(64)),
    Column("district_region_id", String(64)),
    Column("property_company_id", String(64)),
    Column("lat", Double),
    Column("lon", Double),
    Column("status", String(20), nullable=False),
    Column("level", String(20), nullable=False, default="grid"),
    Column("handler_kind", String(20)),
    Column("handler_id", String(64)),
    Column("handler_name", String(200)),
    Column("rejections", Integer, nullable=False, default=0),
    Column("escalations", Integer, nullable=False, default=0),
    Column("reopen_count", Integer, nullable=False, default=0),
    Column("submitted_at", UtcDateTime, nullable=False),
    Column("dispatched_at", UtcDateTime),
    Column("responded_at", UtcDateTime),
    Column("resolved_at", UtcDateTime),
    Column("closed_at", UtcDateTime),
    Column("paused_at", UtcDateTime),
    Column("response_due_at", UtcDateTime, nullable=False),
    Column("resolution_due_at", UtcDateTime, nullable=False),
    # When the sweep must look at this ticket next (at-risk point or deadline); NULL when closed.
    Column("next_check_at", UtcDateTime),
    # The current resolution deadline's clock started here (intake, or the last escalation).
    Column("resolution_clock_from", UtcDateTime, nullable=False),
    Column("sla_state", String(20), nullable=False, default="on_track"),
    # Ever breached (kept for the on-time rates)...
    Column("response_breached", Boolean, nullable=False, default=False),
    Column("resolution_breached", Boolean, nullable=False, default=False),
    # ...and breached at the current level (cleared by an escalation, which sets a new deadline).
    Column("level_breached", Boolean, nullable=False, default=False),
    Column("rating", Integer),
    Column("rating_comment", Text),
    Column("cost", Numeric(12, 2)),
    Column("cost_lines", JSON, nullable=False, default=list),
    Column("funding_source", String(30)),
    Column("duplicate_of", String(64)),
    Column("merged_into", String(64)),
    Column("updated_at", UtcDateTime, nullable=False, default=utcnow, onupdate=utcnow),
    # The sweep's only query: open tickets due for a look, oldest first (partial: open ones only).
    Index("ix_tickets_sweep", "next_check_at",
          postgresql_where=text("next_check_at IS NOT NULL"), sqlite_where=text("next_check_at IS NOT NULL")),
    # Workload balancing: open tickets per handler.
    Index("ix_tickets_handler_open", "handler_id", "status"),
    # Duplicates and monthly summaries: by place, category and time.
    Index("ix_tickets_complex_category_time", "complex_id", "category", "submitted_at"),
    Index("ix_tickets_building_category_time", "building_id", "category", "submitted_at"),
    Index("ix_tickets_district_status", "district", "status"),
)

history = Table(
    "ticket_history", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", String(64), ForeignKey("tickets.id"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False, default=utcnow),
    Column("actor", JSON, nullable=False),
    Column("action", String(40), nullable=False),
    Column("from_status", String(20)),
    Column("to_status", String(20)),
    Column("detail", JSON, nullable=False, default=dict),
)

price_items = Table(
    "price_items", metadata,
    district_key(),
    # "" for the district's list, else the company's id.
    Column("company_id", String(64), primary_key=True),
    Column("code", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("unit", String(40), nullable=False),
    Column("price", Numeric(12, 2), nullable=False),
)

# Emergency repair fund (应急维修资金) spent on a complex's common parts.
fund_uses = Table(
    "fund_uses", metadata,
    district_column(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("complex_id", String(64), nullable=False, index=True),
    Column("ticket_id", String(64), ForeignKey("tickets.id"), nullable=False),
    Column("amount", Numeric(12, 2), nullable=False),
    Column("at", UtcDateTime, nullable=False, default=utcnow),
)
