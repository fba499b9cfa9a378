"""Throwaway PostgreSQL databases for tests and benchmarks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_SERVER_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def _admin_engine(server_url: str):
    # Pre-ping: a fault test may have restarted the server since the database was created.
    return create_engine(server_url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0, pool_pre_ping=True)


@contextmanager
def temporary_postgres_database(server_url: str = DEFAULT_SERVER_URL, prefix: str = "redprop_test"
                                ) -> Iterator[str]:
    """Create an empty database, yield its URL, drop it afterwards (even if connections linger)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = _admin_engine(server_url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
