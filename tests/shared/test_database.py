"""The Database dependency's transaction hooks, and pooled connections that die while idle.

Real SQLite and PostgreSQL: the hooks must behave the same on both, and the server really kills the
idle connection.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import Integer, String, func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from redprop.db import Database, new_metadata
from redprop.db import engine as engine_module
from redprop.db.engine import build_engine

pytestmark = pytest.mark.integration


class ProbeBase(DeclarativeBase):
    metadata = new_metadata()


class Note(ProbeBase):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(String(40))


class ProbeContainer(SimpleNamespace):
    """What the provider reads of its container (nameko keeps a weak reference to it)."""


@pytest.fixture
def database(make_settings, backend):
    settings = make_settings(["probe"], backend)
    container = ProbeContainer(config=settings.nameko_config("probe"), service_name="probe", max_workers=2)
    provider = Database(ProbeBase.metadata, migrations="unused").bind(container, "db")
    provider.setup()
    ProbeBase.metadata.create_all(provider.engine)
    yield provider
    provider.stop()


def _notes(provider: Database) -> list[str]:
    with provider.engine.connect() as conn:
        return list(conn.execute(select(Note.text).order_by(Note.id)).scalars())


def _add(text_: str):
    return lambda session: session.execute(insert(Note.__table__).values(text=text_))


def test_before_commit_hooks_write_inside_the_transaction_at_commit(database):
    worker = object()
    session = database.get_dependency(worker)
    session.add(Note(text="change"))
    database.before_commit(worker, _add("gathered 1"))
    database.before_commit(worker, _add("gathered 2"))
    assert _notes(database) == []  # nothing written before the commit
    database.commit(worker)
    database.worker_teardown(worker)
    assert sorted(_notes(database)) == ["change", "gathered 1", "gathered 2"]


def test_a_commit_in_the_middle_of_a_worker_takes_the_hooks_registered_so_far(database):
    worker = object()
    session = database.get_dependency(worker)
    database.before_commit(worker, _add("batch 1"))
    session.commit()  # a long job commits batch by batch (the SLA sweep does)
    assert _notes(database) == ["batch 1"]
    database.before_commit(worker, _add("batch 2"))
    database.commit(worker)
    database.worker_teardown(worker)
    assert _notes(database) == ["batch 1", "batch 2"]  # each once


def test_a_rollback_forgets_the_hooks(database):
    worker = object()
    session = database.get_dependency(worker)
    session.add(Note(text="change"))
    database.before_commit(worker, _add("gathered"))
    database.rollback(worker)
    session.add(Note(text="after"))
    database.commit(worker)
    database.worker_teardown(worker)
    assert _notes(database) == ["after"]


def test_a_failing_hook_fails_the_commit_and_nothing_is_written(database):
    worker = object()
    session = database.get_dependency(worker)
    session.add(Note(text="change"))

    def broken(_session):
        raise RuntimeError("cannot stage")

    database.before_commit(worker, broken)
    with pytest.raises(RuntimeError, match="cannot stage"):
        database.commit(worker)
    database.rollback(worker)
    database.worker_teardown(worker)
    assert _notes(database) == []


# -- idle connections ---------------------------------------------------------------------------------


def _backend_pids(engine) -> set[int]:
    with engine.connect() as conn:
        return {conn.execute(text("SELECT pg_backend_pid()")).scalar_one()}


def test_a_connection_killed_while_idle_in_the_pool_is_replaced_unseen(database_url_factory, monkeypatch):
    url = database_url_factory("probe", "postgresql")
    engine = build_engine(url, pool_size=1)
    admin = build_engine(url, pool_size=1)
    try:
        [first] = _backend_pids(engine)
        with admin.connect() as conn:  # the server ends it: a restart, a failover, an idle timeout
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar_one()
        monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)  # it has now been idle long enough
        with engine.connect() as conn:  # no error reaches the caller
            assert conn.execute(select(func.count()).select_from(text("pg_class"))).scalar_one() > 0
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != first
    finally:
        engine.dispose()
        admin.dispose()


def test_a_connection_that_dies_in_steady_use_fails_once_then_the_pool_recovers(database_url_factory):
    # Used a moment ago, so it is not pinged: the one statement on it fails, and SQLAlchemy then
    # discards the pool, so the next unit of work (the caller's retry) gets a live connection.
    url = database_url_factory("probe", "postgresql")
    engine = build_engine(url, pool_size=1)
    admin = build_engine(url, pool_size=1)
    try:
        [first] = _backend_pids(engine)
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar_one()
        with pytest.raises(DBAPIError) as caught, engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert caught.value.connection_invalidated
        [second] = _backend_pids(engine)
        assert second != first
    finally:
        engine.dispose()
        admin.dispose()


# -- a service whose database connections are all killed between two commands ------------------------


def test_commands_go_on_after_the_database_drops_every_connection(run_suite, small_district):
    suite = run_suite("registry", backend="postgresql")
    first = suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id="dropped-01")
    url = suite.settings.database_url("registry")
    admin = build_engine(url, pool_size=1)
    try:
        with admin.connect() as conn:  # a database restart, as the service's connections see it
            killed = conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
        assert killed >= 2  # the workers' pool and the replay check's own connection
        # The replay check reconnects: the same request gets the stored reply, not a second run...
        again = suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id="dropped-01")
        assert again.structure_version == first.structure_version
        # ...and new commands work (a pooled connection used a moment ago may fail one call: retried).
        for attempt in range(3):
            try:
                later = suite.rpc.registry.upsert(actor="P-DATA", records=[{"kind": "person", "id": "P77", "name": "新人"}],
                                                  request_id="dropped-02")
                break
            except Exception:  # noqa: BLE001 - the one call the dead pool may cost
                assert attempt == 0
        assert later.structure_version == first.structure_version + 1
    finally:
        admin.dispose()
