"""Engines for the two supported databases, tuned for nameko's eventlet workers."""

from __future__ import annotations

import time

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url

from redprop.privacy.files import private_file

#: A pooled connection idle longer than this is pinged before it is handed out (see ``_ping_if_idle``).
PING_AFTER_IDLE_S = 5.0

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


def _stamp(_dbapi_connection, record, *_args) -> None:
    record.info["used_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    """Ping a connection that sat idle in the pool; a dead one is replaced before anyone uses it.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: a round trip for each unit of work, a
    good part of a busy service's database time. A connection in steady use is known to be alive;
    after an idle spell (a restarted or failed-over database, a firewall's idle timeout) it is
    checked. A connection that breaks while in use is detected by SQLAlchemy, which then discards
    the whole pool, so one failure does not become many.
    """
    if time.monotonic() - record.info.get("used_at", 0.0) < PING_AFTER_IDLE_S:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
    except Exception as error:  # noqa: BLE001 - any failure means: do not use this connection
        raise exc.DisconnectionError(f"a pooled connection failed its ping: {error}") from error


def with_default_driver(url: str | URL) -> URL:
    """The URL with psycopg2 named when it names no driver (``postgresql://`` -> ``postgresql+psycopg2://``).

    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, which is not installed and does not
    work under eventlet (docs/architecture.md, Data); the chart, compose and docs write plain URLs.
    """
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+psycopg2")
    return parsed


def build_engine(url: str | URL, *, pool_size: int = 5, echo: bool = False) -> Engine:
    parsed = with_default_driver(url)
    url = parsed
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            # Only its owner reads a database of residents' data (PIPL); its -wal/-shm files follow suit.
            private_file(parsed.database)
        # SQLite's busy handler sleeps in C, which would freeze every green thread in the process, so
        # green threads queue for a single connection instead (the pool's wait is cooperative).
        engine = create_engine(
            url, echo=echo, pool_size=1, max_overflow=0, pool_timeout=60, hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": 10},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # hide_parameters: a failed statement's error (logged with its traceback) would quote the values
    # bound to it, residents' descriptions and phone numbers among them.
    engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800,
                           hide_parameters=True)
    event.listen(engine, "checkout", _ping_if_idle)
    event.listen(engine, "checkin", _stamp)
    return engine
