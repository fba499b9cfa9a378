"""Matching tables. Quantities are stored as given and in the unit family's base unit (``base_quantity``);
what is still available is derived from proposals and deliveries, never kept as a counter that could
drift."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
)

from redprop.db import district_key, new_metadata
from redprop.db.base import UtcDateTime

metadata = new_metadata()

MONEY = Numeric(14, 2)


def _keyed(name: str, *columns, indexes=()) -> Table:
    return Table(
        name, metadata,
        district_key(),
        Column("id", String(64), primary_key=True),
        *columns,
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        *indexes,
    )


offers = _keyed(
    "offers",
    Column("kind", String(16), nullable=False),
    Column("provider_id", String(64), nullable=False, index=True),
    Column("provider_kind", String(16), nullable=False),
    Column("provider_name", String(200)),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("category", String(40), nullable=False, index=True),
    Column("category_source", String(80), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit", String(16), nullable=False),
    Column("base_quantity", Integer, nullable=False),
    Column("condition", String(8), nullable=False),
    Column("estimated_value", MONEY, nullable=False),
    Column("lat", Float, nullable=False), Column("lon", Float, nullable=False),
    Column("complex_id", String(64)),
    Column("available_from", Date), Column("available_until", Date), Column("leaves_on", Date),
    Column("pickup_constraints", Text, nullable=False),
    Column("skill", String(100)),
    Column("weekdays", JSON),
    Column("recurrence", String(8), nullable=False),
    Column("transport_cost_per_km", MONEY),
    Column("status", String(12), nullable=False, index=True),
    #: New or changed since its category was last solved (incremental matching).
    Column("dirty", Boolean, nullable=False),
    #: Recurring offers: the period whose capacity was last offered to the optimiser.
    Column("solved_period", String(16)),
)

needs = _keyed(
    "needs",
    Column("requester_kind", String(16), nullable=False),
    Column("requester_id", String(64), nullable=False, index=True),
    Column("complex_id", String(64), index=True),
    Column("community_id", String(64), index=True),
    Column("subdistrict_id", String(64)),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("category", String(40), nullable=False, index=True),
    Column("category_source", String(80), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit", String(16), nullable=False),
    Column("base_quantity", Integer, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("needed_from", Date), Column("needed_by", Date, nullable=False),
    Column("budget_estimate", MONEY, nullable=False),
    Column("lat", Float, nullable=False), Column("lon", Float, nullable=False),
    Column("notes", Text, nullable=False),
    Column("status", String(12), nullable=False, index=True),
    Column("dirty", Boolean, nullable=False),
)

proposals = _keyed(
    "proposals",
    Column("run_id", String(64), nullable=False, index=True),
    Column("offer_id", String(64), nullable=False, index=True),
    Column("need_id", String(64), nullable=False, index=True),
    Column("quantity", Integer, nullable=False),
    Column("unit", String(16), nullable=False),
    Column("status", String(12), nullable=False, index=True),
    Column("offer_decision", String(8)),
    Column("need_decision", String(8)),
    Column("delivered_quantity", Integer),
    Column("unit_value", Numeric(18, 6), nullable=False),
    Column("savings", MONEY),
    #: Recurring offers: the period (e.g. 2026-W48) whose capacity this proposal uses.
    Column("period", String(16)),
    Column("explanation", JSON, nullable=False),
)

#: A declined pair is never proposed again.
declined_pairs = Table(
    "declined_pairs", metadata,
    district_key(),
    Column("offer_id", String(64), primary_key=True),
    Column("need_id", String(64), primary_key=True),
    Column("proposal_id", String(64), nullable=False),
    Column("declined_by", String(8), nullable=False),
    Column("reason", Text, nullable=False),
    Column("declined_at", UtcDateTime, nullable=False),
)

#: The savings ledger: one line per fulfilment, filed under the need's complex, community, subdistrict.
ledger = Table(
    "ledger", metadata,
    district_key(),
    Column("proposal_id", String(64), primary_key=True),
    Column("need_id", String(64), nullable=False),
    Column("offer_id", String(64), nullable=False),
    Column("complex_id", String(64)),
    Column("community_id", String(64)),
    Column("subdistrict_id", String(64)),
    Column("delivered_quantity", Integer, nullable=False),
    Column("value", MONEY, nullable=False),
    Column("delivered_on", Date, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index("ix_ledger_community", "district", "community_id"),
)

runs = Table(
    "runs", metadata,
    district_key(),
    Column("id", String(64), primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("categories", JSON, nullable=False),
    Column("candidates", Integer, nullable=False),
    Column("proposals", Integer, nullable=False),
    Column("objective", MONEY, nullable=False),
    Column("matched_value", MONEY, nullable=False),
    Column("solve_seconds", Float, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# -- city release ----------------------------------------------------------------------------------

#: The city's copy of the districts' open offers and needs: keyed by their own district code, with the
#: record as the district announced it and what is left of it (absolute, from the newest event).
city_pool = Table(
    "city_pool", metadata,
    district_key(),
    Column("side", String(8), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("category", String(40), nullable=False, index=True),
    Column("status", String(12), nullable=False, index=True),
    Column("open_quantity", Integer, nullable=False),
    Column("record", JSON, nullable=False),
    #: occurred_at of the newest district event applied: older (replayed, reordered) events are ignored.
    Column("as_of", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

#: Pairs across district lines. ``district`` is who keeps the copy: the city (all of them), or a
#: district (those with its own offer or need).
city_proposals = _keyed(
    "city_proposals",
    Column("run_id", String(64), nullable=False, index=True),
    Column("offer_district", String(6), nullable=False),
    Column("offer_id", String(64), nullable=False),
    Column("need_district", String(6), nullable=False),
    Column("need_id", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit", String(16), nullable=False),
    Column("status", String(12), nullable=False, index=True),
    Column("explanation", JSON, nullable=False),
    #: Since 1.2: each side's decision and the delivery. In a district's copy a pair it keeps holds its
    #: quantity of the district's own offer or need while proposed or accepted (store.city_usage).
    Column("offer_decision", String(8)),
    Column("need_decision", String(8)),
    Column("delivered_quantity", Integer),
    Column("savings", MONEY),
)
