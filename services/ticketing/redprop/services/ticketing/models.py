"""Tables of the ticketing service."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, Numeric, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from redprop.contracts.base import utcnow
from redprop.db.base import DistrictMixin, UtcDateTime, new_metadata

metadata = new_metadata()

#: SQL form of the open statuses (kept in step with contracts.ticketing.OPEN_STATUSES).
OPEN_SQL = "status IN ('submitted', 'dispatched', 'in_progress', 'awaiting_resident')"


class Base(DeclarativeBase):
    metadata = metadata


class TicketRow(DistrictMixin, Base):
    __tablename__ = "tickets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resident_id: Mapped[str] = mapped_column(String(64), index=True)
    category: Mapped[str] = mapped_column(String(40))
    sla_class: Mapped[str] = mapped_column(String(20))
    urgency: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    media_urls: Mapped[list] = mapped_column(JSON, default=list)
    building_id: Mapped[str | None] = mapped_column(String(64))
    complex_id: Mapped[str | None] = mapped_column(String(64))
    grid_id: Mapped[str | None] = mapped_column(String(64))
    community_id: Mapped[str | None] = mapped_column(String(64))
    subdistrict_id: Mapped[str | None] = mapped_column(String(64))
    district_region_id: Mapped[str | None] = mapped_column(String(64))
    property_company_id: Mapped[str | None] = mapped_column(String(64))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    status: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(20), default="grid")
    handler_kind: Mapped[str | None] = mapped_column(String(20))
    handler_id: Mapped[str | None] = mapped_column(String(64))
    handler_name: Mapped[str | None] = mapped_column(String(200))
    rejections: Mapped[int] = mapped_column(Integer, default=0)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    response_due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    resolution_due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: When the sweep must look at this ticket next (at-risk point or deadline); NULL when closed.
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The current resolution deadline's clock started here (intake, or the last escalation).
    resolution_clock_from: Mapped[datetime] = mapped_column(UtcDateTime)
    sla_state: Mapped[str] = mapped_column(String(20), default="on_track")
    #: Ever breached (kept for the on-time rates)...
    response_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    #: ...and breached at the current level (cleared by an escalation, which sets a new deadline).
    level_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    rating: Mapped[int | None]
    rating_comment: Mapped[str | None] = mapped_column(Text)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    cost_lines: Mapped[list] = mapped_column(JSON, default=list)
    funding_source: Mapped[str | None] = mapped_column(String(30))
    duplicate_of: Mapped[str | None] = mapped_column(String(64))
    merged_into: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
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


class HistoryRow(Base):
    __tablename__ = "ticket_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[dict] = mapped_column(JSON)
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class PriceItemRow(Base):
    __tablename__ = "price_items"

    district: Mapped[str] = mapped_column(String(6), primary_key=True)
    #: "" for the district's list, else the company's id.
    company_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(40))
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))


class FundUseRow(DistrictMixin, Base):
    """Emergency repair fund (应急维修资金) spent on a complex's common parts."""

    __tablename__ = "fund_uses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    complex_id: Mapped[str] = mapped_column(String(64), index=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
