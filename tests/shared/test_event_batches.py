"""Batched event handlers (``messaging/batches.py``): the messages that arrive together share one inbox
look-up and one transaction; a redelivered event counts once; a failing event costs only itself."""

from __future__ import annotations

import json

import pytest
from kombu import Connection
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from redprop.contracts.registry import StructureChanged
from redprop.db import Database, new_metadata
from redprop.errors import ValidationFailed
from redprop.messaging import wire
from redprop.messaging.batches import batch_event_handler
from redprop.service import RedpropService
from redprop.testing.events import dead_letters
from redprop.testing.suite import ad_hoc_service, wait_for
from tests.shared.test_faults import publish_event, structure_event

pytestmark = pytest.mark.integration


class BatchBase(DeclarativeBase):
    metadata = new_metadata()


class Counted(BatchBase):
    __tablename__ = "counted"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64))


POISON = "poison-1"  # the handler refuses it on every delivery (a non-retryable domain error)
batch_sizes: list[int] = []


class BatchService(RedpropService):
    name = "batches"
    db = Database(BatchBase.metadata, migrations="unused")

    @batch_event_handler("registry", StructureChanged)
    def on_structure(self, events: list[StructureChanged]) -> None:
        batch_sizes.append(len(events))
        for evt in events:
            self.db.add(Counted(event_id=evt.event_id))
        self.db.flush()
        if any(evt.event_id == POISON for evt in events):
            raise ValidationFailed.for_field("event_id", "this one is refused")


@pytest.fixture
def batches(make_settings):
    settings = make_settings(["batches"])
    with ad_hoc_service(settings, BatchService, BatchBase.metadata) as (container, engine):
        def counted() -> list[str]:
            with engine.connect() as conn:
                return sorted(conn.execute(select(Counted.event_id)).scalars())

        container.counted, container.settings = counted, settings
        yield container


def publish_burst(settings, bodies: list[dict]) -> None:
    """On one connection, back to back: faster than the consumer takes them, so batches form even when
    a busy machine slows the publisher (a connection per event let the service keep up one at a time)."""
    with Connection(settings.amqp_uri) as conn:
        producer = conn.Producer()
        for body in bodies:
            producer.publish(json.dumps(body).encode(), exchange=wire.event_exchange("registry"),
                             routing_key=StructureChanged.event_type, content_type="application/json",
                             content_encoding="utf-8", declare=[wire.event_exchange("registry")], delivery_mode=2)


def test_a_burst_is_counted_once_in_batches_and_a_poison_event_costs_only_itself(batches):
    batch_sizes.clear()
    good = [f"e-{k:02d}" for k in range(30)]
    bodies = [structure_event(k + 1, event_id=e) for k, e in enumerate(good)]
    burst = bodies[:15] + [structure_event(99, event_id=POISON)] + bodies[15:] + bodies[:5]  # 5 delivered twice
    publish_burst(batches.settings, burst)
    wait_for(lambda: len(batches.counted()) >= len(good), message="every good event")
    letters = wait_for(lambda: dead_letters(batches.settings, "batches") or None, message="the poison event")
    assert batches.counted() == good  # each once; the poison's batch mates committed without it
    assert len(letters) == 1 and letters[0].headers[wire.H_DEAD_ERROR_CODE] == "validation_failed"
    assert max(batch_sizes) > 1  # they did share transactions

    for body in bodies:  # the broker delivers them all again: the inbox drops every one
        publish_event(batches.settings, body)
    publish_event(batches.settings, structure_event(100, event_id="e-last"))
    wait_for(lambda: "e-last" in batches.counted(), message="the event behind the redelivered ones")
    assert batches.counted() == sorted([*good, "e-last"])
