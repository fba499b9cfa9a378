"""A sweep batch's rows written in one statement per set of changed columns (``UPDATE ... FROM
(VALUES ...)`` on PostgreSQL, executemany on SQLite): what is written is what the desk changed, on both."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from redprop.services.ticketing import models as m
from redprop.services.ticketing.outcome import Outcome, write_rows
from redprop.services.ticketing.sweep import due_batch
from tests.ticketing.test_desk import DISTRICT, PLACE, START, Clock, dispatched, new_desk


@pytest.fixture
def session(backend, database_url_factory):
    engine = create_engine(database_url_factory("ticketing", backend))
    m.metadata.create_all(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def stored(session, ticket_id: str) -> dict:
    row = session.execute(select(m.tickets).where(m.tickets.c.id == ticket_id)).one()
    return {k: v for k, v in row._mapping.items() if k != "updated_at"}


def test_a_swept_batch_is_written_as_the_desk_changed_it(session):
    clock = Clock()
    ids = [dispatched(new_desk(session, clock)) for _ in range(5)]
    session.commit()
    for hours, expected in ((3, "breached"), (25, "escalated")):  # utilities: respond in 2 h, resolve in 24 h
        clock.now = START + timedelta(hours=hours)
        desk = new_desk(session, clock)
        outcome = desk.sweep(due_batch(session, DISTRICT, clock.now, 100), lambda _row: PLACE)
        assert outcome.result == [expected] * 5
        write_rows(session, outcome)
        session.commit()
        for record in desk._records:
            assert stored(session, record.id) == {k: v for k, v in record.values().items() if k != "updated_at"}
    assert {stored(session, tid)["level"] for tid in ids} == {"community"}


def test_nulls_json_and_numbers_in_a_many_row_update_keep_their_types(session):
    clock = Clock()
    first, second = dispatched(new_desk(session, clock)), dispatched(new_desk(session, clock))
    changed = {"next_check_at": None, "handler_name": None, "cost": Decimal("12.50"),
               "cost_lines": [{"code": "K1", "qty": 2}], "rejections": 3, "response_breached": True}
    write_rows(session, Outcome(updates=[(first, changed), (second, {**changed, "cost": None})]))
    session.commit()
    one, two = stored(session, first), stored(session, second)
    assert {k: one[k] for k in changed} == changed
    assert (two["cost"], two["cost_lines"], two["next_check_at"]) == (None, [{"code": "K1", "qty": 2}], None)


def test_a_many_row_update_of_an_unknown_ticket_writes_nothing_else(session):
    clock = Clock()
    tid = dispatched(new_desk(session, clock))
    session.commit()
    before = stored(session, tid)
    write_rows(session, Outcome(updates=[("T-NONE-1", {"sla_state": "breached"}),
                                         ("T-NONE-2", {"sla_state": "breached"})]))
    session.commit()
    assert stored(session, tid) == before
