"""Contract-checked RPC entrypoints: ``@query`` and ``@command``.

They are nameko ``Rpc`` entrypoints (same queues, exchange and message shape, so nameko proxies and
plain AMQP clients both work) with four differences:

1. The request is validated against the operation's pydantic model before a worker starts; a bad
   request gets a ``validation_failed`` error that names each field. The method receives the model.
2. The worker's unit of work is committed *before* the reply is sent; a commit failure is the reply.
3. ``@command``: a stored reply for the same ``request_id`` is returned without running the method,
   and the reply is stored in the same transaction as the change (see ``idempotency.py``).
4. Replies are transient and unconfirmed: the reply queue is the caller's own, and a lost reply is
   recovered by retrying (harmless for queries, idempotent for commands). Errors are typed
   (``wire.error_payload``), never a traceback.
5. Hostile input at the edge is answered, never fatal: a message that cannot be read (not JSON in
   UTF-8, a bad ``nameko.call_id_stack``), names no operation, or has a ``reply_to`` but no
   ``correlation_id`` gets a ``bad_request`` reply; any failed request without ``reply_to``, which
   nobody is waiting for, is dead-lettered with its error instead of vanishing.

At start-up the decorated method must match an operation of the service's ``contract`` with the same
kind, so code and published contract cannot drift apart.
"""

from __future__ import annotations

import logging
import sys
import time
from functools import partial
from typing import Any, ClassVar

import amqp
import eventlet
import kombu.serialization
from eventlet.semaphore import Semaphore
from kombu import Connection
from kombu.exceptions import OperationalError
from nameko.constants import NON_PERSISTENT
from nameko.exceptions import BadRequest, ContainerBeingKilled, MalformedRequest, MethodNotFound
from nameko.rpc import Rpc, RpcConsumer, get_rpc_exchange
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from redprop.config import settings_from_config
from redprop.contracts.base import Operation, Reply, Request
from redprop.db.provider import (
    Database,
    backoff,
    commit_unit_of_work,
    database_unavailable,
    find_database,
    rollback_unit_of_work,
)
from redprop.errors import ConfigError, Conflict, RedpropError, ValidationFailed
from redprop.messaging import wire
from redprop.messaging.confirms import renewed
from redprop.messaging.deadletter import DeadLetteringQueueConsumer
from redprop.messaging.idempotency import (
    ReplyLookup,
    record_reply,
    recorded_by_worker,
    request_fingerprint,
)
from redprop.metrics import find_metrics_server

log = logging.getLogger(__name__)

#: ``before_worker`` answered the message itself (a replayed command): no worker runs.
ANSWERED = object()

#: How long a request whose database is away waits for it before going back to its queue (bounded, so
#: that a stopping container is not held up).
DATABASE_WAIT_S = 10.0


class ReplyPublisher:
    """Publishes a container's replies: transient and unconfirmed, on one connection kept open.

    A reply is then one socket write. (nameko's ``Publisher`` acquires a pooled connection and producer
    for every message and wraps the write in retry machinery; for a query that was most of the
    service's cost per call; see docs/benchmarks.md.) Green threads take turns on the channel, so frames
    never interleave. A broken connection is reopened with backoff for up to ``retry_for`` seconds (a
    broker restart); a reply that cannot be sent even so is logged and dropped, never raised: an
    exception here would kill the container, and the caller's retry recovers the reply (a command's
    from its stored reply).
    """

    def __init__(self, amqp_uri: str, *, retry_for: float = 10.0):
        self._connection = Connection(amqp_uri)
        self._channel = None
        self._lock = Semaphore()
        self.retry_for = retry_for
        self._errors = (*self._connection.connection_errors, *self._connection.channel_errors,
                        OperationalError, OSError)

    def publish(self, payload: Any, *, serializer: str, exchange: Any, routing_key: str,
                correlation_id: str | None) -> bool:
        """Send one reply; False if the broker could not be reached within ``retry_for`` seconds."""
        content_type, content_encoding, body = kombu.serialization.dumps(payload, serializer=serializer)
        if isinstance(body, str):
            body = body.encode(content_encoding or "utf-8")
        return self.publish_body(body, content_type=content_type, content_encoding=content_encoding,
                                 exchange=exchange, routing_key=routing_key, correlation_id=correlation_id)

    def publish_body(self, body: bytes, *, content_type: str, content_encoding: str | None, exchange: Any,
                     routing_key: str, correlation_id: str | None) -> bool:
        """``publish`` for a body already encoded (a query's reply, encoded by pydantic)."""
        message = amqp.Message(body, content_type=content_type, content_encoding=content_encoding,
                               correlation_id=correlation_id, delivery_mode=NON_PERSISTENT)
        exchange_name = getattr(exchange, "name", exchange) or ""
        deadline = time.monotonic() + self.retry_for
        with self._lock:
            for delay in backoff(0.1, 2.0):
                try:
                    if self._channel is None:
                        self._connection.connect()
                        self._channel = self._connection.channel()
                    self._channel.basic_publish(message, exchange=exchange_name, routing_key=routing_key)
                    return True
                except self._errors as exc:
                    self.close()
                    if time.monotonic() + delay > deadline:
                        log.warning("could not send a reply (correlation_id %s): the broker is unreachable "
                                    "(%r); the caller's retry will get it", correlation_id, exc)
                        return False
                    log.info("reply connection lost (%r); reconnecting in %.1f s", exc, delay)
                eventlet.sleep(delay)
        return False  # unreachable: backoff() never ends

    def close(self) -> None:
        self._channel = None
        self._connection = renewed(self._connection)


class EncodedReply(bytes):
    """A reply's ``result`` already encoded as JSON (UTF-8) by its pydantic model.

    A query's reply goes out as these bytes: pydantic writes the JSON in one call, where dumping the
    model to Python objects and then kombu's JSON encoder walking them cost more than the rest of a
    call's server-side work (bench/profiles/registry-*.txt).
    """

    def envelope(self) -> bytes:
        """The reply message's body, ``{"result": ..., "error": null}``."""
        return b'{"result":' + self + b',"error":null}'


class ContractRpcConsumer(RpcConsumer):
    """nameko's RpcConsumer with redprop's reply path (transient replies, typed errors)."""

    queue_consumer = DeadLetteringQueueConsumer()

    def setup(self):
        super().setup()
        settings = settings_from_config(self.container.config)
        # nameko 2.14 declares rpc-<service> with no arguments: quorum or classic by messaging.queue_type.
        self.queue.queue_arguments = wire.queue_arguments(
            wire.COMMAND, settings.messaging,
            dead_letter_routing_key=wire.dead_letter_key(self.container.service_name, self.queue.name))
        self.rpc_exchange = get_rpc_exchange(self.container.config)
        self.reply_publisher = ReplyPublisher(settings.amqp_uri)
        self.db = next((d for d in self.container.dependencies if isinstance(d, Database)), None)

    def stop(self):
        super().stop()
        self.reply_publisher.close()

    def kill(self):
        self.reply_publisher.close()

    def get_provider_for_method(self, routing_key):
        try:
            return super().get_provider_for_method(routing_key)
        except MethodNotFound:
            # nameko's message is the bare method name (often empty); say what was asked for.
            raise MethodNotFound(f"{self.container.service_name} has no operation for routing key "
                                 f"{routing_key[:255]!r}") from None

    def refuse_undecodable(self, message, exc) -> None:
        """Called by the queue consumer for a message it could not decode (see deadletter.py)."""
        provider = next((p for p in self._providers
                         if f"{self.container.service_name}.{p.method_name}"
                         == (message.delivery_info or {}).get("routing_key")), None)
        if provider is not None:
            provider._count_rejection("bad_request")
        refusal = MalformedRequest(f"undecodable request: {exc}")
        self.handle_result(message, None, (MalformedRequest, refusal, None))

    def handle_result(self, message, result, exc_info):
        if exc_info is not None and self.db is not None and database_unavailable(exc_info[1], self.db):
            self.requeue_when_database_returns(message, exc_info[1])
            return result, exc_info
        if self.send_reply(message, result, exc_info):
            self.queue_consumer.ack_message(message)
        return result, exc_info

    def requeue_when_database_returns(self, message, exc: BaseException) -> None:
        """The database went away: no error reply, the request goes back to its queue and is answered
        once the database is back. Nothing was committed, or, if only the commit's answer was lost,
        the redelivered command finds its stored reply."""
        log.warning("%s: the database is unavailable (%s); request %s goes back to its queue once it answers",
                    self.container.service_name, type(exc).__name__, (message.delivery_info or {}).get("routing_key"))
        self.db.wait_until_available(DATABASE_WAIT_S)
        self.queue_consumer.requeue_message(message)

    def send_reply(self, message, result, exc_info) -> bool:
        """Reply, or dead-letter a failed request nobody waits for. False: leave it unacknowledged."""
        props = message.properties or {}
        reply_to = props.get("reply_to")
        error = wire.error_payload(exc_info[1]) if exc_info is not None else None
        if not reply_to:
            return error is None or self._dead_letter(message, error, exc_info[1])
        direct = reply_to.startswith(wire.DIRECT_REPLY_TO)
        exchange = "" if direct else self.rpc_exchange
        if error is None and isinstance(result, EncodedReply):
            self.reply_publisher.publish_body(
                result.envelope(), content_type="application/json", content_encoding="utf-8",
                exchange=exchange, routing_key=reply_to, correlation_id=props.get("correlation_id"))
            return True
        payload = {"result": None if error else result, "error": error}
        self.reply_publisher.publish(
            payload,
            # Always JSON, the protocol's only format: a refused request may have named another.
            serializer="json",
            exchange=exchange,
            routing_key=reply_to,
            correlation_id=props.get("correlation_id"),
        )
        return True

    def _dead_letter(self, message, error: dict, exc: BaseException) -> bool:
        # A fire-and-forget request that failed would otherwise vanish without a trace.
        server_fault = error["code"] == "internal_error"
        try:
            self.queue_consumer.dead_letters.dead_letter(
                message, self.queue.name, wire.error_reason(error), type(exc).__name__,
                error_code=error["code"], level=logging.ERROR if server_fault else logging.WARNING)
        except Exception as failure:  # noqa: BLE001 - a worker thread must not raise: it kills the container
            # Unacknowledged, it is delivered again once the connection is renewed.
            log.warning("could not dead-letter a failed request from %s (%s); it stays on the queue",
                        self.queue.name, failure)
            return False
        return True


class ContractRpc(Rpc):
    """Base of ``@query`` and ``@command``; see the module docstring."""

    kind: ClassVar[str] = ""
    rpc_consumer = ContractRpcConsumer()

    def __init__(self, **kwargs):
        kwargs.setdefault("expected_exceptions", (RedpropError,))
        super().__init__(**kwargs)

    def setup(self):
        service_cls = self.container.service_cls
        contract = getattr(service_cls, "contract", None)
        if contract is None:
            raise ConfigError(f"{service_cls.__name__} has @{self.kind} methods but no `contract`")
        op = contract.operations.get(self.method_name)
        if op is None:
            raise ConfigError(f"{contract.service}.{self.method_name} is not in the {contract.service} contract")
        if op.kind != self.kind:
            raise ConfigError(f"{contract.service}.{op.name} is a {op.kind} in the contract, decorated @{self.kind}")
        self.operation: Operation = op
        self.qualified_name = f"{contract.service}.{op.name}"
        self.contract_major = contract.major
        self.metrics = find_metrics_server(self.container)
        super().setup()

    # -- request ---------------------------------------------------------------------------------

    def parse_request(self, body: Any) -> Request:
        if not isinstance(body, dict) or not isinstance(body.get("kwargs", {}), dict):
            raise MalformedRequest("the body must be a JSON object {\"args\": [], \"kwargs\": {...}}")
        if body.get("args"):
            raise ValidationFailed.for_field(
                "args", "send the request's fields in kwargs; positional arguments are not accepted")
        try:
            request = self.operation.request.model_validate(body.get("kwargs") or {})
        except ValidationError as exc:
            raise ValidationFailed.from_pydantic(exc) from None
        if request.schema_version not in (None, self.contract_major):
            raise ValidationFailed.for_field(
                "schema_version", f"this service speaks version {self.contract_major} of the contract")
        return request

    def handle_message(self, body, message):
        # Exceptions raised here are replied by the RpcConsumer (typed, via wire.error_payload), or
        # dead-lettered when there is no reply_to.
        try:
            props = message.properties or {}
            if props.get("reply_to") and not props.get("correlation_id"):
                # The caller could not match the reply to its call (docs/wire-protocol.md, step 3).
                raise MalformedRequest("a request with reply_to needs a correlation_id")
            request = self.parse_request(body)
        except RedpropError as exc:
            self._count_rejection(exc.code)
            raise
        except BadRequest:
            self._count_rejection("bad_request")
            raise
        context_data = self.unpack_message_headers(message)
        state = self.before_worker(request, message)
        if state is ANSWERED:
            return
        handle_result = partial(self.handle_result, message, request, state)
        try:
            self.container.spawn_worker(self, (request,), {}, context_data=context_data,
                                        handle_result=handle_result)
        except ContainerBeingKilled:
            self.rpc_consumer.requeue_message(message)

    def before_worker(self, request: Request, message) -> Any:
        """Hook: return ``ANSWERED`` if the message was answered without running a worker, else any
        state that ``complete`` needs later (taken before the worker can touch the request)."""
        return None

    # -- result ----------------------------------------------------------------------------------

    def handle_result(self, message, request, state, worker_ctx, result, exc_info):
        reply = None
        if exc_info is None:
            try:
                reply = self.complete(worker_ctx, request, state, self.dump_reply(result))
            except Exception:
                rollback_unit_of_work(worker_ctx)
                exc_info = sys.exc_info()
                reply = None
        return self.rpc_consumer.handle_result(message, reply, exc_info)

    def reply_model(self, result: Any) -> Reply:
        """The operation's reply model of ``result``, saying the contract's major version."""
        model = result if isinstance(result, self.operation.reply) else self.operation.reply.model_validate(result)
        model.schema_version = self.contract_major
        return model

    def dump_reply(self, result: Any) -> dict:
        return self.reply_model(result).model_dump(mode="json")

    def complete(self, worker_ctx, request: Request, state: Any, reply: dict) -> dict:
        """Commit the unit of work; returns the reply to send."""
        try:
            commit_unit_of_work(worker_ctx)
        except IntegrityError as exc:
            raise Conflict("the change conflicts with existing data", {"constraint": str(exc.orig)[:300]}) from None
        return reply

    def _count_rejection(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.count_call(self.method_name, outcome)


class QueryEntrypoint(ContractRpc):
    """A read: transient request and reply, no idempotency bookkeeping."""

    kind = "query"

    def dump_reply(self, result: Any) -> EncodedReply:
        # A query's reply is never stored (commands keep theirs as a dict): encode it straight to JSON.
        return EncodedReply(self.reply_model(result).model_dump_json().encode("utf-8"))


class CommandEntrypoint(ContractRpc):
    """A change: idempotent on ``request_id``; the reply is stored with the change."""

    kind = "command"
    replies = ReplyLookup()

    def setup(self):
        super().setup()
        self.db = find_database(self.container)

    def before_worker(self, request, message):
        # The fingerprint is taken now: the worker may normalise the request objects it is given.
        fingerprint = request_fingerprint(request)
        previous = self.replies.find(self.qualified_name, request, fingerprint)  # may raise Conflict
        if previous is None:
            return fingerprint
        log.info("replaying the stored reply to %s request_id=%s", self.qualified_name, request.request_id)
        self._count_rejection("replayed")
        self.rpc_consumer.handle_result(message, previous, None)
        return ANSWERED

    def complete(self, worker_ctx, request, fingerprint, reply):
        try:
            if not recorded_by_worker(worker_ctx):
                record_reply(self.db.session_for(worker_ctx), self.qualified_name, request, fingerprint, reply)
            commit_unit_of_work(worker_ctx)
        except IntegrityError as exc:
            rollback_unit_of_work(worker_ctx)
            return self._answered_before(request, fingerprint, exc)
        return reply

    def handle_result(self, message, request, state, worker_ctx, result, exc_info):
        if exc_info is not None and isinstance(exc_info[1], IntegrityError):
            # The worker wrote its change itself (group commit) and lost a race with another delivery.
            try:
                return self.rpc_consumer.handle_result(
                    message, self._answered_before(request, state, exc_info[1]), None)
            except Exception:
                exc_info = sys.exc_info()
        return super().handle_result(message, request, state, worker_ctx, result, exc_info)

    def _answered_before(self, request, fingerprint, exc: IntegrityError):
        """Another delivery of the same command may have committed first: answer as it did."""
        previous = self.replies.find(self.qualified_name, request, fingerprint)
        if previous is not None:
            return previous
        raise Conflict("the change conflicts with existing data", {"constraint": str(exc.orig)[:300]}) from None


query = QueryEntrypoint.decorator
command = CommandEntrypoint.decorator
