"""Engines for the two supported databases, tuned for nameko's eventlet workers."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

_cooperative = False


def make_psycopg_cooperative() -> None:
    """Make psycopg2 yield to other green threads while waiting on PostgreSQL (psycogreen).

    Call once, after ``eventlet.monkey_patch()``; psycopg 3 does not support eventlet, psycopg2 does.
    """
    global _cooperative
    if not _cooperative:
        from psycogreen.eventlet import patch_psycopg

        patch_psycopg()
        _cooperative = True


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")  # another process (the import CLI) may be writing
    cursor.close()


def build_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # SQLite's busy handler sleeps in C, which would freeze every green thread in the process, so
        # green threads queue for a single connection instead (the pool's wait is cooperative).
        engine = create_engine(
            url, echo=echo, pool_size=1, max_overflow=0, pool_timeout=60,
            connect_args={"check_same_thread": False, "timeout": 10},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
        pool_recycle=1800,
    )
