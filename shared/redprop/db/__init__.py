"""Database access: one database per service, SQLAlchemy 2 sessions per worker, Alembic migrations."""

from redprop.db.base import DistrictMixin, district_column, district_key, new_metadata
from redprop.db.provider import Database, commit_unit_of_work, find_database
from redprop.db.upsert import upsert

__all__ = ["Database", "DistrictMixin", "commit_unit_of_work", "district_column", "district_key", "find_database",
           "new_metadata", "upsert"]
