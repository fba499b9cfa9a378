"""The outbox relay's publishing: batches with confirms awaited together, and a broker that is away.

Real RabbitMQ throughout; the broker's refusals are provoked, not imitated (a queue that rejects
publishes when full; a port where no broker listens).
"""

from __future__ import annotations

import json
import uuid

import amqp
import eventlet
import pytest
from kombu import Connection, Exchange, Queue
from sqlalchemy import select

from redprop.db.engine import build_engine
from redprop.messaging.confirms import BatchPublisher, Outgoing, PublishIncomplete
from redprop.messaging.outbox import OutboxRelay
from redprop.messaging.tables import OutboxMessage
from redprop.testing import events as event_queue
from redprop.testing.suite import Suite, wait_for

pytestmark = pytest.mark.integration

NOBODY_LISTENS = "amqp://guest:guest@127.0.0.1:1//"
DEFAULT_EXCHANGE = Exchange("")


def _message(text: str) -> amqp.Message:
    return amqp.Message(text.encode(), content_type="text/plain", delivery_mode=2)


@pytest.fixture
def queue(amqp_uri):
    """A durable queue that takes at most ``max_length`` messages and refuses more (reject-publish)."""
    made = []

    def make(max_length: int | None = None) -> str:
        name = f"test-confirms-{uuid.uuid4().hex[:8]}"
        arguments = {"x-max-length": max_length, "x-overflow": "reject-publish"} if max_length else {}
        with Connection(amqp_uri) as conn:
            Queue(name, durable=True, queue_arguments=arguments)(conn.default_channel).declare()
        made.append(name)
        return name

    yield make
    with Connection(amqp_uri) as conn:
        for name in made:
            conn.default_channel.queue_delete(name)


def _bodies(amqp_uri: str, name: str) -> list[str]:
    with Connection(amqp_uri) as conn:
        channel = conn.default_channel
        out = []
        while (message := channel.basic_get(name, no_ack=True)) is not None:
            out.append(message.body.decode())
        return out


def test_a_batch_is_published_in_order_and_confirmed(amqp_uri, queue):
    name = queue()
    publisher = BatchPublisher(amqp_uri)
    try:
        assert publisher.publish([Outgoing(DEFAULT_EXCHANGE, name, _message(f"m{i}")) for i in range(300)]) == 300
        assert publisher.publish([Outgoing(DEFAULT_EXCHANGE, name, _message("again"))]) == 1  # same channel
        assert publisher.publish([]) == 0
    finally:
        publisher.close()
    assert _bodies(amqp_uri, name) == [f"m{i}" for i in range(300)] + ["again"]


def test_a_refused_message_ends_the_confirmed_prefix(amqp_uri, queue):
    name = queue(max_length=2)
    publisher = BatchPublisher(amqp_uri)
    try:
        with pytest.raises(PublishIncomplete) as caught:
            publisher.publish([Outgoing(DEFAULT_EXCHANGE, name, _message(f"m{i}")) for i in range(4)])
        assert caught.value.confirmed == 2
        assert "refused message 3 of 4" in str(caught.value)
        # The channel was reopened: the publisher goes on working once there is room again.
        assert _bodies(amqp_uri, name) == ["m0", "m1"]
        assert publisher.publish([Outgoing(DEFAULT_EXCHANGE, name, _message("later"))]) == 1
    finally:
        publisher.close()
    assert _bodies(amqp_uri, name) == ["later"]


def test_no_broker_means_nothing_confirmed():
    publisher = BatchPublisher(NOBODY_LISTENS)
    with pytest.raises(PublishIncomplete) as caught:
        publisher.publish([Outgoing(DEFAULT_EXCHANGE, "anywhere", _message("m"))])
    assert caught.value.confirmed == 0
    assert "connection failed" in str(caught.value)


def _outbox(settings) -> list[tuple]:
    engine = build_engine(settings.database_url("registry"))
    try:
        with engine.connect() as conn:
            t = OutboxMessage.__table__.c
            return conn.execute(select(t.routing_key, t.published_at, t.attempts, t.last_error).order_by(t.id)).all()
    finally:
        engine.dispose()


def test_events_wait_in_the_outbox_while_the_broker_is_away(make_settings, small_district, monkeypatch):
    settings = make_settings(["registry"])
    queue = event_queue.bind(settings, "registry")
    real_setup = OutboxRelay.setup

    def setup_unreachable(self):
        real_setup(self)
        self.publisher = BatchPublisher(NOBODY_LISTENS)

    monkeypatch.setattr(OutboxRelay, "setup", setup_unreachable)
    with Suite(settings, ["registry"]) as suite:
        # The command succeeds: its change and its events are committed together.
        suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id="away-load-1")
        rows = wait_for(lambda: [r for r in _outbox(settings) if r.attempts >= 2] and _outbox(settings),
                        message="two failed relay rounds")
        assert all(r.published_at is None for r in rows)
        assert "connection failed" in rows[0].last_error
        assert all(r.attempts == 0 for r in rows[1:])  # in order: later events wait behind the first
        assert event_queue.drain(settings, queue) == []

        # The broker is back (for the relay): every event goes out, once, and is marked.
        relay = next(e for e in suite.container("registry").extensions if isinstance(e, OutboxRelay))
        relay.publisher = BatchPublisher(settings.amqp_uri)
        events = wait_for(lambda: event_queue.drain(settings, queue), message="the events kept in the outbox")
        eventlet.sleep(0.5)
        events += event_queue.drain(settings, queue)
    assert [key for key, _body in events] == [r.routing_key for r in rows]  # all of them, in order
    assert len({body["event_id"] for _key, body in events}) == len(events)
    assert all(r.published_at is not None for r in _outbox(settings))


def test_an_event_committed_out_of_id_order_is_still_published(make_settings, small_district, monkeypatch):
    # Rounds woken by a commit read from just below the last published id; a row with a lower id that
    # commits later (a slow transaction) must still go out, found by the full read each poll interval.
    from redprop.messaging import outbox

    monkeypatch.setattr(outbox, "SCAN_SLACK", 0)
    settings = make_settings(["registry"])
    queue = event_queue.bind(settings, "registry")
    with Suite(settings, ["registry"]) as suite:
        suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id="order-load-1")
        wait_for(lambda: all(r.published_at for r in _outbox(settings)), message="the first events out")
        event_queue.drain(settings, queue)
        engine = build_engine(settings.database_url("registry"))
        try:
            with engine.begin() as conn:  # the slow transaction's row: the lowest id, committed last
                table = OutboxMessage.__table__
                template = conn.execute(select(table).order_by(table.c.id).limit(1)).mappings().one()
                conn.execute(table.delete().where(table.c.id == template["id"]))
                conn.execute(table.insert().values({**template, "published_at": None}))
        finally:
            engine.dispose()
        suite.rpc.registry.upsert(actor="P-DATA", records=[{"kind": "person", "id": "P60", "name": "新人"}],
                                  request_id="order-load-2")  # a wake-up round that starts above it
        wait_for(lambda: all(r.published_at for r in _outbox(settings)), message="the late event out")
        # It went to the broker (its body is a copy of the first event's, so count that event twice).
        template_key = template["routing_key"]
        eventlet.sleep(0.3)
        assert [key for key, _body in event_queue.drain(settings, queue)].count(template_key) >= 1


def test_staging_outside_a_worker_checks_the_contract_too(tmp_path):
    """A bulk writer (the registry import) stages through the same contract check as ``emit``."""
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import Session

    from redprop.contracts.registry import StructureChanged
    from redprop.contracts.ticketing import SlaBreached
    from redprop.messaging import wire
    from redprop.messaging.outbox import stage_event
    from redprop.messaging.tables import MessagingBase, OutboxMessage

    engine = create_engine(f"sqlite:///{tmp_path / 'outbox.sqlite3'}")
    MessagingBase.metadata.create_all(engine)
    structure = StructureChanged(district="990001", structure_version=1, counts={}, changes=[])
    with Session(engine) as session:
        stage_event(session, "registry", structure)
        foreign = SlaBreached.model_construct(district="990001", event_id="x-1")
        with pytest.raises(TypeError, match="not an event of the registry contract"):
            stage_event(session, "registry", foreign)
        session.commit()
        rows = session.execute(select(OutboxMessage.routing_key, OutboxMessage.headers)).all()
        assert session.execute(select(func.count()).select_from(OutboxMessage)).scalar() == 1
    assert rows[0].routing_key == "registry.structure_changed"
    assert json.loads(rows[0].headers) == wire.event_headers(structure)
