"""Batched earning: ``ledger.earn_many`` straight against both databases (each source once, also twice in one
batch or redelivered; double entry; a constant number of statements), and the batched event handlers over
the real broker (a burst with duplicates and redeliveries earns once; a poison event in a batch costs only
itself; a body that breaks the contract is dead-lettered and its neighbours earn)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.orm import Session

from redprop.config import Settings
from redprop.contracts import mediation as md
from redprop.contracts import ticketing as t
from redprop.db.migrate import upgrade
from redprop.messaging import wire
from redprop.messaging.batches import BatchEventHandler
from redprop.services.participation import ledger
from redprop.services.participation import models as m
from redprop.services.participation.earning import Award
from redprop.services.participation.service import ParticipationService
from redprop.testing.events import dead_letters, deliver, publish
from redprop.testing.suite import wait_for
from tests.participation.conftest import RESIDENT, SECRETARY, rid
from tests.participation.test_ledger import _entries_sum, _ledger_balanced, rated

DISTRICT = "990001"
AT = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def session(database_url_factory, backend):
    engine = create_engine(database_url_factory("participation", backend))
    m.metadata.create_all(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def _balanced(s: Session) -> bool:
    a, e = m.accounts, m.entries
    balances = dict(s.execute(select(a.c.account, a.c.balance)).all())
    sums = {k: int(v) for k, v in s.execute(select(e.c.account, func.sum(e.c.amount)).group_by(e.c.account)).all()}
    legs = s.execute(select(e.c.transaction_id, func.count(), func.sum(e.c.amount)).group_by(e.c.transaction_id)).all()
    return sum(balances.values()) == 0 and balances == sums and all((n, total) == (2, 0) for _, n, total in legs)


def test_a_batch_earns_each_source_once(session):
    award = lambda person, points=5: Award(person, points, "attended a deliberation meeting")  # noqa: E731
    assert ledger.earn_many(session, DISTRICT, []) == []
    first = ledger.earn_many(session, DISTRICT, [
        (award("P1"), "e:1", AT),
        (award("P2"), "e:2", AT),
        (award("P1", 7), "e:1", AT),          # the same source again in the batch: earns once, the first
        (award("P3", 0), "e:3", AT),          # no points: nothing, not even a transaction
        (award("P3", -4), "e:4", AT),         # bad input from a rule: never a debit
        (award("P1"), "e:5", AT - timedelta(days=400)),  # another Beijing year: its entries say so
    ])
    assert first == [True, True, False, False, False, True]
    session.commit()
    again = ledger.earn_many(session, DISTRICT, [(award("P2"), "e:2", AT), (award("P2"), "e:6", AT),
                                                 (award("P2"), "e:6", AT)])
    assert again == [False, True, False]  # a redelivered fact earns nothing; the new one once
    session.commit()
    assert ledger.earn(session, DISTRICT, award("P1"), "e:1", AT) is False
    assert [ledger.balance(session, DISTRICT, p) for p in ("P1", "P2", "P3")] == [10, 10, 0]
    t = m.transactions
    assert session.execute(select(func.count()).select_from(t)).scalar_one() == 4
    assert session.execute(select(t.c.source).where(t.c.source.in_(["e:3", "e:4"]))).first() is None
    years = session.execute(select(m.entries.c.year).where(m.entries.c.account == "person:P1")
                            .order_by(m.entries.c.year)).scalars().all()
    assert years == [2025, 2026]
    assert _balanced(session)


def test_the_longest_sources_fit(database_url_factory, backend):
    """Ids are up to 64 characters, so a meeting's source for one attendee is 147, and a second award of the
    same fact adds "#1": the migrated table takes them (120 did not, on PostgreSQL)."""
    longest = "M" * 64, "P" * 64
    source = f"mediation:meeting:{longest[0]}:{longest[1]}"
    url = database_url_factory("participation", backend)
    upgrade(ParticipationService, Settings(district=DISTRICT, services={"participation": {"database_url": url}}))
    engine = create_engine(url)
    try:
        with Session(engine) as s:
            award = Award(longest[1], 5, "attended a deliberation meeting")
            assert ledger.earn_many(s, DISTRICT, [(award, source, AT), (award, f"{source}#1", AT)]) == [True, True]
            s.commit()
            assert ledger.balance(s, DISTRICT, longest[1]) == 10
    finally:
        engine.dispose()


def test_a_batch_takes_the_same_statements_whatever_its_size(session):
    """Three statements a batch (the ON CONFLICT insert of transactions, the entries, the balances) for ten
    facts as for five hundred, where one at a time takes three per fact."""
    statements: list[str] = []
    bind = session.get_bind()
    listener = lambda conn, cursor, stmt, params, ctx, many: statements.append(stmt.split()[2])  # noqa: E731
    event.listen(bind, "before_cursor_execute", listener)
    try:
        counts = []
        for size, offset in ((10, 0), (500, 10)):
            statements.clear()
            items = [(Award(f"P{n % 37}", 3, "a vote"), f"v:{n}", AT) for n in range(offset, offset + size)]
            assert all(ledger.earn_many(session, DISTRICT, items))
            counts.append(list(statements))
            session.commit()
    finally:
        event.remove(bind, "before_cursor_execute", listener)
    assert counts[0] == counts[1] == ["transactions", "entries", "accounts"]
    assert ledger.balance(session, DISTRICT, "P0") == 3 * len([n for n in range(510) if n % 37 == 0])
    assert _balanced(session)


# -- over the broker -------------------------------------------------------------------------------------

POISON = "poison-rated-1"


def _start(run_suite, small_district, backend):
    # Prefetch 16: a burst reaches the handler in batches of several events.
    suite = run_suite("registry", "participation", backend=backend, services={"participation": {"max_workers": 16}})
    suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id=rid("load"))
    return suite


def _handler(suite, method: str) -> BatchEventHandler:
    [found] = [e for e in suite.container("participation").entrypoints
               if isinstance(e, BatchEventHandler) and e.method_name == method]
    return found


def _refuse_source(suite, backend: str, source: str) -> None:
    """A database rule that refuses one fact's transaction: a fault of that event alone, inside a batch."""
    engine = create_engine(suite.settings.database_url("participation"))
    try:
        with engine.begin() as conn:
            if backend == "postgresql":
                conn.execute(text(f"""CREATE FUNCTION refuse_poison() RETURNS trigger AS $$
                    BEGIN IF NEW.source = '{source}' THEN RAISE EXCEPTION 'refused by the test'; END IF;
                    RETURN NEW; END $$ LANGUAGE plpgsql"""))
                conn.execute(text("CREATE TRIGGER refuse_poison BEFORE INSERT ON transactions FOR EACH ROW "
                                  "EXECUTE FUNCTION refuse_poison()"))
            else:
                conn.execute(text(f"CREATE TRIGGER refuse_poison BEFORE INSERT ON transactions "
                                  f"WHEN NEW.source = '{source}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"))
    finally:
        engine.dispose()


def test_a_burst_earns_once_in_batches_and_a_poison_event_costs_only_itself(run_suite, small_district, backend):
    suite = _start(run_suite, small_district, backend)
    _refuse_source(suite, backend, f"ticketing:{POISON}")
    p = suite.rpc.participation
    residents = [f"R{k}" for k in range(8)]
    good = [rated(residents[k % 8], ticket_id=f"T{k}") for k in range(40)]
    poison = rated(RESIDENT, ticket_id="T-POISON").model_copy(update={"event_id": POISON})
    broken = {"event_id": "broken-rated-1", "district": DISTRICT, "ticket": {"x": 1}}  # breaks the contract
    deliver(suite.settings, "ticketing", *good[:20], poison, *good[20:], *good[:10])  # ten delivered twice
    publish(suite.settings, t.TicketRated.event_type, broken)
    # 5 points a rated ticket: 5 tickets each
    wait_for(lambda: all(p.balance(person_id=r).balance >= 25 for r in residents), timeout=60,
             message="every good event earned")
    letters = []
    wait_for(lambda: letters.extend(dead_letters(suite.settings, "participation")) or len(letters) >= 2, timeout=60,
             message="the poison and the broken event dead-lettered")
    [refused] = [x for x in letters if x.headers.get(wire.H_EVENT_ID) == POISON]
    [malformed] = [x for x in letters if x is not refused]
    assert "refused by the test" in refused.headers[wire.H_DEAD_REASON]
    assert malformed.headers[wire.H_DEAD_ERROR_CODE] == "validation_failed"
    handler = _handler(suite, "on_ticket_rated")
    assert handler.events_handled == 40 and handler.batches < 40  # they shared transactions

    deliver(suite.settings, "ticketing", *good)  # the broker delivers them all again: the inbox drops them
    deliver(suite.settings, "ticketing", rated(SECRETARY, ticket_id="T-LAST"))
    wait_for(lambda: p.balance(person_id=SECRETARY).balance == 5, timeout=30, message="the event behind them")
    assert [p.balance(person_id=r).balance for r in residents] == [25] * 8
    assert p.balance(person_id=RESIDENT).balance == 0 == _entries_sum(suite, RESIDENT)  # the poison's person
    assert all(_entries_sum(suite, r) == 25 for r in residents)
    assert _ledger_balanced(suite)


def test_meetings_and_votes_in_batches_earn_once_per_person(run_suite, small_district):
    """Burst of meetings (an attendee listed twice, a meeting delivered twice, a person the registry does not
    know) and ballots (one re-cast: a new event for a vote already credited) earn once per person and fact."""
    suite = _start(run_suite, small_district, "postgresql")
    p = suite.rpc.participation
    now = datetime.now(UTC)
    meetings = [md.MeetingRecorded(district=DISTRICT, meeting_id=f"MT{k}", kind="deliberation", held_at=now,
                                   attendee_ids=[RESIDENT, SECRETARY, RESIDENT, "NOBODY"]) for k in range(12)]
    ballots = [md.BallotCast(district=DISTRICT, consultation_id=f"CS{k}", person_id=RESIDENT, cast_at=now)
               for k in range(12)]
    recast = [md.BallotCast(district=DISTRICT, consultation_id=f"CS{k}", person_id=RESIDENT, cast_at=now)
              for k in range(6)]
    deliver(suite.settings, "mediation", *meetings, *meetings[:4], *ballots, *recast)
    # 5 a meeting, 3 a vote
    wait_for(lambda: p.balance(person_id=RESIDENT).balance >= 12 * 5 + 12 * 3, timeout=60, message="all earned")
    wait_for(lambda: p.balance(person_id=SECRETARY).balance >= 12 * 5, timeout=30, message="the secretary's")
    handlers = [_handler(suite, name) for name in ("on_meeting_recorded", "on_ballot_cast")]
    wait_for(lambda: [h.events_handled for h in handlers] == [12, 18], timeout=30, message="all handled")
    reply = p.balance(person_id=RESIDENT)
    assert (reply.balance, reply.entries_total) == (96, 24) and reply.balance == _entries_sum(suite, RESIDENT)
    assert p.balance(person_id=SECRETARY).balance == 60
    assert p.balance(person_id="NOBODY").balance == 0 == _entries_sum(suite, "NOBODY")
    assert any(h.batches < h.events_handled for h in handlers)
    assert _ledger_balanced(suite)
