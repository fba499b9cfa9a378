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

At start-up the decorated method must match an operation of the service's ``contract`` with the same
kind, so code and published contract cannot drift apart.
"""

from __future__ import annotations

import logging
import sys
from functools import partial
from typing import Any, ClassVar

import amqp
import kombu.serialization
from eventlet.semaphore import Semaphore
from kombu import Connection
from nameko.constants import NON_PERSISTENT
from nameko.exceptions import ContainerBeingKilled, MalformedRequest
from nameko.rpc import Rpc, RpcConsumer, get_rpc_exchange
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from redprop.config import settings_from_config
from redprop.contracts.base import Operation, Request
from redprop.db.provider import commit_unit_of_work, find_database, rollback_unit_of_work
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


class ReplyPublisher:
    """Publishes a container's replies: transient and unconfirmed, on one connection kept open.

    A reply is then one socket write. (nameko's ``Publisher`` acquires a pooled connection and producer
    for every message and wraps the write in retry machinery; for a query that was most of the
    service's cost per call; see docs/benchmarks.md.) Green threads take turns on the channel, so frames
    never interleave. A broken connection is reopened once and the reply sent again; a reply lost even
    so is recovered by the caller's retry, as before.
    """

    def __init__(self, amqp_uri: str):
        self._connection = Connection(amqp_uri)
        self._channel = None
        self._lock = Semaphore()
        self._errors = self._connection.connection_errors + self._connection.channel_errors

    def publish(self, payload: Any, *, serializer: str, exchange: Any, routing_key: str,
                correlation_id: str | None) -> None:
        content_type, content_encoding, body = kombu.serialization.dumps(payload, serializer=serializer)
        if isinstance(body, str):
            body = body.encode(content_encoding or "utf-8")
        message = amqp.Message(body, content_type=content_type, content_encoding=content_encoding,
                               correlation_id=correlation_id, delivery_mode=NON_PERSISTENT)
        exchange_name = getattr(exchange, "name", exchange) or ""
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._channel is None:
                        self._connection.ensure_connection(max_retries=3)
                        self._channel = self._connection.channel()
                    self._channel.basic_publish(message, exchange=exchange_name, routing_key=routing_key)
                    return
                except self._errors as exc:
                    self.close()
                    if attempt == 2:
                        raise
                    log.warning("reply connection lost (%s); reconnecting", exc)

    def close(self) -> None:
        self._channel = None
        self._connection = renewed(self._connection)


class ContractRpcConsumer(RpcConsumer):
    """nameko's RpcConsumer with redprop's reply path (transient replies, typed errors)."""

    queue_consumer = DeadLetteringQueueConsumer()

    def setup(self):
        super().setup()
        settings = settings_from_config(self.container.config)
        self.rpc_exchange = get_rpc_exchange(self.container.config)
        self.reply_publisher = ReplyPublisher(settings.amqp_uri)

    def stop(self):
        super().stop()
        self.reply_publisher.close()

    def kill(self):
        self.reply_publisher.close()

    def handle_result(self, message, result, exc_info):
        self.send_reply(message, result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def send_reply(self, message, result, exc_info) -> None:
        reply_to = (message.properties or {}).get("reply_to")
        if not reply_to:
            return  # a fire-and-forget command: nobody is waiting
        error = wire.error_payload(exc_info[1]) if exc_info is not None else None
        payload = {"result": None if error else result, "error": error}
        serializer = kombu.serialization.registry.type_to_name.get(message.content_type, "json")
        direct = reply_to.startswith(wire.DIRECT_REPLY_TO)
        self.reply_publisher.publish(
            payload,
            serializer=serializer,
            exchange="" if direct else self.rpc_exchange,
            routing_key=reply_to,
            correlation_id=(message.properties or {}).get("correlation_id"),
        )


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
        # Exceptions raised here are replied by the RpcConsumer (typed, via wire.error_payload).
        try:
            request = self.parse_request(body)
        except RedpropError as exc:
            self._count_rejection(exc.code)
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

    def dump_reply(self, result: Any) -> dict:
        model = result if isinstance(result, self.operation.reply) else self.operation.reply.model_validate(result)
        return model.model_dump(mode="json")

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
