"""Declarative building blocks every service's models share."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, MetaData, String, TypeDecorator
from sqlalchemy.orm import Mapped, mapped_column

from redprop.clock import utcnow

# Stable constraint names, so Alembic migrations can refer to (and drop) them on any database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            from datetime import UTC
            value = value.replace(tzinfo=UTC)
        return value


def district_key(name: str = "district") -> Column:
    """The district code (GB/T 2260, six digits) as the first part of a table's primary key: one database
    can hold several districts' rows, and no key of one district can collide with another's."""
    return Column(name, String(6), primary_key=True)


def district_column(name: str = "district") -> Column:
    """The district code of a table keyed otherwise (indexed: every query filters by it)."""
    return Column(name, String(6), nullable=False, index=True)


class DistrictMixin:
    """Every record carries the district it belongs to."""

    district: Mapped[str] = mapped_column(String(6), index=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
