"""The wire format, in one place (documented for other languages in docs/wire-protocol.md).

RPC (nameko-compatible):
  request  -> exchange ``nameko-rpc`` (topic), routing key ``<service>.<operation>``,
              body ``{"args": [], "kwargs": {<request fields>}}`` (JSON), properties ``reply_to`` and
              ``correlation_id``. Queries are sent transient; commands persistent with publisher confirms.
  reply    -> ``{"result": <reply>, "error": null}`` or ``{"result": null, "error": <error object>}``,
              published to ``nameko-rpc`` with routing key = ``reply_to`` (or, when ``reply_to`` is
              RabbitMQ's direct reply-to pseudo queue ``amq.rabbitmq.reply-to...``, to the default exchange).
Events:
  exchange ``<service>.events`` (topic, durable), routing key = event type (``<service>.<fact>``),
  body = the event model as JSON, persistent; headers below.
Dead letters:
  exchange ``redprop.dead-letter`` (topic), routing key ``<service>.<queue>``, one queue per service
  ``redprop.dlq.<service>``; the reason is in the ``x-redprop-dead-*`` headers.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from kombu import Exchange, Queue
from nameko.exceptions import BadRequest, get_module_path, safe_for_serialization

from redprop.errors import InternalError, RedpropError

log = logging.getLogger(__name__)

RPC_EXCHANGE = "nameko-rpc"
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
DEAD_LETTER_EXCHANGE = "redprop.dead-letter"

# Headers on events (all strings, readable by any AMQP client).
H_EVENT_ID = "x-redprop-event-id"
H_EVENT_TYPE = "x-redprop-event-type"
H_DISTRICT = "x-redprop-district"
H_SCHEMA_VERSION = "x-redprop-schema-version"
# Delivery bookkeeping for retried and dead-lettered messages.
H_ATTEMPT = "x-redprop-attempt"
H_DEAD_REASON = "x-redprop-dead-reason"
H_DEAD_ERROR = "x-redprop-dead-error-type"
H_DEAD_QUEUE = "x-redprop-dead-queue"
H_DEAD_AT = "x-redprop-dead-at"
H_ORIGINAL_EXCHANGE = "x-redprop-original-exchange"
H_ORIGINAL_ROUTING_KEY = "x-redprop-original-routing-key"


def event_exchange(service: str) -> Exchange:
    return Exchange(f"{service}.events", type="topic", durable=True, delivery_mode=2)


def dead_letter_exchange() -> Exchange:
    return Exchange(DEAD_LETTER_EXCHANGE, type="topic", durable=True, delivery_mode=2)


def dead_letter_queue(service: str) -> Queue:
    return Queue(f"redprop.dlq.{service}", exchange=dead_letter_exchange(),
                 routing_key=f"{service}.#", durable=True)


def retry_queue(queue_name: str, delay_seconds: float) -> Queue:
    """A holding queue: messages wait ``delay_seconds`` then return to ``queue_name``."""
    return Queue(
        f"{queue_name}.retry", durable=True,
        queue_arguments={
            "x-message-ttl": int(delay_seconds * 1000),
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": queue_name,
        },
    )


def error_payload(exc: BaseException) -> dict[str, Any]:
    """The error object of an RPC reply.

    ``code``/``message``/``details`` are for any client; ``exc_type``/``exc_path``/``exc_args`` keep
    nameko clients able to rebuild the same exception type. Unexpected exceptions are never sent as
    they are: the caller gets an ``internal_error`` with a reference that finds the traceback in the logs.
    """
    if isinstance(exc, RedpropError):
        typed = exc
    elif isinstance(exc, BadRequest):  # nameko's malformed request / unknown method
        return {
            "code": "bad_request", "message": str(exc), "details": {},
            "exc_type": type(exc).__name__, "exc_path": get_module_path(type(exc)),
            "exc_args": [safe_for_serialization(a) for a in exc.args], "value": str(exc),
        }
    else:
        reference = uuid.uuid4().hex[:12]
        log.error("internal error reference=%s: %r", reference, exc, exc_info=exc)
        typed = InternalError(f"internal error (reference {reference})", {"reference": reference})
    wire = typed.to_wire()
    wire["details"] = json.loads(json.dumps(typed.details, default=str))
    return {
        **wire,
        "exc_type": type(typed).__name__,
        "exc_path": get_module_path(type(typed)),
        # Details keep their JSON types (numbers stay numbers); anything else becomes its string.
        "exc_args": [typed.message, json.loads(json.dumps(typed.details, default=str))],
        "value": typed.message,
    }
