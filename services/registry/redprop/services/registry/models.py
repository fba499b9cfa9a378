"""Registry tables: one per entity kind, columns mirroring the contract records.

References between entities are checked by the writer (``writer.py``), not by foreign keys, because a
dataset may list rows in any order and an import must report *every* bad reference by row and field
rather than stop at the first constraint violation.
"""

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
    false,
)

from redprop.db import district_key, new_metadata
from redprop.db.base import UtcDateTime
from redprop.privacy.access import access_log_table

metadata = new_metadata()


def _entity(name: str, *columns: Column, indexes: tuple[Index, ...] = ()) -> Table:
    return Table(
        name, metadata,
        district_key(),
        Column("id", String(64), primary_key=True),
        *columns,
        Column("updated_at", UtcDateTime, nullable=False),
        *indexes,
    )


regions = _entity(
    "regions",
    Column("level", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("parent_id", String(64), index=True),
    Column("lat", Float), Column("lon", Float),
)

complexes = _entity(
    "complexes",
    Column("name", String(200), nullable=False),
    Column("community_id", String(64), nullable=False, index=True),
    Column("address", String(300)),
    Column("year_built", Integer),
    Column("has_property_certificate", Boolean, nullable=False),
    Column("has_property_fee", Boolean, nullable=False),
    Column("has_maintenance_fund", Boolean, nullable=False),
    Column("property_company_id", String(64), index=True),
    Column("lat", Float), Column("lon", Float),
)

grids = _entity(
    "grids",
    Column("name", String(200), nullable=False),
    Column("community_id", String(64), nullable=False, index=True),
    Column("complex_id", String(64), index=True),
    Column("micro", Boolean, nullable=False),
)

buildings = _entity(
    "buildings",
    Column("name", String(200), nullable=False),
    Column("complex_id", String(64), nullable=False, index=True),
    Column("grid_id", String(64), nullable=False, index=True),
    Column("lat", Float, nullable=False), Column("lon", Float, nullable=False),
    Column("floors", Integer),
)

households = _entity(
    "households",
    Column("building_id", String(64), nullable=False, index=True),
    Column("unit", String(40), nullable=False),
    Column("area_m2", Numeric(10, 2), nullable=False),
    # Interpretation Arts. 8 and 9: where the counted area comes from, and the developer's unsold parts.
    Column("area_source", String(8), nullable=False, server_default="register"),
    Column("register_area_m2", Numeric(10, 2)),
    Column("survey_area_m2", Numeric(10, 2)),
    Column("contract_area_m2", Numeric(10, 2)),
    Column("developer_unsold", Boolean, nullable=False, server_default=false()),
    Column("owner_ids", JSON, nullable=False),
    Column("residents", Integer),
)

organisations = _entity(
    "organisations",
    Column("org_kind", String(40), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("parent_id", String(64), index=True),
    Column("scope_id", String(64), index=True),
    Column("has_party_branch", Boolean, nullable=False),
    Column("department_function", String(40)),
    Column("lat", Float), Column("lon", Float),
    Column("relocation_date", Date),
)

#: ``phone`` and ``id_card`` hold AES-GCM ciphertexts (redprop.privacy.cipher, see personal.py), each
#: with a keyed hash for finding a person by number; ``erased_at`` marks a person erased on request.
people = _entity(
    "people",
    Column("name", String(200), nullable=False),
    Column("party_member", Boolean, nullable=False),
    Column("phone", String(255)),
    Column("phone_hash", String(64), index=True),
    Column("id_card", String(255)),
    Column("id_card_hash", String(64), index=True),
    Column("erased_at", UtcDateTime),
)

roles = _entity(
    "roles",
    Column("person_id", String(64), nullable=False, index=True),
    Column("role", String(40), nullable=False, index=True),
    Column("organisation_id", String(64), index=True),
    Column("scope_id", String(64), index=True),
    Column("term_start", Date, nullable=False),
    Column("term_end", Date),
)

reports = _entity(
    "reports",
    Column("reporter_id", String(64), nullable=False, index=True),
    Column("community_id", String(64), nullable=False, index=True),
    Column("reported_on", Date, nullable=False),
    Column("employer_id", String(64)),
)

#: Bumped on every change; replicas reload their in-memory map when it moves.
registry_meta = Table(
    "registry_meta", metadata,
    Column("key", String(40), primary_key=True),
    Column("value", Integer, nullable=False),
)

#: Every read of unmasked personal data and every change of it (redprop.privacy.access).
access_log = access_log_table(metadata)

TABLES: dict[str, Table] = {
    "region": regions, "complex": complexes, "grid": grids, "building": buildings,
    "household": households, "organisation": organisations, "person": people, "role": roles,
    "report": reports,
}
