"""Fault injection: crashes between commit and publish, redelivered commands and events, poison messages.

At-least-once delivery is assumed everywhere; these tests show that nothing is lost, nothing is done
twice, and nothing is redelivered forever.
"""

from __future__ import annotations

import json
import uuid

import eventlet
import pytest
from kombu import Connection, Exchange
from sqlalchemy import Integer, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from redprop.contracts.registry import StructureChanged
from redprop.db import Database, new_metadata
from redprop.db.engine import build_engine
from redprop.messaging import event_handler, wire
from redprop.messaging.outbox import OutboxRelay
from redprop.messaging.tables import OutboxMessage
from redprop.service import RedpropService
from redprop.testing import events
from redprop.testing.events import dead_letters
from redprop.testing.suite import Suite, ad_hoc_service, wait_for
from tests.conftest import small_district_records

pytestmark = pytest.mark.integration


# -- a consumer of registry events, standing in for any downstream service --------------------------


class AuditBase(DeclarativeBase):
    metadata = new_metadata()


class Seen(AuditBase):
    __tablename__ = "seen"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64))
    structure_version: Mapped[int] = mapped_column(Integer)


POISON_VERSION = 999_999  # the handler always fails on this one, as a bug would


class AuditService(RedpropService):
    name = "audit"
    db = Database(AuditBase.metadata, migrations="unused")

    @event_handler("registry", StructureChanged)
    def on_structure_changed(self, evt: StructureChanged) -> None:
        if evt.structure_version == POISON_VERSION:
            raise RuntimeError("cannot handle this one")
        self.db.add(Seen(event_id=evt.event_id, structure_version=evt.structure_version))


@pytest.fixture
def audit(make_settings):
    settings = make_settings(["audit"])
    with ad_hoc_service(settings, AuditService, AuditBase.metadata) as (container, engine):
        def seen() -> list[tuple[str, int]]:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(select(Seen.event_id, Seen.structure_version))]

        container.seen = seen
        container.settings = settings
        yield container


def publish_event(settings, body: bytes | dict, routing_key: str = StructureChanged.event_type,
                  headers: dict | None = None) -> None:
    payload = json.dumps(body).encode() if isinstance(body, dict) else body
    with Connection(settings.amqp_uri) as conn:
        producer = conn.Producer()
        producer.publish(payload, exchange=wire.event_exchange("registry"), routing_key=routing_key,
                         content_type="application/json", content_encoding="utf-8", headers=headers or {},
                         declare=[wire.event_exchange("registry")], delivery_mode=2)


def structure_event(version: int, event_id: str | None = None) -> dict:
    evt = StructureChanged(district="990001", structure_version=version, counts={}, changes=[])
    data = evt.model_dump(mode="json")
    if event_id:
        data["event_id"] = event_id
    return data


# -- events ------------------------------------------------------------------------------------------


def test_a_redelivered_event_is_processed_once(audit):
    evt = structure_event(7, event_id="evt-" + uuid.uuid4().hex)
    publish_event(audit.settings, evt)
    publish_event(audit.settings, evt)  # the outbox or the broker delivered it twice
    publish_event(audit.settings, structure_event(8))
    wait_for(lambda: len(audit.seen()) >= 2, message="both distinct events")
    eventlet.sleep(0.5)  # give a wrongly processed duplicate time to show up
    assert sorted(v for _, v in audit.seen()) == [7, 8]


def test_a_body_that_breaks_the_contract_goes_straight_to_the_dead_letters(audit):
    publish_event(audit.settings, {"event_id": "broken-1", "district": "not-a-district"})
    publish_event(audit.settings, b"\xff\xfe not json at all")
    publish_event(audit.settings, structure_event(11))
    wait_for(lambda: audit.seen(), message="the good event after the bad ones")
    letters = wait_for(lambda: dead_letters(audit.settings, "audit") or None, message="dead letters")
    more = dead_letters(audit.settings, "audit")
    letters = letters + more
    assert len(letters) == 2
    reasons = [m.headers[wire.H_DEAD_REASON] for m in letters]
    assert any("district" in r for r in reasons), reasons
    assert any("undecodable" in r for r in reasons), reasons
    codes = sorted(m.headers[wire.H_DEAD_ERROR_CODE] for m in letters)
    assert codes == ["bad_request", "validation_failed"]
    assert all(m.headers[wire.H_DEAD_QUEUE].startswith("evt-registry-registry.structure_changed")
               for m in letters)
    assert [v for _, v in audit.seen()] == [11]


def test_a_handler_that_keeps_failing_is_retried_then_dead_lettered_and_never_blocks(audit):
    publish_event(audit.settings, structure_event(POISON_VERSION))
    publish_event(audit.settings, structure_event(12))
    wait_for(lambda: audit.seen(), message="the event behind the poison one")
    letters = wait_for(lambda: dead_letters(audit.settings, "audit") or None, timeout=15,
                       message="the poison message in the dead-letter queue")
    assert len(letters) == 1
    headers = letters[0].headers
    assert headers[wire.H_ATTEMPT] == audit.settings.messaging.max_delivery_attempts
    assert "cannot handle this one" in headers[wire.H_DEAD_REASON]
    assert headers[wire.H_DEAD_ERROR] == "RuntimeError"
    assert headers[wire.H_DEAD_ERROR_CODE] == "internal_error"  # a fault of the handler, not the sender
    assert [v for _, v in audit.seen()] == [12]
    eventlet.sleep(1.0)  # nothing comes back from the dead-letter queue by itself
    assert dead_letters(audit.settings, "audit") == []


# -- RPC ---------------------------------------------------------------------------------------------


@pytest.fixture
def registry(run_suite, small_district):
    suite = run_suite("registry")
    suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id="load-small-district")
    return suite


def test_an_undecodable_rpc_message_is_dead_lettered_and_the_service_keeps_serving(registry):
    with Connection(registry.settings.amqp_uri) as conn:
        conn.Producer().publish(b"{ this is not json", exchange=Exchange(wire.RPC_EXCHANGE, type="topic"),
                                routing_key="registry.resolve", content_type="application/json",
                                content_encoding="utf-8")
    letters = wait_for(lambda: dead_letters(registry.settings, "registry") or None,
                       message="the undecodable request in the dead-letter queue")
    assert "undecodable" in letters[0].headers[wire.H_DEAD_REASON]
    assert registry.rpc.registry.resolve(building_id="B1").building.id == "B1"


def test_a_command_delivered_twice_at_once_creates_one_record_and_one_reply(registry):
    record = {"kind": "person", "id": "P77", "name": "重复"}
    calls = [registry.rpc.call_async("registry", "upsert", {"actor": "P-DATA", "records": [record], "request_id": "twice-0001"})
             for _ in range(2)]
    first, second = (c.result() for c in calls)
    assert first == second
    assert first.counts["person"].created == 1
    people = sum(1 for r in small_district_records() if r["kind"] == "person")
    assert registry.rpc.registry.summary().counts["person"] == people + 1  # the district's and P77, once


# -- the outbox --------------------------------------------------------------------------------------


def bind_event_queue(settings):
    return events.bind(settings, "registry")


def drain(settings, queue) -> list[dict]:
    return [body for _key, body in events.drain(settings, queue)]


def pending_outbox(settings) -> int:
    engine = build_engine(settings.database_url("registry"))
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(OutboxMessage)
                                .where(OutboxMessage.published_at.is_(None))).scalar_one()
    finally:
        engine.dispose()


def test_events_are_published_once_after_commit(registry):
    queue = bind_event_queue(registry.settings)
    report = registry.rpc.registry.upsert(actor="P-DATA", records=[{"kind": "person", "id": "P50", "name": "新人"}],
                                          request_id="publish-0001")

    def ours():
        return [e for e in drain(registry.settings, queue)
                if e.get("structure_version") == report.structure_version]

    events = wait_for(ours, message="the structure_changed event")
    assert [e["changes"] for e in events] == [[{"kind": "person", "id": "P50", "change": "created"}]]
    assert events[0]["district"] == "990001"
    eventlet.sleep(0.5)
    assert ours() == []


def test_a_crash_between_commit_and_publish_loses_no_event(make_settings, small_district, monkeypatch):
    settings = make_settings(["registry"])
    queue = bind_event_queue(settings)
    # The process dies after committing and before its relay publishes: no relay round ever runs.
    monkeypatch.setattr(OutboxRelay, "relay_pending", lambda self: 0)
    suite = Suite(settings, ["registry"]).start()
    try:
        suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id="crash-load-1")
    finally:
        suite.kill()
    assert pending_outbox(settings) >= 1
    assert drain(settings, queue) == []

    monkeypatch.undo()
    with Suite(settings, ["registry"]):  # the service comes back (or another replica runs)
        events = wait_for(lambda: drain(settings, queue), message="the event left in the outbox")
        eventlet.sleep(0.5)
        events += drain(settings, queue)
    structure = [e for e in events if "structure_version" in e]
    assert [e["structure_version"] for e in structure] == [1]
    assert pending_outbox(settings) == 0
