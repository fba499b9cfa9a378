"""Broker helpers for the evaluation tests: capture and republish ticketing events by hand."""

from __future__ import annotations

import json
import uuid

from kombu import Connection, Queue

from redprop.messaging import wire


def bind(settings, service: str = "ticketing") -> Queue:
    queue = Queue(f"test-{service}-{uuid.uuid4().hex[:8]}", exchange=wire.event_exchange(service),
                  routing_key=f"{service}.#", durable=False, auto_delete=False)
    with Connection(settings.amqp_uri) as conn:
        queue(conn.default_channel).declare()
    return queue


def drain(settings, queue) -> list[tuple[str, dict]]:
    out = []
    with Connection(settings.amqp_uri) as conn:
        bound = queue(conn.default_channel)
        while (message := bound.get(no_ack=True)) is not None:
            out.append((message.delivery_info["routing_key"], json.loads(message.body)))
    return out


def publish(settings, routing_key: str, body: dict | bytes, service: str = "ticketing") -> None:
    payload = json.dumps(body).encode() if isinstance(body, dict) else body
    with Connection(settings.amqp_uri) as conn:
        conn.Producer().publish(payload, exchange=wire.event_exchange(service), routing_key=routing_key,
                                content_type="application/json", content_encoding="utf-8",
                                declare=[wire.event_exchange(service)], delivery_mode=2)


def dead_letters(settings, service: str) -> list:
    out = []
    with Connection(settings.amqp_uri) as conn:
        queue = wire.dead_letter_queue(service)(conn.default_channel)
        queue.declare()
        while (message := queue.get(no_ack=True)) is not None:
            out.append(message)
    return out
