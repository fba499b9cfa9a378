"""The duplicate check's stored candidates, read once per place and category in a group's transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session

from redprop.services.ticketing import models as m
from redprop.services.ticketing.duplicates import likely_original
from tests.ticketing.test_desk import DISTRICT, START, Clock, new_desk, submit

TEXT = "楼道顶棚漏水，雨天更严重"


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    m.metadata.create_all(engine)
    with Session(engine) as s:
        yield s


def ask(session, now, stored, description=TEXT, category="leak"):
    return likely_original(session, district=DISTRICT, category=category, building_id="B1", complex_id="X1",
                           description=description, now=now, window_days=7, threshold=0.5, stored=stored)


def counting(session) -> list:
    statements = []
    event.listen(session.get_bind(), "before_cursor_execute", lambda *a: statements.append(a[2]))
    return statements


def test_a_group_asks_the_database_once_per_place_and_category_and_finds_the_same(session):
    clock = Clock()
    original = submit(new_desk(session, clock)).result.id
    statements, stored = counting(session), {}
    now = START + timedelta(hours=1)
    assert [ask(session, now, stored) for _ in range(3)] == [original] * 3
    assert ask(session, now, None) == original  # without the shared dict: the same answer
    assert len(statements) == 2  # once for the group's three, once for the call on its own
    assert ask(session, now, stored, category="lift") is None  # another category is read on its own
    assert len(statements) == 3


def test_a_stored_candidate_out_of_a_later_tickets_window_is_not_compared(session):
    clock = Clock()
    submit(new_desk(session, clock))
    stored = {}
    almost = START + timedelta(days=7) - timedelta(microseconds=1)
    assert ask(session, almost, stored) is not None  # inside the 7-day window: read and kept
    assert ask(session, START + timedelta(days=7, microseconds=1), stored) is None  # the kept row is too old now
    assert ask(session, START + timedelta(days=7, microseconds=1), None) is None
