"""Calling services: a standalone client and an in-service dependency, both contract-aware.

- Queries go out transient and unconfirmed; commands persistent, with publisher confirms (the broker has
  the command on disk before the call proceeds) and a ``request_id`` (generated if the caller gave none,
  and reused by every retry of that call).
- ``mandatory`` publishing turns "nobody serves that operation" into an immediate ``Unavailable``.
- A caller waits ``messaging.rpc_timeout`` seconds at most, then gets ``Unavailable``.
- Errors arrive as the same typed exceptions the service raised (``redprop.errors``).
- Replies are parsed into the operation's reply model.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
import warnings
from typing import Any

import amqp
import amqp.exceptions
import eventlet
from kombu import Connection
from kombu.exceptions import OperationalError
from nameko.constants import NON_PERSISTENT, PERSISTENT
from nameko.exceptions import deserialize
from nameko.rpc import MethodProxy, ReplyListener, RpcProxy, ServiceProxy
from pydantic import BaseModel, ValidationError, create_model

from redprop.config import Settings, settings_from_config
from redprop.contracts import all_contracts
from redprop.contracts.base import CommandRequest, Operation, Request
from redprop.errors import ConfigError, Unavailable, ValidationFailed
from redprop.messaging import wire
from redprop.messaging.deadletter import DeadLetteringQueueConsumer

log = logging.getLogger(__name__)


def build_request(op: Operation, request: Request | dict | None, fields: dict[str, Any]) -> dict:
    """Validate on the caller's side and return the kwargs to send."""
    if isinstance(request, Request):
        model = request
    else:
        data = {**(request or {}), **fields}
        if issubclass(op.request, CommandRequest) and not data.get("request_id"):
            data["request_id"] = uuid.uuid4().hex
        try:
            model = op.request.model_validate(data)
        except ValidationError as exc:
            raise ValidationFailed.from_pydantic(exc) from None
    return model.model_dump(mode="json", exclude_unset=True)


def parse_reply(op: Operation | None, result: Any) -> Any:
    return op.reply.model_validate(result) if op is not None else result


_ENVELOPES: dict[type, type[BaseModel]] = {}


def reply_envelope(op: Operation) -> type[BaseModel]:
    """The reply message of ``op`` as one model, ``{"result": <reply> | None, "error": ...}``, so a
    reply's JSON is parsed and validated in one pydantic call (no ``json.loads`` and then a walk of
    the Python objects; for a 3 KB governance answer that halved the client's work per call)."""
    envelope = _ENVELOPES.get(op.reply)
    if envelope is None:
        envelope = _ENVELOPES[op.reply] = create_model(
            f"{op.reply.__name__}Envelope", result=(op.reply | None, None), error=(dict | None, None))
    return envelope


def parse_reply_body(op: Operation | None, body: bytes) -> Any:
    """The result of a reply message's body; raises the remote typed error."""
    if op is not None:
        try:
            envelope = reply_envelope(op).model_validate_json(body)
        except ValidationError:
            envelope = None  # not the contract's shape: decoded below, the error names the field
        if envelope is not None:
            if envelope.error:
                raise deserialize(envelope.error)
            if envelope.result is not None:
                return envelope.result
    data = json.loads(body)
    if data.get("error"):
        raise deserialize(data["error"])
    return parse_reply(op, data.get("result"))


class PendingCall:
    """An RPC whose reply has not been read yet (for pipelining many calls)."""

    def __init__(self, client: RpcClient, correlation_id: str, op: Operation | None, label: str):
        self._client = client
        self.correlation_id = correlation_id
        self._op = op
        self.label = label

    def result(self, timeout: float | None = None) -> Any:
        return parse_reply_body(self._op, self._client._wait(self.correlation_id, timeout, self.label))


class RpcClient:
    """A blocking client for scripts, the CLI, tests and benchmarks. Not shared between threads.

        with RpcClient(settings) as rpc:
            reply = rpc.call("registry", "resolve", building_id="B1")
            reply = rpc.registry.resolve(building_id="B1")          # same thing
    """

    def __init__(self, settings_or_uri: Settings | str, timeout: float | None = None):
        if isinstance(settings_or_uri, Settings):
            uri, default_timeout = settings_or_uri.amqp_uri, settings_or_uri.messaging.rpc_timeout
        else:
            uri, default_timeout = settings_or_uri, 10.0
        self.timeout = timeout or default_timeout
        self.contracts = all_contracts()
        self._conn = Connection(uri, connect_timeout=5)
        self._conn.ensure_connection(max_retries=3)
        self._channel = self._conn.channel()
        self._confirm_channel = None
        self._replies: dict[str, bytes] = {}
        self._returned: dict[str, str] = {}
        self._reply_key = uuid.uuid4().hex
        queue, _, _ = self._channel.queue_declare(
            queue=f"rpc.reply-client-{self._reply_key}", exclusive=True, auto_delete=True)
        self._channel.exchange_declare(wire.RPC_EXCHANGE, "topic", durable=True, auto_delete=False)
        self._channel.queue_bind(queue, wire.RPC_EXCHANGE, self._reply_key)
        self._channel.basic_consume(queue, no_ack=True, callback=self._on_reply)
        self._channel.events["basic_return"].add(self._on_return)

    # -- public API ------------------------------------------------------------------------------

    def call(self, service: str, operation: str, request: Request | dict | None = None, /,
             timeout: float | None = None, **fields: Any) -> Any:
        return self.call_async(service, operation, request, **fields).result(timeout)

    def call_async(self, service: str, operation: str, request: Request | dict | None = None, /,
                   **fields: Any) -> PendingCall:
        contract = self.contracts.get(service)
        op = contract.operations.get(operation) if contract else None
        if contract is not None and op is None:
            raise Unavailable(f"{service} has no operation {operation!r}", {"operation": f"{service}.{operation}"})
        if op is not None:
            kwargs = build_request(op, request, fields)
        else:  # a service this client has no contract for: send as given
            kwargs = {**(request or {}), **fields}
        correlation_id = uuid.uuid4().hex
        self._publish(f"{service}.{operation}", {"args": [], "kwargs": kwargs}, correlation_id,
                      persistent=op is not None and op.persistent)
        return PendingCall(self, correlation_id, op, f"{service}.{operation}")

    def __getattr__(self, service: str) -> _ServiceHandle:
        if service.startswith("_"):
            raise AttributeError(service)
        return _ServiceHandle(self, service)

    def close(self) -> None:
        try:
            self._conn.release()
        except Exception:
            pass

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- plumbing ----------------------------------------------------------------------------------

    def _publish(self, routing_key: str, body: dict, correlation_id: str, persistent: bool) -> None:
        message = amqp.Message(
            json.dumps(body, ensure_ascii=False).encode("utf-8"),
            content_type="application/json", content_encoding="utf-8",
            correlation_id=correlation_id, reply_to=self._reply_key,
            delivery_mode=PERSISTENT if persistent else NON_PERSISTENT,
        )
        if persistent:
            if self._confirm_channel is None:
                self._confirm_channel = self._conn.channel()
                self._confirm_channel.events["basic_return"].add(self._on_return)
            # Returns after the broker has the message (publisher confirm).
            self._confirm_channel.basic_publish_confirm(
                message, exchange=wire.RPC_EXCHANGE, routing_key=routing_key, mandatory=True)
        else:
            self._channel.basic_publish(message, exchange=wire.RPC_EXCHANGE,
                                        routing_key=routing_key, mandatory=True)

    def _on_reply(self, message) -> None:
        cid = message.properties.get("correlation_id")
        self._replies[cid] = message.body  # parsed by the call's PendingCall, against its contract

    def _on_return(self, exc, exchange, routing_key, message) -> None:
        self._returned[message.properties.get("correlation_id")] = routing_key

    def _wait(self, correlation_id: str, timeout: float | None, label: str) -> bytes:
        deadline = time.monotonic() + (timeout or self.timeout)
        while correlation_id not in self._replies:
            if correlation_id in self._returned:
                del self._returned[correlation_id]
                raise Unavailable(f"no service is listening for {label}", {"operation": label})
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Unavailable(f"{label} did not answer within {timeout or self.timeout:g} s",
                                  {"operation": label, "timeout": timeout or self.timeout})
            try:
                self._conn.drain_events(timeout=remaining)
            except TimeoutError:
                continue
        return self._replies.pop(correlation_id)


class _ServiceHandle:
    def __init__(self, client: RpcClient, service: str):
        self._client = client
        self._service = service

    def __getattr__(self, operation: str):
        if operation.startswith("_"):
            raise AttributeError(operation)

        def call(request: Request | dict | None = None, /, **fields):
            return self._client.call(self._service, operation, request, **fields)

        return call


# -- inside a nameko service ----------------------------------------------------------------------


# Queries go out without publisher confirms (a round trip saved per call), so nameko cannot see a
# basic.return for them and warns on every call; the call's timeout covers an absent service instead.
warnings.filterwarnings("ignore", message="Mandatory delivery was requested", category=UserWarning)


#: What publishing a call raises when no broker node takes it (any subclass of these, 541 included).
BROKER_ERRORS = (OSError, amqp.exceptions.ConnectionError, OperationalError)


class ContractMethodProxy(MethodProxy):
    def __init__(self, worker_ctx, service_name, method_name, reply_listener, *, operation, timeout, **options):
        self.operation = operation
        self.timeout = timeout
        super().__init__(worker_ctx, service_name, method_name, reply_listener, **options)

    def __call__(self, request: Request | dict | None = None, /, **fields):
        label = f"{self.service_name}.{self.method_name}"
        request_fields = build_request(self.operation, request, fields)
        try:
            reply = self._call(**request_fields)
        except BROKER_ERRORS as exc:
            # kombu has already retried; a cluster node just restarted answers "vhost is down" (541), a
            # stopped one refuses. Either way the caller should retry, as it would a timeout.
            log.warning("could not call %s: the broker connection failed: %r", label, exc)
            raise Unavailable(f"{label} could not be called: the message broker is unreachable",
                              {"operation": label}) from exc
        with eventlet.Timeout(self.timeout, Unavailable(
                f"{label} did not answer within {self.timeout:g} s", {"operation": label})):
            result = reply.result()  # raises the remote typed error
        return parse_reply(self.operation, result)


class ContractServiceProxy(ServiceProxy):
    def __init__(self, worker_ctx, service_name, reply_listener, *, contract, timeout):
        super().__init__(worker_ctx, service_name, reply_listener)
        self.contract = contract
        self.timeout = timeout

    def __getattr__(self, name):
        op = self.contract.operations.get(name)
        if op is None:
            raise AttributeError(f"the {self.service_name} contract has no operation {name!r}")
        return ContractMethodProxy(
            self.worker_ctx, self.service_name, name, self.reply_listener,
            operation=op, timeout=self.timeout,
            use_confirms=op.persistent, delivery_mode=PERSISTENT if op.persistent else NON_PERSISTENT,
        )


class ContractReplyListener(ReplyListener):
    """nameko's reply listener on redprop's queue consumer (which stops promptly), on a transient queue.

    nameko declares its reply queue durable. On a cluster a durable classic queue belongs to one node,
    and while that node is down the queue can be neither used nor declared again elsewhere
    (``not_found: home node ... is down``): the service could not call any other until the node came
    back. Transient (auto-deleted) it is declared afresh on whichever node the consumer reconnects to; a
    reply lost with the old one is a call that times out and is retried, as on any broker restart.
    """

    queue_consumer = DeadLetteringQueueConsumer()

    def setup(self):
        super().setup()
        self.queue.durable = False
        self.queue.auto_delete = True


class ServiceRpc(RpcProxy):
    """Call another service from a worker, e.g. ``registry = ServiceRpc("registry")``."""

    rpc_reply_listener = ContractReplyListener()

    def __init__(self, target_service: str):
        super().__init__(target_service)

    def setup(self):
        super().setup()
        contract = all_contracts().get(self.target_service)
        if contract is None:
            raise ConfigError(f"no published contract for service {self.target_service!r}")
        self.contract = contract
        self.timeout = settings_from_config(self.container.config).messaging.rpc_timeout

    def get_dependency(self, worker_ctx):
        return ContractServiceProxy(worker_ctx, self.target_service, self.rpc_reply_listener,
                                    contract=self.contract, timeout=self.timeout)
