"""Events and dead letters by hand, for tests: what federation or a misbehaving peer would deliver.

    queue = bind(settings, "ticketing")                # a queue on ticketing.events, before the action
    ...                                                 # the action under test
    events = drain(settings, queue)                     # [(routing_key, body), ...]
    publish(settings, "ticketing.created", body)        # a duplicate, a replay, a poison message
    letters = dead_letters(settings, "evaluation")      # what the service gave up on, with the reason
"""

from __future__ import annotations

import json
import uuid

from kombu import Connection, Queue

from redprop.messaging import wire


def bind(settings, service: str, pattern: str | None = None) -> Queue:
    """Declare a queue on ``<service>.events`` (all of its events unless ``pattern`` says otherwise)."""
    queue = Queue(f"test-{service}-{uuid.uuid4().hex[:8]}", exchange=wire.event_exchange(service),
                  routing_key=pattern or f"{service}.#", durable=False, auto_delete=False)
    with Connection(settings.amqp_uri) as conn:
        queue(conn.default_channel).declare()
    return queue


def drain(settings, queue: Queue) -> list[tuple[str, dict]]:
    """Everything waiting in ``queue`` now, as (routing key, decoded body), acknowledged."""
    out = []
    with Connection(settings.amqp_uri) as conn:
        bound = queue(conn.default_channel)
        while (message := bound.get(no_ack=True)) is not None:
            out.append((message.delivery_info["routing_key"], json.loads(message.body)))
    return out


def publish(settings, routing_key: str, body: dict | bytes, service: str | None = None,
            headers: dict | None = None) -> None:
    """Publish on ``<service>.events`` (the service is the routing key's prefix unless given)."""
    service = service or routing_key.split(".", 1)[0]
    payload = json.dumps(body).encode() if isinstance(body, dict) else body
    with Connection(settings.amqp_uri) as conn:
        conn.Producer().publish(payload, exchange=wire.event_exchange(service), routing_key=routing_key,
                                content_type="application/json", content_encoding="utf-8", headers=headers or {},
                                declare=[wire.event_exchange(service)], delivery_mode=2)


def dead_letters(settings, service: str) -> list:
    """Drain the service's dead-letter queue (messages are acknowledged); headers say why."""
    out = []
    with Connection(settings.amqp_uri) as conn:
        queue = wire.dead_letter_queue(service, settings.messaging)(conn.default_channel)
        queue.declare()
        while (message := queue.get(no_ack=True)) is not None:
            out.append(message)
    return out


def deliver(settings, service: str, *events) -> None:
    """Publish events as ``service``'s outbox does (body and headers), e.g. a district's onto the city's
    federated exchange."""
    exchange = wire.event_exchange(service)
    with Connection(settings.amqp_uri) as conn:
        producer = conn.Producer()
        for evt in events:
            producer.publish(
                evt.model_dump_json(), exchange=exchange, routing_key=evt.event_type, declare=[exchange],
                content_type="application/json", content_encoding="utf-8", message_id=evt.event_id,
                headers=wire.event_headers(evt), delivery_mode=2)
