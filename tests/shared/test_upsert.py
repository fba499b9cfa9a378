"""redprop.db.upsert: one INSERT ... ON CONFLICT for SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.orm import Session

from redprop.db import upsert

pytestmark = pytest.mark.integration

metadata = MetaData()
counters = Table("counters", metadata, Column("key", String(10), primary_key=True),
                 Column("label", String(20)), Column("n", Integer, nullable=False))


@pytest.fixture
def session(backend, database_url_factory):
    url = database_url_factory("upsert", backend)
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def rows(session):
    return {r.key: (r.label, r.n) for r in session.execute(select(counters))}


def test_without_update_the_existing_row_is_kept(session):
    session.execute(upsert(session, counters, ["key"]).values(key="a", label="first", n=1))
    session.execute(upsert(session, counters, ["key"]).values(key="a", label="second", n=2))
    session.execute(upsert(session, counters).values(key="a", label="third", n=3))  # any conflict
    assert rows(session) == {"a": ("first", 1)}


def test_named_columns_take_the_new_values(session):
    session.execute(upsert(session, counters, ["key"], update=["label"]).values(key="a", label="old", n=1))
    session.execute(upsert(session, counters, ["key"], update=["label"]).values(key="a", label="new", n=9))
    assert rows(session) == {"a": ("new", 1)}  # n was not named: unchanged


def test_a_callable_builds_the_set_clause_from_the_refused_row(session):
    add = upsert(session, counters, ["key"], update=lambda new: {"n": counters.c.n + new.n})
    session.execute(add, [{"key": "a", "label": "x", "n": 2}, {"key": "b", "label": "y", "n": 5}])
    session.execute(add, [{"key": "a", "label": "z", "n": 3}])
    assert rows(session) == {"a": ("x", 5), "b": ("y", 5)}
