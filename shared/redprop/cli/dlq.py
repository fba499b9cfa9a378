"""``redprop dlq list|replay SERVICE``: look at dead letters and send them back once fixed."""

from __future__ import annotations

import json

from kombu import Connection

from redprop.config import Settings
from redprop.messaging import wire


def _dead_letters(settings: Settings, service: str, limit: int):
    """Yield (message, channel) for up to ``limit`` dead letters.

    Messages not acknowledged by the caller return to the queue when the connection closes, so listing
    leaves every dead letter in place (and shows each once).
    """
    with Connection(settings.amqp_uri) as conn:
        channel = conn.channel()
        queue = wire.dead_letter_queue(service, settings.messaging)(channel)
        queue.declare()
        for _ in range(limit):
            message = queue.get(no_ack=False)
            if message is None:
                break
            yield message, channel


def _broker_death(headers: dict) -> tuple[str | None, str | None, str | None]:
    """(queue, exchange, routing key) a message came from when the broker dead-lettered it (a quorum
    queue's delivery limit: ``x-first-death-*`` and ``x-death``), else Nones."""
    queue = headers.get("x-first-death-queue")
    if not queue:
        return None, None, None
    deaths = headers.get("x-death") or [{}]
    keys = deaths[-1].get("routing-keys") or [None]
    return queue, headers.get("x-first-death-exchange"), keys[0]


def cmd_list(args, settings: Settings) -> int:
    count = 0
    for message, _channel in _dead_letters(settings, args.service, args.limit):
        headers = message.headers or {}
        count += 1
        broker_queue = _broker_death(headers)[0]
        broker_reason = f"the broker dead-lettered it: {headers.get('x-first-death-reason')}" if broker_queue else None
        print(json.dumps({
            "queue": headers.get(wire.H_DEAD_QUEUE) or broker_queue,
            "reason": headers.get(wire.H_DEAD_REASON) or broker_reason,
            "error_type": headers.get(wire.H_DEAD_ERROR),
            "error_code": headers.get(wire.H_DEAD_ERROR_CODE),
            "attempts": headers.get(wire.H_ATTEMPT),
            "dead_at": headers.get(wire.H_DEAD_AT),
            # The client library has already decoded a body whose content_encoding it knows.
            "body": (body if isinstance(body := message.body, str) else body.decode("utf-8", "replace"))[:500],
        }, ensure_ascii=False))
    print(f"{count} dead letter(s) shown for {args.service}")
    return 0


def cmd_replay(args, settings: Settings) -> int:
    count = 0
    for message, channel in _dead_letters(settings, args.service, args.limit):
        headers = dict(message.headers or {})
        broker_queue, broker_exchange, broker_key = _broker_death(headers)
        queue = headers.get(wire.H_DEAD_QUEUE) or broker_queue
        # An RPC request goes back through the RPC exchange: its routing key names the operation.
        exchange, routing_key = "", queue
        if headers.get(wire.H_ORIGINAL_EXCHANGE) == wire.RPC_EXCHANGE:
            exchange, routing_key = wire.RPC_EXCHANGE, headers.get(wire.H_ORIGINAL_ROUTING_KEY)
        elif not headers.get(wire.H_DEAD_QUEUE) and broker_exchange == wire.RPC_EXCHANGE and broker_key:
            exchange, routing_key = wire.RPC_EXCHANGE, broker_key
        for key in list(headers):
            # The broker's own bookkeeping goes too: a replay starts with a fresh delivery count.
            if key.startswith(("x-redprop-dead", "x-first-death-", "x-last-death-")) or key in (
                    wire.H_ATTEMPT, wire.H_ORIGINAL_EXCHANGE, wire.H_ORIGINAL_ROUTING_KEY, "x-death",
                    "x-delivery-count"):
                del headers[key]
        props = message.properties or {}
        producer_msg = channel.prepare_message(
            message.body, content_type=message.content_type, content_encoding=message.content_encoding,
            headers=headers, properties={k: v for k, v in props.items()
                                         if k in ("correlation_id", "reply_to", "delivery_mode")})
        channel.basic_publish(producer_msg, exchange=exchange, routing_key=routing_key)
        message.ack()
        count += 1
    print(f"replayed {count} dead letter(s) of {args.service} to their queues")
    return 0


def register(sub) -> None:
    p = sub.add_parser("dlq", help="dead letters: list or replay")
    dsub = p.add_subparsers(dest="dlq_command", required=True)
    for name, func, text in (("list", cmd_list, "show dead letters"), ("replay", cmd_replay, "send them back")):
        q = dsub.add_parser(name, help=text)
        q.add_argument("service")
        q.add_argument("--limit", type=int, default=100)
        q.set_defaults(func=func)
