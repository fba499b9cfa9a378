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
Every message, both directions: content type ``application/json``, encoding UTF-8; a message that is
not (or whose ``nameko.call_id_stack`` header is not an array of strings) is refused at the edge
(``check_envelope``): a ``bad_request`` reply if it has a ``reply_to``, else a dead letter.
Dead letters:
  exchange ``redprop.dead-letter`` (topic), routing key ``<service>.<queue>``, one queue per service
  ``redprop.dlq.<service>``; the reason is in the ``x-redprop-dead-*`` headers (or, for a message the
  broker dead-lettered after its delivery limit, in its ``x-death`` / ``x-first-death-*`` headers).
Queues (``queue_arguments``): every durable queue is declared by purpose and ``messaging.queue_type``;
  reply queues and broadcast queues are exclusive, auto-deleted classic queues.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from kombu import Exchange, Queue
from nameko.exceptions import BadRequest, MalformedRequest, get_module_path, safe_for_serialization

from redprop.errors import InternalError, RedpropError

log = logging.getLogger(__name__)

RPC_EXCHANGE = "nameko-rpc"
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
DEAD_LETTER_EXCHANGE = "redprop.dead-letter"
CONTENT_TYPE = "application/json"
#: ``content_encoding`` values read as UTF-8; absent means UTF-8 too (JSON between systems is UTF-8,
#: RFC 8259 section 8.1).
UTF8_NAMES = frozenset({"utf-8", "utf8"})
#: nameko's call-id stack header: nameko joins it into a string before any of our code runs.
H_CALL_ID_STACK = "nameko.call_id_stack"

# Headers on events (all strings, readable by any AMQP client).
H_EVENT_ID = "x-redprop-event-id"
H_EVENT_TYPE = "x-redprop-event-type"
H_DISTRICT = "x-redprop-district"
H_SCHEMA_VERSION = "x-redprop-schema-version"
# Delivery bookkeeping for retried and dead-lettered messages.
H_ATTEMPT = "x-redprop-attempt"
H_DEAD_REASON = "x-redprop-dead-reason"
H_DEAD_ERROR = "x-redprop-dead-error-type"
H_DEAD_ERROR_CODE = "x-redprop-dead-error-code"
H_DEAD_QUEUE = "x-redprop-dead-queue"
H_DEAD_AT = "x-redprop-dead-at"
H_ORIGINAL_EXCHANGE = "x-redprop-original-exchange"
H_ORIGINAL_ROUTING_KEY = "x-redprop-original-routing-key"


def event_headers(evt) -> dict[str, str]:
    """The headers every published event carries (docs/asyncapi.yaml): its id, type, district and
    schema version, so a consumer can route and dedupe without parsing the body."""
    return {H_EVENT_ID: evt.event_id, H_EVENT_TYPE: evt.event_type, H_DISTRICT: evt.district,
            H_SCHEMA_VERSION: str(evt.schema_version)}


def event_exchange(service: str) -> Exchange:
    return Exchange(f"{service}.events", type="topic", durable=True, delivery_mode=2)


def dead_letter_exchange() -> Exchange:
    return Exchange(DEAD_LETTER_EXCHANGE, type="topic", durable=True, delivery_mode=2)


#: What a durable queue is for; each purpose has its own arguments (``queue_arguments``).
COMMAND, EVENT, DEAD_LETTER, RETRY = "command", "event", "dead-letter", "retry"
PURPOSES = (COMMAND, EVENT, DEAD_LETTER, RETRY)
QUORUM, CLASSIC = "quorum", "classic"


def dead_letter_key(service: str, queue_name: str) -> str:
    """The routing key a dead letter of ``service``'s queue ``queue_name`` goes out with (into
    ``redprop.dlq.<service>``), whether the suite or the broker dead-letters it."""
    return f"{service}.{queue_name}"


def queue_arguments(purpose: str, messaging, *, dead_letter_routing_key: str | None = None,
                    retry_to: str | None = None, retry_delay: float | None = None) -> dict[str, Any]:
    """The ``x-*`` arguments of a durable queue of ``purpose`` under ``messaging`` (MessagingSettings).

    Every durable queue the suite declares goes through here, so a queue is declared the same way by
    the service, the CLI and the tests (a redeclaration with other arguments is refused by the broker).

    Classic: what the suite has always declared (no arguments; a retry queue's TTL and way back), so an
    existing installation's queues still match. Quorum (replicated; RabbitMQ 3.10+ and 4):

    - command and event queues: a delivery limit (``messaging.delivery_limit``, the backstop for a crash
      loop: the suite's own retries ack and republish, never counting here), after which the broker
      dead-letters the message to the suite's dead-letter exchange with ``dead_letter_routing_key``
      (so it lands in the consuming service's dead-letter queue) and its reason in ``x-death``;
    - at-least-once dead-lettering (the dead letter is kept until the dead-letter queue confirms it),
      which needs ``x-overflow: reject-publish``: a full queue refuses (nacks) a publish rather than
      dropping a message, and the suite's publishers use confirms;
    - a retry queue: its TTL and way back (``retry_to``), dead-lettered the same way;
    - the dead-letter queue: no delivery limit and nowhere further to go (``redprop dlq list`` reads
      it without taking messages away; RabbitMQ 4's default limit of 20 then applies there).
    """
    if purpose not in PURPOSES:
        raise ValueError(f"unknown queue purpose {purpose!r}; one of {', '.join(PURPOSES)}")
    args: dict[str, Any] = {}
    if purpose == RETRY:
        if retry_to is None or retry_delay is None:
            raise ValueError("a retry queue needs retry_to and retry_delay")
        args = {"x-message-ttl": int(retry_delay * 1000), "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": retry_to}
    if messaging.queue_type == CLASSIC:
        return args
    args["x-queue-type"] = QUORUM
    if purpose == DEAD_LETTER:
        return args
    if purpose in (COMMAND, EVENT):
        if dead_letter_routing_key is None:
            raise ValueError(f"a quorum {purpose} queue needs its dead_letter_routing_key")
        args.update({"x-delivery-limit": messaging.delivery_limit,
                     "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                     "x-dead-letter-routing-key": dead_letter_routing_key})
    args.update({"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"})
    return args


def dead_letter_queue(service: str, messaging) -> Queue:
    return Queue(f"redprop.dlq.{service}", exchange=dead_letter_exchange(),
                 routing_key=f"{service}.#", durable=True,
                 queue_arguments=queue_arguments(DEAD_LETTER, messaging))


def retry_queue(queue_name: str, messaging) -> Queue:
    """A holding queue: messages wait ``messaging.retry_delay`` then return to ``queue_name``."""
    return Queue(f"{queue_name}.retry", durable=True,
                 queue_arguments=queue_arguments(RETRY, messaging, retry_to=queue_name,
                                                 retry_delay=messaging.retry_delay))


def check_envelope(message) -> None:
    """Refuse (``MalformedRequest``) a message whose body or headers our code cannot safely read.

    Runs before the body is decoded. The protocol is UTF-8 only (RFC 8259 section 8.1); another
    declared encoding is refused rather than half-honoured (the amqp library applies one it knows, and
    leaves bytes that are then read as UTF-8 for one it does not). A ``nameko.call_id_stack`` that is
    not an array of strings makes nameko's worker set-up raise, which kills the container.
    """
    content_type = message.content_type or ""
    if content_type != CONTENT_TYPE:
        raise MalformedRequest(f"content_type must be {CONTENT_TYPE!r}, not {content_type[:100]!r}")
    encoding = message.content_encoding
    if encoding and encoding.lower() not in UTF8_NAMES:
        raise MalformedRequest(f"content_encoding must be 'utf-8', not {encoding[:100]!r}")
    stack = (message.headers or {}).get(H_CALL_ID_STACK)
    if stack is not None and not (isinstance(stack, list) and all(isinstance(i, str) for i in stack)):
        raise MalformedRequest(f"header {H_CALL_ID_STACK} must be an array of strings")


def decode_body(message) -> Any:
    """The decoded body of a message that passed ``check_envelope``, or ``MalformedRequest`` saying why
    not (the reason names the JSON error and its position, never the body's text)."""
    check_envelope(message)
    try:
        return message.decode()
    except Exception as exc:  # noqa: BLE001 - kombu wraps every decoder failure; each is the caller's
        raise MalformedRequest(f"the body is not JSON in UTF-8: {str(exc)[:200]}") from None


def error_reason(error: dict[str, Any]) -> str:
    """One line saying why a request failed, from its error object (for a dead letter's reason)."""
    reason = f"{error['code']}: {error['message']}"
    fields = (error.get("details") or {}).get("fields") or []
    if fields:
        reason += " (" + "; ".join(f"{f.get('field') or '(body)'}: {f.get('message')}" for f in fields) + ")"
    return reason


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
